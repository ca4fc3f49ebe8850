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
        }
    }

    /// A stream of exactly these frames (status 200, `text/event-stream`).
    pub fn sse(frames: Vec<Frame>) -> Reply {
        Reply {
            kind: Kind::Sse(Arc::new(frames)),
            delay_first: Duration::ZERO,
            gate: None,
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
}

#[derive(Default)]
struct Shared {
    state: Mutex<Script>,
    arrived: Condvar,
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
    serve(reply, shared, index)
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
/// piece to write it, rather than when the writer queued it.
fn body(rx: mpsc::Receiver<Piece>, shared: Arc<Shared>, index: usize) -> Body {
    Body::from_stream(futures::stream::unfold(rx, move |mut rx| {
        let shared = shared.clone();
        async move {
            loop {
                let piece = rx.recv().await?;
                let at = now_us();
                match piece.mark {
                    Mark::Plain => {}
                    Mark::FirstToken => {
                        let mut state = shared.lock();
                        state.first_token_sent_us.push(at);
                        if let Some(e) = state.exchanges.get_mut(index) {
                            e.first_token_us = Some(at);
                        }
                    }
                    Mark::Finished => {
                        if let Some(e) = shared.lock().exchanges.get_mut(index) {
                            e.finished_us = Some(at);
                        }
                        continue;
                    }
                }
                return Some((piece.chunk, rx));
            }
        }
    }))
}

fn serve(reply: Reply, shared: Arc<Shared>, index: usize) -> Response {
    let (tx, rx) = mpsc::channel(16);
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
    (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body(rx, shared, index),
    )
        .into_response()
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

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(words("Hello there, you"), ["Hello", " there,", " you"]);
        assert_eq!(words(" a  b"), [" a", "  b"]);
        assert_eq!(words("").len(), 0);
    }
}
