//! A scripted OpenAI-compatible model server for tests and benchmarks: a real HTTP server
//! (axum, on its own thread and runtime, on a loopback port) that answers
//! `POST /v1/chat/completions` with the [`Reply`]s a test queued, streaming them as
//! server-sent events for real — delays, cuts and stalls happen on the wire.
//!
//! It records every request body and its headers, and when each request arrived and its
//! reply's first token and last byte went out ([`ScriptedServer::exchanges`]), so tests can
//! count requests (no silent retries) and benchmarks can measure latency.
//!
//! Which reply a request gets: the next queued one ([`ScriptedServer::push`]), else the
//! responder's choice ([`ScriptedServer::set_responder`]), else the fallback
//! ([`ScriptedServer::set_fallback`]), else HTTP 500 "no scripted reply".
//!
//! It also speaks: `POST /v1/audio/speech` answers a real WAV (16-bit mono PCM at 24,000 Hz,
//! as Kokoro does), a tone of 20 ms per character of the input (at most 5 s), unless told to
//! fail ([`ScriptedServer::set_speech_status`], [`ScriptedServer::set_speech_reply`]). Speech
//! requests are recorded apart from the chat's ([`ScriptedServer::speech_requests`]), so
//! counting model requests is not disturbed by a podcast's clips.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Notify};

/// Bytes gathered before a write when no delay forces one earlier.
const BATCH_BYTES: usize = 64 * 1024;

/// The sample rate of the spoken clips.
pub const SPEECH_RATE: u32 = 24_000;

/// Milliseconds of tone per character of the input: about what speech takes (160 words a
/// minute), so a podcast's audio is as long as its transcript promises.
pub const SPEECH_MS_PER_CHAR: u32 = 60;

/// The longest clip, in milliseconds.
pub const SPEECH_MAX_MS: u32 = 60_000;

/// A port on loopback where nothing listens, as a base URL (`http://127.0.0.1:PORT/v1`).
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}/v1", crate::closed_port())
}

