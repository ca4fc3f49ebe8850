//! Property tests of the event stream as the daemon reads it: bytes → the server-sent-events
//! parser `reqwest-eventsource` uses (`eventsource-stream`) → [`Stream::take`] → the answer.
//! No connection: the bytes are handed over in chunks cut anywhere, as a network would.
//!
//! Properties: any bytes never panic and end the answer with a model-protocol error at worst;
//! where the bytes are cut never changes what is read; an answer written by a model and sent
//! as servers send it (multi-line `data:`, comments, `\n` or `\r\n`) comes back exactly.

use std::sync::OnceLock;
use std::time::Duration;

use eventsource_stream::EventStream;
use futures::FutureExt;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::llm::gate::{Gate, Priority};
use crate::llm::Usage;

/// A stream over an event source that is never polled: the tests hand events to `take`.
fn harness() -> Stream {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    let client = CLIENT.get_or_init(reqwest::Client::new);
    let events = EventSource::new(client.post("http://127.0.0.1:9/never-sent"))
        .expect("a request without a streamed body can be cloned");
    let permit = Gate::new(1)
        .acquire(Priority::Job)
        .now_or_never()
        .expect("a new gate has a free place");
    let limits = Limits {
        started: Instant::now(),
        first_token: Duration::from_secs(60),
        idle: Duration::from_secs(60),
    };
    Stream::new(events, permit, "u".into(), limits)
}

/// What reading a stream gave: the deltas, how it ended, and the answer's state.
#[derive(Debug, PartialEq)]
struct Outcome {
    deltas: Vec<Delta>,
    end: Option<Result<(), ApiError>>,
    answer: String,
}

