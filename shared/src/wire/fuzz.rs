//! Property tests of frame decoding, as both ends of the socket do it: the length-delimited
//! codec, then the JSON format, into tarpc's envelopes of the Mentor service.
//!
//! Properties: any bytes, however they arrive, never panic and decode the same; a length
//! prefix over the limit is refused without reserving the claimed size; frames and messages
//! round-trip; valid messages mutated anywhere (extreme numbers, wrong types, missing fields)
//! decode or fail, never panic.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use tarpc::tokio_util::codec::{Decoder, Encoder};

use super::*;
use crate::error::ApiError;
use crate::protocol::ClientHello;
use crate::service::{MentorRequest, MentorResponse};

type ServerItem = tarpc::ClientMessage<MentorRequest>;
type ClientItem = tarpc::Response<MentorResponse>;

/// A small limit, so over- and under-size frames are both cheap to make.
const MAX: usize = 512;

/// What decoding a byte stream gave: the frames, and whether it stopped on an error.
#[derive(Debug, PartialEq)]
struct Decoded {
    frames: Vec<Vec<u8>>,
    failed: bool,
}

/// Decodes `chunks` as they arrive, as `Framed` does; checks on the way that the buffer never
/// holds much more than the limit or what arrived.
fn decode(chunks: &[Vec<u8>], max: usize) -> Result<Decoded, TestCaseError> {
    let mut codec = codec(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let arrived: usize = chunks.iter().map(Vec::len).sum();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame.to_vec()),
                Ok(None) => break,
                Err(_) => {
                    return Ok(Decoded {
                        frames,
                        failed: true,
                    })
                }
            }
            let bound = 2 * (max + 4 + arrived) + 64;
            prop_assert!(buf.capacity() <= bound, "{} reserved", buf.capacity());
        }
    }
    Ok(Decoded {
        frames,
        failed: false,
    })
}

fn split(bytes: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for a in at {
        out.push(bytes[from..a].to_vec());
        from = a;
    }
    out.push(bytes[from..].to_vec());
    out
}

/// Both ends' decoding of one frame: the daemon reads requests, a client responses.
fn read_frame(frame: &[u8]) {
    let src = BytesMut::from(frame);
    let _ = Pin::new(&mut Format::<ServerItem, ClientItem>::default()).deserialize(&src);
    let _ = Pin::new(&mut Format::<ClientItem, ServerItem>::default()).deserialize(&src);
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Byte streams made of frames (some over the limit, some with lying lengths) and noise.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|p| frame(&p)),
        2 => message_json().prop_map(|v| frame(v.to_string().as_bytes())),
        1 => (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(n, rest)| {
            let mut out = n.to_be_bytes().to_vec();
            out.extend(rest);
            out
        }),
        1 => ((MAX as u32 + 1)..=u32::MAX).prop_map(|n| n.to_be_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

/// Requests of several shapes, with any strings and numbers.
fn request() -> impl Strategy<Value = MentorRequest> {
    prop_oneof![
        (any::<u32>(), text()).prop_map(|(protocol, client_version)| MentorRequest::Hello {
            hello: ClientHello {
                protocol,
                client_version,
            },
        }),
        (text(), proptest::option::of(text())).prop_map(|(title, module_prompt)| {
            MentorRequest::NotebookCreate {
                title,
                module_prompt,
            }
        }),
        (text(), text()).prop_map(|(notebook, text)| MentorRequest::ChatSend { notebook, text }),
        (text(), proptest::collection::vec(text(), 0..4))
            .prop_map(|(notebook, paths)| MentorRequest::SourceAddFiles { notebook, paths }),
        (text(), proptest::collection::vec(any::<usize>(), 0..6))
            .prop_map(|(artifact, answers)| MentorRequest::QuizAttemptSave { artifact, answers }),
        (text(), text(), any::<u32>()).prop_map(|(notebook, query, limit)| {
            MentorRequest::SourceSearch {
                notebook,
                query,
                limit,
            }
        }),
        Just(()).prop_map(|()| MentorRequest::Status {}),
    ]
}

fn response() -> impl Strategy<Value = MentorResponse> {
    prop_oneof![
        any::<bool>().prop_map(|b| MentorResponse::ChatCancel(Ok(b))),
        text().prop_map(|reference| {
            MentorResponse::NotebookShow(Err(ApiError::NotebookNotFound { reference }))
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(client, daemon)| {
            MentorResponse::Shutdown(Err(ApiError::VersionMismatch { client, daemon }))
        }),
    ]
}

fn client_message(id: u64, message: MentorRequest) -> ServerItem {
    tarpc::ClientMessage::Request(tarpc::Request {
        context: tarpc::context::current(),
        id,
        message,
    })
}

/// A valid message of either direction, as JSON.
fn message_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any::<u64>(), request()).prop_map(|(id, r)| {
            serde_json::to_value(client_message(id, r)).unwrap_or_default()
        }),
        (any::<u64>(), response()).prop_map(|(request_id, r)| {
            let message = tarpc::Response {
                request_id,
                message: Ok(r),
            };
            serde_json::to_value(message).unwrap_or_default()
        }),
        (any::<u64>()).prop_map(|id| json!({"Cancel": {"request_id": id}})),
    ]
}

/// Every place in a JSON value, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// What a mutation puts somewhere: extreme numbers most of all.
fn replacement() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => prop_oneof![
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(-1)),
            Just(json!(1e308)),
            Just(json!(u32::MAX)),
            Just(json!(u64::MAX / 2)),
            Just(json!(i64::MAX)),
            Just(json!(999_999_999_999u64)),
            Just(json!(1_000_000_000)),
        ].prop_map(Some),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!("x"))),
        1 => Just(Some(json!([]))),
        1 => Just(Some(json!({}))),
        1 => Just(None),
    ]
}