/// The last message of a request body the server received, as (role, text).
pub fn last_message(request: &Value) -> (String, String) {
    let m = request["messages"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or(Value::Null);
    (
        m["role"].as_str().unwrap_or("").to_string(),
        m["content"].as_str().unwrap_or("").to_string(),
    )
}

/// One piece of a streamed reply.
#[derive(Debug, Clone)]
pub enum Frame {
    /// One event: `data: …\n\n`.
    Data(String),
    /// Bytes written as they are (a `: keep-alive\n\n` comment, half a line, …).
    Raw(String),
    /// A pause.
    Delay(Duration),
    /// Close the connection abruptly (no end of body).
    Cut,
    /// Send nothing more, but keep the connection open until the client leaves.
    Stall,
}

/// Makes tool-call ids unique across replies.
static NEXT_CALL: AtomicU64 = AtomicU64::new(0);

impl Frame {
    /// A `chat.completion.chunk` event whose only choice carries `delta`.
    pub fn delta(delta: Value) -> Frame {
        Frame::chunk(&delta.to_string(), "null")
    }

    /// The closing chunk: an empty delta and `finish_reason`.
    pub fn finish(reason: &str) -> Frame {
        Frame::chunk("{}", &Value::from(reason).to_string())
    }

    /// The usage chunk (no choices), as OpenAI sends it with `include_usage`.
    pub fn usage(prompt_tokens: u64, completion_tokens: u64) -> Frame {
        Frame::json(json!({
            "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0,
            "model": "scripted", "choices": [],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }))
    }

    /// `data: [DONE]`.
    pub fn done() -> Frame {
        Frame::Data("[DONE]".into())
    }

    /// Any JSON value as one event.
    pub fn json(value: Value) -> Frame {
        Frame::Data(value.to_string())
    }

    fn chunk(delta: &str, finish_reason: &str) -> Frame {
        Frame::Data(format!(
            r#"{{"id":"chatcmpl-scripted","object":"chat.completion.chunk","created":0,"model":"scripted","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish_reason}}}]}}"#
        ))
    }

    fn text(token: &str) -> Frame {
        Frame::chunk(&format!(r#"{{"content":{}}}"#, Value::from(token)), "null")
    }

    fn role() -> Frame {
        Frame::chunk(r#"{"role":"assistant","content":""}"#, "null")
    }

    /// Whether this frame carries a piece of the answer (text, reasoning or a tool call).
    fn has_token(&self) -> bool {
        let Frame::Data(data) = self else {
            return false;
        };
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return false;
        };
        let delta = &v["choices"][0]["delta"];
        let nonempty = |k: &str| delta[k].as_str().is_some_and(|s| !s.is_empty());
        nonempty("content")
            || nonempty("reasoning_content")
            || nonempty("reasoning")
            || delta["tool_calls"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
    }
}

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    kind: Kind,
    delay_first: Duration,
    gate: Option<Arc<Notify>>,
    /// Extra response headers (`Retry-After`, …).
    headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum Kind {
    Status { code: u16, body: String },
    Sse(Arc<Vec<Frame>>),
}

impl Reply {
    /// A streamed text answer, one chunk per word (with its leading space).
    pub fn text(text: &str) -> Reply {
        Reply::tokens(words(text))
    }

    /// A streamed answer of these tokens: role chunk, one chunk each, `stop`, `[DONE]`.
    pub fn tokens<S: AsRef<str>>(tokens: Vec<S>) -> Reply {
        let mut frames = Vec::with_capacity(tokens.len() + 3);
        frames.push(Frame::role());
        frames.extend(tokens.iter().map(|t| Frame::text(t.as_ref())));
        frames.push(Frame::finish("stop"));
        frames.push(Frame::done());
        Reply::sse(frames)
    }

    /// One streamed tool call, its arguments split over many chunks.
    pub fn tool_call(name: &str, arguments: &str) -> Reply {
        Reply::tool_calls(vec![(name, arguments)])
    }

    /// Several tool calls in one answer, each split over many chunks; `tool_calls` finish.
    pub fn tool_calls<N: AsRef<str>, A: AsRef<str>>(calls: Vec<(N, A)>) -> Reply {
        let mut frames = vec![Frame::role()];
        for (index, (name, arguments)) in calls.iter().enumerate() {
            let id = format!(
                "call_scripted_{}",
                NEXT_CALL.fetch_add(1, Ordering::Relaxed)
            );
            frames.push(Frame::delta(json!({"tool_calls": [{
                "index": index, "id": id, "type": "function",
                "function": {"name": name.as_ref(), "arguments": ""},
            }]})));
            for piece in pieces(arguments.as_ref(), 7) {
                frames.push(Frame::delta(json!({"tool_calls": [{
                    "index": index, "function": {"arguments": piece},
                }]})));
            }
        }
        frames.push(Frame::finish("tool_calls"));
        frames.push(Frame::done());
        Reply::sse(frames)
    }

    /// A plain HTTP answer (JSON content type when `body` is JSON, else text).
    pub fn status(code: u16, body: impl Into<String>) -> Reply {
        Reply {
            kind: Kind::Status {
                code,
                body: body.into(),
            },
            delay_first: Duration::ZERO,
            gate: None,
            headers: Vec::new(),
        }
    }

    /// A stream of exactly these frames (status 200, `text/event-stream`).
    pub fn sse(frames: Vec<Frame>) -> Reply {
        Reply {
            kind: Kind::Sse(Arc::new(frames)),
            delay_first: Duration::ZERO,
            gate: None,
            headers: Vec::new(),
        }
    }

    /// Adds a usage chunk before `[DONE]` (or at the end).
    pub fn with_usage(self, prompt_tokens: u64, completion_tokens: u64) -> Reply {
        let Kind::Sse(frames) = &self.kind else {
            return self;
        };
        let mut frames = frames.as_ref().clone();
        let at = match frames.last() {
            Some(Frame::Data(d)) if d == "[DONE]" => frames.len() - 1,
            _ => frames.len(),
        };
        frames.insert(at, Frame::usage(prompt_tokens, completion_tokens));
        Reply {
            kind: Kind::Sse(Arc::new(frames)),
            ..self
        }
    }

    /// Waits this long after the headers before the first byte of the body.
    pub fn delay_first(mut self, delay: Duration) -> Reply {
        self.delay_first = delay;
        self
    }

    /// Adds a response header (`Retry-After: 30` on a 429, …).
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Holds the reply (before its headers) until `gate` is notified: `notify_one()` releases
    /// one held reply (or the next to arrive), `notify_waiters()` all those waiting.
    pub fn gated(mut self, gate: Arc<Notify>) -> Reply {
        self.gate = Some(gate);
        self
    }
}

/// Words with their leading whitespace: "Hello there" → ["Hello", " there"].
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev_space = true;
    for c in text.chars() {
        let space = c.is_whitespace();
        // A word starts at the first space after a word (or at the very beginning).
        let starts_word = space && !prev_space;
        match out.last_mut() {
            Some(last) if !starts_word => last.push(c),
            _ => out.push(c.to_string()),
        }
        prev_space = space;
    }
    out
}

/// `text` in pieces of `n` characters.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

type Responder = dyn Fn(&Value) -> Reply + Send + Sync;

/// The timeline of one request, in microseconds since the epoch (the machine's realtime
/// clock, as read in this process). "Went out" means the server's HTTP connection took the
/// bytes from the reply body to write them to the socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exchange {
    /// When the request (its whole body) had arrived.
    pub arrived_us: i64,
    /// When the reply's first token went out (`None`: no token, or not yet).
    pub first_token_us: Option<i64>,
    /// When the reply's last byte went out (`None`: not yet, or cut or stalled by script).
    pub finished_us: Option<i64>,
    /// When the server started answering it: at once, or when one of its slots freed up
    /// ([`ScriptedServer::set_slots`]). `None` while it waits.
    pub served_us: Option<i64>,
    /// When the client left before the reply's end (it closed the connection), if it did.
    pub left_us: Option<i64>,
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Reply>,
    fallback: Option<Reply>,
    responder: Option<Arc<Responder>>,
    requests: Vec<Value>,
    headers: Vec<HeaderMap>,
    first_token_sent_us: Vec<i64>,
    exchanges: Vec<Exchange>,
    /// Keep request bodies as `null` (a long benchmark would hold gigabytes of them).
    forget_bodies: bool,
    /// Speech request bodies and headers, in order.
    speech_requests: Vec<Value>,
    speech_headers: Vec<HeaderMap>,
    /// What every speech request gets instead of a tone.
    speech_reply: Option<Reply>,
    /// The context window (tokens), and whether `/props` says it.
    window: Option<(u32, bool)>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<Script>,
    arrived: Condvar,
    /// Requests answered at once, when limited (a llama-server started with `-np 1`).
    slots: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Script> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The server. Dropping it stops it (connections still open are closed).
pub struct ScriptedServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ScriptedServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> ScriptedServer {
        let shared = Arc::new(Shared::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking socket");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .route("/props", get(props))
            .route("/v1/audio/speech", post(speech))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scripted-llm".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    // Small writes go out at once, as real model servers send them (Go's
                    // and Python's asyncio's sockets default to TCP_NODELAY; tokio's do
                    // not): Nagle's algorithm would hold a reply's second write until the
                    // client's delayed ACK, some 40 ms, and charge it to the daemon.
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("tokio listener")
                        .tap_io(|tcp| {
                            let _ = tcp.set_nodelay(true);
                        });
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(e) = served {
                                eprintln!("scripted server stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Drops every connection task, stalled ones included.
                runtime.shutdown_background();
            })
            .expect("spawn the server thread");
        ScriptedServer {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Answers at most `n` chat requests at a time, as a server with `n` slots does: a request
    /// that comes while they are busy waits (before its headers) until one frees up, when a
    /// reply ends or its client leaves. `None`: no limit (the default).
    pub fn set_slots(&self, n: Option<usize>) {
        let semaphore = n.map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1))));
        *self.shared.slots.lock().unwrap_or_else(|p| p.into_inner()) = semaphore;
    }

    /// Answers like a llama-server started with `-c`: a chat request whose prompt is more
    /// than `tokens` (counted as [`prompt_tokens`] does) gets HTTP 400 "request (N tokens)
    /// exceeds the available context size (W tokens)". `reported`: `GET /props` says the
    /// window (`default_generation_settings.n_ctx`); else it answers 404, as servers that
    /// do not tell. `None`: no window (the default).
    pub fn set_window(&self, window: Option<(u32, bool)>) {
        self.shared.lock().window = window;
    }

    /// Queues a reply for the next request.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().queue.push_back(reply);
    }

    /// What to answer when the queue is empty and no responder is set (`None`: HTTP 500).
    pub fn set_fallback(&self, reply: Option<Reply>) {
        self.shared.lock().fallback = reply;
    }

    /// Chooses replies from the request body when the queue is empty.
    pub fn set_responder(&self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        self.shared.lock().responder = Some(Arc::new(f));
    }

    /// Request bodies received, in order (a body that is not JSON is kept as a string).
    pub fn requests(&self) -> Vec<Value> {
        self.shared.lock().requests.clone()
    }

    /// Requests received so far.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Headers of each request, in order.
    pub fn headers(&self) -> Vec<HeaderMap> {
        self.shared.lock().headers.clone()
    }

    /// The last request's `Authorization` header.
    pub fn last_authorization(&self) -> Option<String> {
        let state = self.shared.lock();
        let headers = state.headers.last()?;
        let value = headers.get(header::AUTHORIZATION)?;
        Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.arrived.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// When each reply's first token was handed to the connection (µs since the epoch), in
    /// the order they were sent.
    pub fn first_token_sent_us(&self) -> Vec<i64> {
        self.shared.lock().first_token_sent_us.clone()
    }

    /// The timeline of each request, in the order they arrived (the order of
    /// [`ScriptedServer::requests`]).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges_from(0)
    }

    /// The timelines of the requests from the `from`-th on.
    pub fn exchanges_from(&self, from: usize) -> Vec<Exchange> {
        let state = self.shared.lock();
        state.exchanges.get(from..).unwrap_or_default().to_vec()
    }

    /// From now on, [`ScriptedServer::requests`] holds `null` for each body (the responder
    /// still sees them): for benchmarks of thousands of requests.
    pub fn forget_bodies(&self) {
        self.shared.lock().forget_bodies = true;
    }

    /// Makes every speech request answer HTTP `status` with a JSON error body (`None`: speak
    /// again). Replaces any [`ScriptedServer::set_speech_reply`].
    pub fn set_speech_status(&self, status: Option<u16>) {
        let reply = status.map(|code| {
            Reply::status(
                code,
                json!({"error": {"message": format!("scripted speech failure {code}"),
                                 "type": "server_error"}})
                .to_string(),
            )
        });
        self.set_speech_reply(reply);
    }

    /// What every speech request gets instead of a tone (`None`: speak again): a status, a
    /// body that is not audio, a reply held by a gate, …
    pub fn set_speech_reply(&self, reply: Option<Reply>) {
        self.shared.lock().speech_reply = reply;
    }

    /// Speech request bodies received, in order (`null` after
    /// [`ScriptedServer::forget_bodies`]).
    pub fn speech_requests(&self) -> Vec<Value> {
        self.shared.lock().speech_requests.clone()
    }

    /// Speech requests received so far.
    pub fn speech_request_count(&self) -> usize {
        self.shared.lock().speech_requests.len()
    }

    /// Headers of each speech request, in order.
    pub fn speech_headers(&self) -> Vec<HeaderMap> {
        self.shared.lock().speech_headers.clone()
    }

    /// Waits until at least `n` speech requests arrived; false on timeout.
    pub fn wait_speech_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.speech_requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.arrived.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The tokens of a chat request's prompt as the scripted server counts them: a token for
/// every 3 bytes of the messages' text, stricter than the 4 characters a token Mentor budgets
/// with, so a test shows that Mentor's budgets leave room.
pub fn prompt_tokens(request: &Value) -> u32 {
    let bytes: usize = request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m.to_string().len())
        .sum();
    u32::try_from(bytes / 3).unwrap_or(u32::MAX)
}