/// Cuts `bytes` at the given places (any order, repeats allowed: empty chunks happen too).
fn split(bytes: &[u8], cuts: &[proptest::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::with_capacity(at.len() + 1);
    let mut from = 0;
    for a in at {
        chunks.push(bytes[from..a].to_vec());
        from = a;
    }
    chunks.push(bytes[from..].to_vec());
    chunks
}

/// Reads `chunks` as the daemon does: events until the answer ends, then the end of the
/// connection.
fn read(chunks: Vec<Vec<u8>>) -> Outcome {
    read_stream(chunks).0
}

/// [`read`], with the stream itself.
// The event source's item type is reqwest-eventsource's, large error and all.
#[allow(clippy::result_large_err)]
fn read_stream(chunks: Vec<Vec<u8>>) -> (Outcome, Stream) {
    let source = futures::stream::iter(chunks.into_iter().map(Ok::<_, reqwest::Error>));
    let mut parsed = EventStream::new(source);
    let mut s = harness();
    while s.end.is_none() {
        let polled = next_event(&mut parsed)
            .now_or_never()
            .expect("an in-memory stream is always ready")
            .map(|item| item.map(|r| r.map(Event::Message).map_err(EsError::from)));
        s.take(polled);
    }
    let deltas = std::iter::from_fn(|| s.ready.pop()).collect();
    let outcome = Outcome {
        deltas,
        end: s.end.clone(),
        answer: format!("{:?}", s.answer),
    };
    (outcome, s)
}

/// Pieces of event streams, well-formed and not: field names, line ends split or alone,
/// JSON fragments, multi-byte characters (which the cuts will split), invalid UTF-8, BOMs.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        6 => prop_oneof![
            Just(&b"data: "[..]),
            Just(&b"data:"[..]),
            Just(&b"data"[..]),
            Just(&b"\n"[..]),
            Just(&b"\n\n"[..]),
            Just(&b"\r\n"[..]),
            Just(&b"\r"[..]),
            Just(&b": keep-alive"[..]),
            Just(&b"event: error"[..]),
            Just(&b"event:"[..]),
            Just(&b"id: 7"[..]),
            Just(&b"retry: 99999999999999999999"[..]),
            Just(&b"[DONE]"[..]),
            Just(&br#"{"choices":[{"delta":{"content":"#[..]),
            Just(&br#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"#[..]),
            Just(&br#""hi""#[..]),
            Just(&br#"}}]}"#[..]),
            Just(&br#"}]}}]}"#[..]),
            Just(&br#"{"choices":[],"usage":{"prompt_tokens":1}}"#[..]),
            Just(&br#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#[..]),
            Just(&br#"{"error":{"message":"overloaded","code":"503"}}"#[..]),
            Just("é🌱".as_bytes()),
            Just("\u{feff}".as_bytes()),
            Just(&b"\xff"[..]),
            Just(&b"\xc3"[..]),
            Just(&b"\0"[..]),
        ].prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..6),
        1 => any::<String>().prop_map(|s| s.chars().take(6).collect::<String>().into_bytes()),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn cuts() -> impl Strategy<Value = Vec<proptest::sample::Index>> {
    proptest::collection::vec(any::<proptest::sample::Index>(), 0..12)
}

/// An answer as a model writes it.
#[derive(Debug, Clone)]
struct Model {
    reasoning: Vec<String>,
    text: Vec<String>,
    calls: Vec<(String, String, Vec<String>)>,
    usage: Option<(u64, u64)>,
}

fn words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            "[a-z ]{1,8}",
            Just("\n".to_string()),
            Just("data: [DONE]\n\n".to_string()),
            Just("é🌱\r\n".to_string()),
            any::<String>().prop_map(|s| s.chars().take(8).collect()),
        ],
        0..6,
    )
}

fn model() -> impl Strategy<Value = Model> {
    let call = ("[a-z]{1,8}", proptest::collection::vec("[ -~]{0,6}", 0..4));
    (
        words(),
        words(),
        proptest::collection::vec(call, 0..3),
        proptest::option::of((0u64..100_000, 0u64..100_000)),
    )
        .prop_map(|(reasoning, text, calls, usage)| Model {
            reasoning,
            text,
            calls: calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, args))| (format!("call_{i}"), name, args))
                .collect(),
            usage,
        })
}

/// The model's answer as the JSON chunks a server streams.
fn chunks(m: &Model) -> Vec<Value> {
    let delta = |d: Value| {
        json!({"id": "x", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": d, "finish_reason": null}]})
    };
    let mut out = vec![delta(json!({"role": "assistant", "content": null}))];
    out.extend(
        m.reasoning
            .iter()
            .map(|r| delta(json!({"reasoning_content": r}))),
    );
    out.extend(m.text.iter().map(|t| delta(json!({"content": t}))));
    for (i, (id, name, args)) in m.calls.iter().enumerate() {
        out.push(delta(
            json!({"tool_calls": [{"index": i, "id": id, "type": "function",
            "function": {"name": name, "arguments": ""}}]}),
        ));
        out.extend(
            args.iter().map(|a| {
                delta(json!({"tool_calls": [{"index": i, "function": {"arguments": a}}]}))
            }),
        );
    }
    let reason = if m.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}));
    if let Some((p, c)) = m.usage {
        out.push(json!({"choices": [], "usage": {"prompt_tokens": p, "completion_tokens": c}}));
    }
    out
}

/// The chunks framed as server-sent events: each JSON over one or several `data:` lines,
/// comments between events, `[DONE]` at the end.
fn frame(chunks: &[Value], eol: &str, pretty: bool, comments: bool) -> Vec<u8> {
    let mut out = String::new();
    if comments {
        out.push_str(&format!(": connected{eol}{eol}"));
    }
    for c in chunks {
        let json = if pretty {
            serde_json::to_string_pretty(c).unwrap_or_default()
        } else {
            c.to_string()
        };
        for line in json.lines() {
            out.push_str(&format!("data: {line}{eol}"));
        }
        out.push_str(eol);
        if comments {
            out.push_str(&format!(": keep-alive{eol}"));
        }
    }
    out.push_str(&format!("data: [DONE]{eol}{eol}"));
    out.into_bytes()
}

