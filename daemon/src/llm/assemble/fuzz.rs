//! Property tests of the tool-call assembly: any sequence of chunks (indices missing, out of
//! order or huge, ids and names missing or late, arguments as text, objects or nonsense)
//! never panics, keeps memory in proportion to what came in, and a well-formed split of known
//! calls gives them back.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// Total bytes of text an assembler holds (what a hostile stream could make it keep).
fn held(asm: &Assembler) -> usize {
    asm.text.len()
        + asm.reasoning.len()
        + asm
            .calls
            .iter()
            .map(|c| c.id.len() + c.name.len() + c.arguments.len())
            .sum::<usize>()
}

fn small_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-c]{1,3}",
        "[ \"{}:,a-z0-9\\\\]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

/// An index as servers send it, or as a broken one might.
fn index() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u64..4).prop_map(|i| json!(i)),
        1 => Just(json!(usize::MAX)),
        1 => Just(json!(u64::MAX)),
        1 => any::<u64>().prop_map(|i| json!(i)),
        1 => Just(json!(-1)),
        1 => Just(json!(1.5)),
        1 => Just(json!("0")),
        1 => Just(Value::Null),
    ]
}

fn arguments() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => small_text().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => Just(json!({"a": [1, {"b": null}]})),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => Just(json!([1, "x"])),
        1 => Just(json!(true)),
    ]
}

/// One tool-call piece, any field possibly missing.
fn piece() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(index()),
        proptest::option::of(small_text()),
        proptest::option::of((
            proptest::option::of(small_text()),
            proptest::option::of(arguments()),
        )),
    )
        .prop_map(|(index, id, function)| {
            let mut p = json!({});
            if let Some(i) = index {
                p["index"] = i;
            }
            if let Some(id) = id {
                p["id"] = json!(id);
            }
            if let Some((name, args)) = function {
                let mut f = json!({});
                if let Some(n) = name {
                    f["name"] = json!(n);
                }
                if let Some(a) = args {
                    f["arguments"] = a;
                }
                p["function"] = f;
            }
            p
        })
}