async fn props(State(shared): State<Arc<Shared>>) -> Response {
    match shared.lock().window {
        Some((n, true)) => {
            Json(json!({"default_generation_settings": {"n_ctx": n}})).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "scripted", "object": "model"}]}))
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived_us = now_us();
    let request = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let (index, queued, responder, fallback) = {
        let mut state = shared.lock();
        let kept = if state.forget_bodies {
            Value::Null
        } else {
            request.clone()
        };
        state.requests.push(kept);
        state.headers.push(headers);
        state.exchanges.push(Exchange {
            arrived_us,
            ..Exchange::default()
        });
        shared.arrived.notify_all();
        let queued = state.queue.pop_front();
        (
            state.exchanges.len() - 1,
            queued,
            state.responder.clone(),
            state.fallback.clone(),
        )
    };
    let window = shared.lock().window;
    if let Some((window, _)) = window {
        let tokens = prompt_tokens(&request);
        if tokens > window {
            let message = format!(
                "request ({tokens} tokens) exceeds the available context size ({window} \
                 tokens), try increasing it"
            );
            let body = json!({"error": {"code": 400, "message": message,
                "type": "exceed_context_size_error"}});
            return serve(
                Reply::status(400, body.to_string()),
                shared,
                Some(index),
                None,
            );
        }
    }
    let reply = queued
        .or_else(|| responder.map(|f| f(&request)))
        .or(fallback)
        .unwrap_or_else(|| {
            Reply::status(
                500,
                json!({"error": {"message": "no scripted reply", "type": "server_error"}})
                    .to_string(),
            )
        });
    if let Some(gate) = &reply.gate {
        gate.notified().await;
    }
    let slots = shared
        .slots
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let slot = match slots {
        Some(slots) => slots.acquire_owned().await.ok(),
        None => None,
    };
    if let Some(e) = shared.lock().exchanges.get_mut(index) {
        e.served_us = Some(now_us());
    }
    serve(reply, shared, Some(index), slot)
}