proptest! {
    #![proptest_config(crate::fuzz_support::fuzz_config())]

    /// Any bytes, cut anywhere: no panic, an end that is a protocol or server error at worst,
    /// and the same reading whatever the cuts.
    #[test]
    fn fuzz_any_bytes_read_the_same_however_cut(bytes in soup(), a in cuts(), b in cuts()) {
        let whole = read(vec![bytes.clone()]);
        match &whole.end {
            Some(Ok(())) => {}
            Some(Err(ApiError::LlmProtocol { .. } | ApiError::LlmStatus { .. })) => {}
            other => prop_assert!(false, "unexpected end {other:?}"),
        }
        prop_assert_eq!(&read(split(&bytes, &a)), &whole);
        prop_assert_eq!(&read(split(&bytes, &b)), &whole);
        let bytewise: Vec<Vec<u8>> = bytes.iter().map(|&b| vec![b]).collect();
        prop_assert_eq!(&read(bytewise), &whole);
    }

    /// A model's answer sent as a server sends it comes back exactly, however the bytes are
    /// cut and whichever line ends, `data:` layout and comments the server uses.
    #[test]
    fn fuzz_model_answers_round_trip(
        m in model(),
        crlf in any::<bool>(),
        pretty in any::<bool>(),
        comments in any::<bool>(),
        cut in cuts(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let bytes = frame(&chunks(&m), eol, pretty, comments);
        let (got, stream) = read_stream(split(&bytes, &cut));
        prop_assert_eq!(&got.end, &Some(Ok(())));
        let mut text = String::new();
        let mut reasoning = String::new();
        let mut started = Vec::new();
        for d in &got.deltas {
            match d {
                Delta::Text(t) => text.push_str(t),
                Delta::Reasoning(r) => reasoning.push_str(r),
                Delta::ToolCallStarted { index, name } => started.push((*index, name.clone())),
            }
        }
        prop_assert_eq!(&text, &m.text.concat());
        prop_assert_eq!(&reasoning, &m.reasoning.concat());
        let want: Vec<(usize, String)> =
            m.calls.iter().enumerate().map(|(i, c)| (i, c.1.clone())).collect();
        prop_assert_eq!(started, want);
        let done = stream.finish();
        prop_assert_eq!(&done.text, &m.text.concat());
        prop_assert_eq!(&done.reasoning, &m.reasoning.concat());
        let want_reason = if m.calls.is_empty() { "stop" } else { "tool_calls" };
        prop_assert_eq!(done.finish_reason.as_deref(), Some(want_reason));
        let want_usage = m.usage.map(|(p, c)| Usage { prompt_tokens: p, completion_tokens: c });
        prop_assert_eq!(done.usage, want_usage);
        let calls: Vec<(String, String, String)> = done
            .tool_calls
            .into_iter()
            .map(|c| (c.id, c.name, c.arguments))
            .collect();
        let want_calls: Vec<(String, String, String)> = m
            .calls
            .iter()
            .map(|(id, name, args)| {
                let args = args.concat();
                let args = if args.trim().is_empty() { "{}".to_string() } else { args };
                (id.clone(), name.clone(), args)
            })
            .collect();
        prop_assert_eq!(calls, want_calls);
    }
}

/// Found by `fuzz_any_bytes_read_the_same_however_cut`: `eventsource-stream` 0.2.3 slices a
/// stream that starts with a byte-order mark inside the mark and panics, which took down the
/// task reading the answer. Now the answer ends with a protocol error.
#[test]
fn regression_a_stream_starting_with_a_bom_is_an_error_not_a_panic() {
    for bytes in [
        &b"\xef\xbb\xbf"[..],
        b"\xef\xbb\xbfdata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n",
    ] {
        let got = read(vec![bytes.to_vec()]);
        assert!(
            matches!(&got.end, Some(Err(ApiError::LlmProtocol { reason, .. }))
                if reason.contains("cannot be parsed")),
            "{got:?}"
        );
    }
    // A mark cut in two reaches the parser whole (and fails the same way).
    let cut = read(vec![b"\xef".to_vec(), b"\xbb\xbf".to_vec()]);
    assert_eq!(cut, read(vec![b"\xef\xbb\xbf".to_vec()]));
}