/// One `data:` payload: mostly chunks with tool-call pieces, sometimes text, usage, an error,
/// a second choice, a wrong shape or no JSON at all.
fn chunk() -> impl Strategy<Value = String> {
    let delta = (
        proptest::option::of(small_text()),
        proptest::option::of(small_text()),
        proptest::collection::vec(piece(), 0..4),
    )
        .prop_map(|(content, reasoning, calls)| {
            let mut d = json!({});
            if let Some(c) = content {
                d["content"] = json!(c);
            }
            if let Some(r) = reasoning {
                d["reasoning_content"] = json!(r);
            }
            if !calls.is_empty() {
                d["tool_calls"] = json!(calls);
            }
            d
        });
    let choice = (
        proptest::option::of(prop_oneof![Just(json!(0)), Just(json!(1)), index()]),
        delta,
        proptest::option::of(prop_oneof![Just("stop"), Just("tool_calls"), Just("")]),
    )
        .prop_map(|(index, delta, finish)| {
            let mut c = json!({ "delta": delta });
            if let Some(i) = index {
                c["index"] = i;
            }
            if let Some(f) = finish {
                c["finish_reason"] = json!(f);
            }
            c
        });
    prop_oneof![
        8 => proptest::collection::vec(choice, 0..3)
            .prop_map(|choices| json!({ "choices": choices }).to_string()),
        1 => (any::<u64>(), any::<u64>()).prop_map(|(p, c)| {
            json!({"choices": [], "usage": {"prompt_tokens": p, "completion_tokens": c}})
                .to_string()
        }),
        1 => Just(json!({"error": {"message": "boom", "code": 503}}).to_string()),
        1 => Just(json!({"error": null, "choices": []}).to_string()),
        1 => Just(r#"{"choices":[{"delta":{"tool_calls":[{"index":99999999999999999999999}]}}]}"#.to_string()),
        1 => Just(r#"{"choices":{"delta":{}}}"#.to_string()),
        1 => any::<String>(),
    ]
}

/// A tool call as the model meant it.
#[derive(Debug, Clone)]
struct Call {
    id: String,
    name: String,
    /// The arguments cut in the pieces they are sent in.
    pieces: Vec<String>,
}

fn call() -> impl Strategy<Value = Call> {
    (
        "call_[a-z0-9]{1,8}",
        "[a-z_]{1,10}",
        proptest::collection::vec(small_text(), 0..5),
    )
        .prop_map(|(id, name, pieces)| Call { id, name, pieces })
}

/// Known calls with distinct ids (the server's guarantee).
fn calls() -> impl Strategy<Value = Vec<Call>> {
    proptest::collection::vec(call(), 1..5).prop_map(|mut calls| {
        for (i, c) in calls.iter_mut().enumerate() {
            c.id = format!("{}_{i}", c.id);
        }
        calls
    })
}

fn feed_all(chunks: &[String]) -> (Assembler, Vec<Delta>, usize) {
    let mut asm = Assembler::default();
    let mut out = Deltas::default();
    let mut errors = 0;
    for c in chunks {
        if let Err(e) = asm.feed("u", c, &mut out) {
            assert!(
                matches!(e, ApiError::LlmProtocol { .. } | ApiError::LlmStatus { .. }),
                "{e:?}"
            );
            errors += 1;
        }
    }
    let deltas = std::iter::from_fn(|| out.pop()).collect();
    (asm, deltas, errors)
}

proptest! {
    #![proptest_config(crate::fuzz_support::fuzz_config())]

    /// Any chunks: no panic, errors of the model-protocol kinds only, memory in proportion to
    /// the input (a huge index makes one call, not a huge table), every call announced once,
    /// with its position and a name.
    #[test]
    fn fuzz_any_chunks_assemble_without_panic(chunks in proptest::collection::vec(chunk(), 0..12)) {
        let (asm, deltas, _) = feed_all(&chunks);
        let input: usize = chunks.iter().map(String::len).sum();
        prop_assert!(held(&asm) <= input, "holds {} bytes from {input}", held(&asm));
        // Each call needs a piece of its own, and a piece is at least `{}`.
        prop_assert!(asm.calls.len() <= input / 2);
        let mut announced = Vec::new();
        for d in &deltas {
            if let Delta::ToolCallStarted { index, name } = d {
                prop_assert!(*index < asm.calls.len());
                prop_assert!(!name.is_empty());
                prop_assert!(!announced.contains(index), "call {index} announced twice");
                announced.push(*index);
            }
        }
        let count = asm.call_count();
        let done = asm.completion();
        prop_assert!(done.tool_calls.len() <= count);
        for c in &done.tool_calls {
            prop_assert!(!c.id.is_empty());
            prop_assert!(!c.arguments.trim().is_empty());
        }
    }

    /// Known calls sent as servers do — the first piece with index, id and name, then the
    /// arguments in fragments, the calls' fragments interleaved — come back exactly, each
    /// announced once in order.
    #[test]
    fn fuzz_split_calls_come_back(
        calls in calls(),
        order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..40),
        text in proptest::collection::vec(small_text(), 0..3),
    ) {
        // Every call's fragments in its own queue; `order` picks which call speaks next.
        let mut queues: Vec<Vec<Value>> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut q = vec![json!({"index": i, "id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": ""}})];
                q.extend(c.pieces.iter().map(|p| json!({"index": i, "function": {"arguments": p}})));
                q.reverse();
                q
            })
            .collect();
        let mut chunks: Vec<String> = text
            .iter()
            .map(|t| json!({"choices": [{"index": 0, "delta": {"content": t}}]}).to_string())
            .collect();
        // First pieces in order (servers start calls one after the other), then the rest.
        for q in queues.iter_mut() {
            if let Some(first) = q.pop() {
                chunks.push(json!({"choices": [{"delta": {"tool_calls": [first]}}]}).to_string());
            }
        }
        let mut picks = order.iter();
        while queues.iter().any(|q| !q.is_empty()) {
            let live: Vec<usize> = (0..queues.len()).filter(|&i| !queues[i].is_empty()).collect();
            let i = picks.next().map_or(live[0], |p| live[p.index(live.len())]);
            if let Some(piece) = queues[i].pop() {
                chunks.push(json!({"choices": [{"delta": {"tool_calls": [piece]}}]}).to_string());
            }
        }
        chunks.push(json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}).to_string());
        let (asm, deltas, errors) = feed_all(&chunks);
        prop_assert_eq!(errors, 0);
        let announced: Vec<Delta> = deltas
            .into_iter()
            .filter(|d| matches!(d, Delta::ToolCallStarted { .. }))
            .collect();
        let want: Vec<Delta> = calls
            .iter()
            .enumerate()
            .map(|(index, c)| Delta::ToolCallStarted { index, name: c.name.clone() })
            .collect();
        prop_assert_eq!(announced, want);
        let done = asm.completion();
        prop_assert_eq!(done.text, text.concat());
        prop_assert_eq!(done.finish_reason.as_deref(), Some("tool_calls"));
        let got: Vec<(String, String, String)> = done
            .tool_calls
            .into_iter()
            .map(|c| (c.id, c.name, c.arguments))
            .collect();
        let want: Vec<(String, String, String)> = calls
            .iter()
            .map(|c| {
                let args = c.pieces.concat();
                let args = if args.trim().is_empty() { "{}".to_string() } else { args };
                (c.id.clone(), c.name.clone(), args)
            })
            .collect();
        prop_assert_eq!(got, want);
    }

    /// Ollama's way: each call whole in one piece, no index, often no id: one call per piece.
    #[test]
    fn fuzz_whole_calls_without_index(calls in calls(), with_ids in any::<bool>()) {
        let chunks: Vec<String> = calls
            .iter()
            .map(|c| {
                let mut piece = json!({"function": {"name": c.name, "arguments": c.pieces.concat()}});
                if with_ids {
                    piece["id"] = json!(c.id);
                }
                json!({"choices": [{"delta": {"tool_calls": [piece]}}]}).to_string()
            })
            .collect();
        let (asm, _, errors) = feed_all(&chunks);
        prop_assert_eq!(errors, 0);
        let done = asm.completion();
        prop_assert_eq!(done.tool_calls.len(), calls.len());
        for (got, want) in done.tool_calls.iter().zip(&calls) {
            prop_assert_eq!(&got.name, &want.name);
            if with_ids {
                prop_assert_eq!(&got.id, &want.id);
            }
        }
    }
}