/// Replaces (or removes) the value at one place.
fn mutate(v: &mut Value, place: &Index, with: Option<Value>) {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    let at = &all[place.index(all.len())];
    match with {
        Some(new) => {
            if let Some(slot) = v.pointer_mut(at) {
                *slot = new;
            }
        }
        None => {
            if let Some((parent, key)) = at.rsplit_once('/') {
                if let Some(Value::Object(map)) = v.pointer_mut(parent) {
                    map.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(crate::fuzz_config())]

    /// Any bytes, arriving in any pieces: no panic, a bounded buffer, the same frames and the
    /// same failure whatever the pieces; every frame read by both ends without panic.
    #[test]
    fn fuzz_any_bytes_decode_the_same_however_cut(
        bytes in stream_bytes(),
        cuts in proptest::collection::vec(any::<Index>(), 0..10),
    ) {
        let whole = decode(std::slice::from_ref(&bytes), MAX)?;
        let cut = decode(&split(&bytes, &cuts), MAX)?;
        prop_assert_eq!(&cut, &whole);
        for f in &whole.frames {
            prop_assert!(f.len() <= MAX);
            read_frame(f);
        }
    }

    /// A length over the limit is refused as soon as its prefix is in, and the claimed size
    /// is never reserved.
    #[test]
    fn fuzz_oversize_is_refused_without_allocating(
        n in (DEFAULT_MAX_FRAME as u32 + 1)..=u32::MAX,
        rest in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut buf = BytesMut::from(&n.to_be_bytes()[..]);
        buf.extend_from_slice(&rest);
        prop_assert!(codec(DEFAULT_MAX_FRAME).decode(&mut buf).is_err());
        prop_assert!(buf.capacity() < 1024, "{} reserved", buf.capacity());
    }

    /// Payloads framed by the encoder come back one for one, however the bytes arrive; a
    /// payload over the limit is refused by the encoder.
    #[test]
    fn fuzz_frames_round_trip(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..6),
        cuts in proptest::collection::vec(any::<Index>(), 0..10),
    ) {
        let mut codec = codec(MAX);
        let mut buf = BytesMut::new();
        let mut sent = Vec::new();
        for p in &payloads {
            let fits = p.len() <= MAX;
            prop_assert_eq!(codec.encode(Bytes::from(p.clone()), &mut buf).is_ok(), fits);
            if fits {
                sent.push(p.clone());
            }
        }
        let got = decode(&split(&buf, &cuts), MAX)?;
        prop_assert_eq!(got, Decoded { frames: sent, failed: false });
    }

    /// Requests and responses written by one end are read back by the other.
    #[test]
    fn fuzz_messages_round_trip(id in any::<u64>(), request in request(), response in response()) {
        let mut format = Format::<ClientItem, ServerItem>::default();
        let sent = client_message(id, request);
        let bytes = Pin::new(&mut format).serialize(&sent).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: ServerItem = Pin::new(&mut Format::<ServerItem, ClientItem>::default())
            .deserialize(&BytesMut::from(&bytes[..]))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (tarpc::ClientMessage::Request(got), tarpc::ClientMessage::Request(sent)) = (got, sent) else {
            return Err(TestCaseError::fail("not a request"));
        };
        prop_assert_eq!(got.id, sent.id);
        prop_assert_eq!(format!("{:?}", got.message), format!("{:?}", sent.message));

        let answer = tarpc::Response { request_id: id, message: Ok(response) };
        let bytes = Pin::new(&mut Format::<ServerItem, ClientItem>::default())
            .serialize(&answer)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: ClientItem = Pin::new(&mut format)
            .deserialize(&BytesMut::from(&bytes[..]))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(format!("{got:?}"), format!("{answer:?}"));
    }

    /// Valid messages changed in one or two places decode or fail, never panic.
    #[test]
    fn fuzz_mutated_messages_never_panic(
        message in message_json(),
        changes in proptest::collection::vec((any::<Index>(), replacement()), 1..3),
    ) {
        let mut message = message;
        for (place, with) in changes {
            mutate(&mut message, &place, with);
        }
        read_frame(message.to_string().as_bytes());
    }
}

/// Found by `fuzz_mutated_messages_never_panic`: tarpc adds a request's deadline to the clock
/// while decoding, and panicked ("overflow when adding duration to instant") on a huge one —
/// any local client could kill its connection's task that way. Now the frame is refused.
#[test]
fn regression_huge_deadline_is_refused_not_a_panic() {
    let zeros = [0u8; 16];
    let request = |secs: u64| {
        json!({"Request": {
            "context": {
                "deadline": {"secs": secs, "nanos": 0},
                "trace_context": {"trace_id": zeros, "span_id": 0, "sampling_decision": "Unsampled"},
            },
            "id": 1,
            "message": {"Status": {}},
        }})
        .to_string()
    };
    let decode = |text: &str| {
        Pin::new(&mut Format::<ServerItem, ClientItem>::default())
            .deserialize(&BytesMut::from(text.as_bytes()))
    };
    let err = decode(&request(u64::MAX)).err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("deadline")),
        "{err:?}"
    );
    assert!(decode(&request(MAX_DEADLINE.as_secs() + 1)).is_err());
    let ok = decode(&request(MAX_DEADLINE.as_secs()));
    assert!(ok.is_ok(), "{:?}", ok.err());
    let ok = decode(&request(10));
    assert!(ok.is_ok(), "{:?}", ok.err());
}