async fn speech(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let reply = {
        let mut state = shared.lock();
        let kept = if state.forget_bodies {
            Value::Null
        } else {
            request.clone()
        };
        state.speech_requests.push(kept);
        state.speech_headers.push(headers);
        shared.arrived.notify_all();
        state.speech_reply.clone()
    };
    match reply {
        Some(reply) => {
            if let Some(gate) = &reply.gate {
                gate.notified().await;
            }
            serve(reply, shared, None, None)
        }
        None => {
            let chars = request["input"].as_str().unwrap_or("").chars().count();
            let ms = u32::try_from(chars)
                .unwrap_or(u32::MAX)
                .saturating_mul(SPEECH_MS_PER_CHAR)
                .min(SPEECH_MAX_MS);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "audio/wav")],
                tone_wav(ms),
            )
                .into_response()
        }
    }
}

/// A WAV file (RIFF, PCM 16-bit mono, [`SPEECH_RATE`]) of a 440 Hz tone lasting `ms`.
pub fn tone_wav(ms: u32) -> Vec<u8> {
    let samples = (u64::from(SPEECH_RATE) * u64::from(ms) / 1000) as u32;
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SPEECH_RATE.to_le_bytes());
    out.extend_from_slice(&(SPEECH_RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let step = 2.0 * std::f64::consts::PI * 440.0 / f64::from(SPEECH_RATE);
    for i in 0..samples {
        let sample = ((f64::from(i) * step).sin() * 8000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// A piece of a reply body on its way to the connection.
struct Piece {
    chunk: Result<Bytes, std::io::Error>,
    mark: Mark,
}

/// What the moment a piece goes out means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Nothing to record.
    Plain,
    /// It carries the reply's first token.
    FirstToken,
    /// Nothing more follows (an empty piece, never written): everything before it went out.
    Finished,
}

impl Piece {
    fn plain(chunk: Result<Bytes, std::io::Error>) -> Piece {
        Piece {
            chunk,
            mark: Mark::Plain,
        }
    }

    fn finished() -> Piece {
        Piece {
            chunk: Ok(Bytes::new()),
            mark: Mark::Finished,
        }
    }
}

type Pieces = mpsc::Sender<Piece>;

/// The body a reply's pieces flow into. Times are taken here, as the connection pulls each
/// piece to write it, rather than when the writer queued it; only for a chat exchange (`index`
/// into [`Script::exchanges`]), not for speech.
fn body(
    rx: mpsc::Receiver<Piece>,
    shared: Arc<Shared>,
    index: Option<usize>,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Body {
    let watch = Watch {
        shared: shared.clone(),
        index,
        ended: false,
        _slot: slot,
    };
    Body::from_stream(futures::stream::unfold(
        (rx, watch),
        move |(mut rx, mut watch)| {
            let shared = shared.clone();
            async move {
                loop {
                    let Some(piece) = rx.recv().await else {
                        watch.end();
                        return None;
                    };
                    let at = now_us();
                    match (piece.mark, index) {
                        (Mark::Plain, _) => {}
                        (Mark::FirstToken, Some(index)) => {
                            let mut state = shared.lock();
                            state.first_token_sent_us.push(at);
                            if let Some(e) = state.exchanges.get_mut(index) {
                                e.first_token_us = Some(at);
                            }
                        }
                        (Mark::FirstToken, None) => {}
                        (Mark::Finished, index) => {
                            watch.end();
                            if let Some(index) = index {
                                if let Some(e) = shared.lock().exchanges.get_mut(index) {
                                    e.finished_us = Some(at);
                                }
                            }
                            continue;
                        }
                    }
                    if piece.chunk.is_err() {
                        watch.end(); // a scripted cut, not the client leaving
                    }
                    return Some((piece.chunk, (rx, watch)));
                }
            }
        },
    ))
}

/// Lives as long as a reply's body: holds its slot, and records the client's leaving when
/// the body is dropped before its end.
struct Watch {
    shared: Arc<Shared>,
    index: Option<usize>,
    ended: bool,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Watch {
    /// The reply ended as scripted: the client did not leave.
    fn end(&mut self) {
        self.ended = true;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        if let Some(index) = self.index {
            if let Some(e) = self.shared.lock().exchanges.get_mut(index) {
                e.left_us = Some(now_us());
            }
        }
    }
}

fn serve(
    reply: Reply,
    shared: Arc<Shared>,
    index: Option<usize>,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Response {
    let (tx, rx) = mpsc::channel(16);
    let extra = reply.headers.clone();
    let (status, content_type) = match reply.kind {
        Kind::Status { code, body } => {
            let json = serde_json::from_str::<Value>(&body).is_ok();
            let delay = reply.delay_first;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if tx.send(Piece::plain(Ok(Bytes::from(body)))).await.is_ok() {
                    let _ = tx.send(Piece::finished()).await;
                }
            });
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let kind = if json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            (status, kind)
        }
        Kind::Sse(frames) => {
            tokio::spawn(write_frames(frames, reply.delay_first, tx));
            (StatusCode::OK, "text/event-stream")
        }
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body(rx, shared, index, slot),
    )
        .into_response();
    for (name, value) in extra {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Writes the frames in batches, flushing early only for pauses, cuts, stalls and the first
/// token (whose send time is recorded).
async fn write_frames(frames: Arc<Vec<Frame>>, delay_first: Duration, tx: Pieces) {
    if !delay_first.is_zero() {
        tokio::time::sleep(delay_first).await;
    }
    let first_token = frames.iter().position(Frame::has_token);
    let mut batch = String::new();
    async fn flush(tx: &Pieces, batch: &mut String) -> bool {
        flush_marked(tx, batch, Mark::Plain).await
    }
    async fn flush_marked(tx: &Pieces, batch: &mut String, mark: Mark) -> bool {
        if batch.is_empty() {
            return true;
        }
        let chunk = Ok(Bytes::from(std::mem::take(batch)));
        tx.send(Piece { chunk, mark }).await.is_ok()
    }
    for (i, frame) in frames.iter().enumerate() {
        match frame {
            Frame::Data(data) => {
                batch.push_str("data: ");
                batch.push_str(data);
                batch.push_str("\n\n");
                if first_token == Some(i) && !flush_marked(&tx, &mut batch, Mark::FirstToken).await
                {
                    return;
                }
            }
            Frame::Raw(raw) => batch.push_str(raw),
            Frame::Delay(pause) => {
                if !flush(&tx, &mut batch).await {
                    return;
                }
                tokio::time::sleep(*pause).await;
            }
            Frame::Cut => {
                if flush(&tx, &mut batch).await {
                    // Let what was written reach the client before the connection drops.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let cut = Err(std::io::Error::other("scripted cut"));
                    let _ = tx.send(Piece::plain(cut)).await;
                }
                return;
            }
            Frame::Stall => {
                if flush(&tx, &mut batch).await {
                    tx.closed().await;
                }
                return;
            }
        }
        if batch.len() >= BATCH_BYTES && !flush(&tx, &mut batch).await {
            return;
        }
    }
    if flush(&tx, &mut batch).await {
        let _ = tx.send(Piece::finished()).await;
    }
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One request over a plain socket: (status line, headers and body as text, body bytes).
    fn post(server: &ScriptedServer, path: &str, body: &str) -> (String, String, Vec<u8>) {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(server.addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        write!(
            tcp,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Authorization: Bearer sk-speech\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).expect("read the answer");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header block");
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let status = head.lines().next().unwrap_or("").to_string();
        (status, head, answer[split + 4..].to_vec())
    }

    #[test]
    fn speech_answers_a_wav_as_long_as_the_text() {
        let server = ScriptedServer::start();
        let body = json!({"model": "kokoro", "input": "Hello", "voice": "af_heart",
                          "response_format": "wav"});
        let (status, head, wav) = post(&server, "/v1/audio/speech", &body.to_string());
        assert!(status.contains("200"), "{status}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: audio/wav"),
            "{head}"
        );
        let clip = mentor_daemon::tts::wav::Clip::parse(&wav).expect("a WAV");
        assert_eq!(clip.rate, SPEECH_RATE);
        // 5 characters, 60 ms each.
        assert_eq!(clip.samples.len(), 7_200);
        assert!(clip.samples.iter().any(|s| s.unsigned_abs() > 4000));
        let long = json!({"input": "x".repeat(10_000)});
        let (_, _, wav) = post(&server, "/v1/audio/speech", &long.to_string());
        let clip = mentor_daemon::tts::wav::Clip::parse(&wav).expect("a WAV");
        assert_eq!(clip.samples.len(), 60 * SPEECH_RATE as usize);
        assert_eq!(server.speech_request_count(), 2);
        assert_eq!(server.speech_requests()[0], body);
        assert_eq!(
            server.speech_headers()[0]
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec()),
            Some(b"Bearer sk-speech".to_vec())
        );
        assert!(server.wait_speech_requests(2, Duration::ZERO));
        // The chat's requests are not disturbed.
        assert_eq!(server.request_count(), 0);
    }

    #[test]
    fn speech_fails_as_told() {
        let server = ScriptedServer::start();
        server.set_speech_status(Some(503));
        let (status, _, body) = post(&server, "/v1/audio/speech", r#"{"input":"Hi"}"#);
        assert!(status.contains("503"), "{status}");
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("scripted speech failure 503"), "{body}");
        server.set_speech_reply(Some(Reply::status(200, "not audio")));
        let (status, _, body) = post(&server, "/v1/audio/speech", r#"{"input":"Hi"}"#);
        assert!(status.contains("200"), "{status}");
        assert!(String::from_utf8_lossy(&body).contains("not audio"));
        server.set_speech_status(None);
        let (status, _, wav) = post(&server, "/v1/audio/speech", r#"{"input":"Hi"}"#);
        assert!(status.contains("200"), "{status}");
        assert!(mentor_daemon::tts::wav::Clip::parse(&wav).is_ok());
        assert_eq!(server.speech_request_count(), 3);
        assert!(server.exchanges().is_empty());
    }

    #[test]
    fn a_reply_carries_its_extra_headers() {
        let server = ScriptedServer::start();
        server.push(
            Reply::status(429, r#"{"error":{"message":"slow down"}}"#)
                .with_header("Retry-After", "7"),
        );
        let (status, head, body) = post(&server, "/v1/chat/completions", "{}");
        assert!(status.contains("429"), "{status}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 7"),
            "{head}"
        );
        assert!(String::from_utf8_lossy(&body).contains("slow down"));
    }

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(words("Hello there, you"), ["Hello", " there,", " you"]);
        assert_eq!(words(" a  b"), [" a", "  b"]);
        assert_eq!(words("").len(), 0);
    }
}
