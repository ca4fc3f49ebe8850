//! Socket abuse: the real `mentord`, with the scripted model server, under everything a
//! hostile or careless client can do to its socket at once, while honest clients use it.
//!
//! - **A storm** of 10,000 abusive connections from several threads: random bytes, a valid
//!   length prefix with garbage or broken JSON, an empty frame, truncated frames (the prefix
//!   says N, fewer bytes come, then the client closes), oversize prefixes (above the limit and
//!   `u32::MAX`), valid JSON of the wrong shape, JSON nested too deep, a request whose
//!   deadline is beyond the clock's range or tarpc's timers (and one long but fine),
//!   requests before the handshake (a `shutdown`, a `notebook_delete` and a `chat_send`
//!   among them), a wrong protocol version, and half a frame then silence (held open until
//!   the end; the daemon must cut each one off at its frame limit, `daemon.frame_timeout_ms`,
//!   3 s here). Every connection that sent a bad frame must be closed by the daemon without an
//!   answer; a request before the handshake is refused (`handshake_required`) and a wrong
//!   version too (`version_mismatch`), and nothing they asked for happens.
//! - **Honest clients** (6 by default) call `status` and `notebook_show` in a loop from the
//!   start to the end: every call must succeed, and their p99 latency stay under a lenient
//!   bound (2 s: this is a debug daemon on a shared machine; the printed figure matters).
//! - **200 learners** at once, each on its own connection and notebook, subscribe to their
//!   notebook's events (long-polls) and send a message; the scripted model answers each one
//!   by its number, and each learner must see its own reply complete and its turn end
//!   (`completed`). Total time and per-turn p50/p99 are reported.
//! - **Clients that never read** (50), connected before the storm and kept to the end: half
//!   pipeline `notebook_list` requests (a large answer: 200 notebooks with long titles), half
//!   `events_next` long-polls that the learners' turns fill with up to 1,000 events, and none
//!   of them ever reads its socket. The daemon must not block on them, nor hold an answer in
//!   memory for every request they send: it keeps at most 16 of a connection's requests in
//!   flight, refuses the rest as "throttled" and, once the socket is full, stops reading.
//! - **A client of another uid** (as root only; skipped with a reason otherwise): the test
//!   binary runs itself as `nobody` to connect. With the runtime directory private, the
//!   connection is refused by the file system; with the directory and socket opened up, the
//!   daemon's `SO_PEERCRED` check must close it without an answer and log it.
//! - **Memory**: the daemon's VmRSS is sampled every 50 ms through all of it; the peak (and
//!   VmHWM) is reported and must stay under a bound.
//!
//! Afterwards the daemon is the same process, the notebook and conversation stored before
//! the storm are intact, and once every client has gone its connection count is back to one
//! within 20 s (the never-readers' long-polls of a minute end when their clients leave).
//! Then the same storm runs again on the drained daemon, alone: it must leave no connection
//! behind either, and the daemon's memory must not grow (what the first round freed is
//! reused; a leak per connection would show).
//!
//! Sizes come from the environment for longer runs: `MENTOR_ABUSE_FRAMES` (10000),
//! `MENTOR_ABUSE_CLIENTS` (200), `MENTOR_ABUSE_STALLED` (50), `MENTOR_ABUSE_STALLED_REQUESTS`
//! (requests each never-reader tries to send, 200), `MENTOR_ABUSE_HONEST` (6),
//! `MENTOR_ABUSE_THREADS` (storm threads, 8), `MENTOR_ABUSE_KINDS` (only these kinds of
//! abuse, e.g. `Oversize,Truncated`); bounds: `MENTOR_ABUSE_MAX_RSS_MB` (200),
//! `MENTOR_ABUSE_MAX_P99_MS` (honest p99, 2000). The figures are printed to stderr:
//! `cargo test -p mentor-tests --test socket_abuse -- --nocapture`.

use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mentor_shared::chat::{ChatMessage, MessageState, Role, TurnOutcome};
use mentor_shared::ids::NotebookId;
use mentor_shared::jobs::{Cursor, EventBody, EventFilter, EventKinds, EventsRequest};
use mentor_shared::paths::Dirs;
use mentor_shared::service::MentorClient;
use mentor_tests::openai::{last_message, Reply, ScriptedServer};
use mentor_tests::rpc::{answer, connect, ctx, head};
use mentor_tests::TestEnv;
use serde_json::{json, Value};

/// How long a bad connection may stay open before the daemon closes it.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);
/// Half-frame connections each storm thread holds open at once.
const HELD_PER_THREAD: usize = 16;
/// How often the daemon's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// The phases memory is reported for.
const PHASES: [&str; 5] = [
    "setup",
    "never-readers",
    "storm + learners",
    "drain",
    "second storm",
];
/// The daemon's default frame limit (the test does not change it).
const MAX_FRAME: u32 = mentor_shared::wire::DEFAULT_MAX_FRAME as u32;

/// The sizes and bounds of a run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    frames: usize,
    clients: usize,
    stalled: usize,
    stalled_requests: usize,
    honest: usize,
    threads: usize,
    max_rss_mib: f64,
    max_p99_ms: f64,
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Sizes {
    fn from_env() -> Sizes {
        Sizes {
            frames: env_or("MENTOR_ABUSE_FRAMES", 10_000),
            clients: env_or("MENTOR_ABUSE_CLIENTS", 200),
            stalled: env_or("MENTOR_ABUSE_STALLED", 50),
            stalled_requests: env_or("MENTOR_ABUSE_STALLED_REQUESTS", 200),
            honest: env_or("MENTOR_ABUSE_HONEST", 6).max(1),
            threads: env_or("MENTOR_ABUSE_THREADS", 8).max(1),
            max_rss_mib: env_or("MENTOR_ABUSE_MAX_RSS_MB", 200) as f64,
            max_p99_ms: env_or("MENTOR_ABUSE_MAX_P99_MS", 2000) as f64,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Frames

/// A frame: the 4-byte big-endian length, then the payload.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// A tarpc request context as JSON, with a relative deadline.
fn context(deadline_secs: u64) -> Value {
    json!({
        "deadline": {"secs": deadline_secs, "nanos": 0},
        "trace_context": {"trace_id": vec![0u8; 16], "span_id": 0, "sampling_decision": "Unsampled"},
    })
}

/// A framed request envelope.
fn request(id: u64, message: Value, deadline_secs: u64) -> Vec<u8> {
    let envelope =
        json!({"Request": {"context": context(deadline_secs), "id": id, "message": message}});
    frame(envelope.to_string().as_bytes())
}

/// A framed request envelope with `pad` bytes of an unknown field (ignored by the daemon), so
/// that a few of them fill a socket's buffer.
fn padded_request(id: u64, message: Value, deadline_secs: u64, pad: usize) -> Vec<u8> {
    let envelope = json!({"Request": {
        "context": context(deadline_secs), "id": id, "message": message, "pad": "x".repeat(pad),
    }});
    frame(envelope.to_string().as_bytes())
}

fn hello(protocol: u64) -> Value {
    json!({"Hello": {"hello": {"protocol": protocol, "client_version": "socket-abuse"}}})
}

/// A small deterministic generator (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The kinds of abuse, sent in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Random bytes (the first four are a random length), then the client closes.
    RandomBytes,
    /// A valid length prefix with random bytes as the payload.
    RandomPayload,
    /// A valid length prefix with broken JSON.
    BrokenJson,
    /// A frame of length zero.
    Empty,
    /// The prefix says N; fewer bytes come, then the client closes.
    Truncated,
    /// A prefix above the limit (limit + 1 up to 64 MiB).
    Oversize,
    /// A prefix of `u32::MAX`.
    MaxPrefix,
    /// Valid JSON that is not a valid message.
    WrongShape,
    /// JSON nested far deeper than any parser should follow.
    DeepNesting,
    /// A request whose deadline is so far away that it overflows the clock or tarpc's timers.
    FarDeadline,
    /// A request before the handshake (refused), then a bad frame.
    BeforeHello,
    /// A `hello` of another protocol version (refused), then a request (refused too).
    WrongVersion,
    /// Half a small frame, then silence.
    HalfThenSilence,
    /// 64 KiB of a frame that announces the full 8 MiB, then silence.
    BigHalfThenSilence,
}

const KINDS: [Kind; 14] = [
    Kind::RandomBytes,
    Kind::RandomPayload,
    Kind::BrokenJson,
    Kind::Empty,
    Kind::Truncated,
    Kind::Oversize,
    Kind::MaxPrefix,
    Kind::WrongShape,
    Kind::DeepNesting,
    Kind::FarDeadline,
    Kind::BeforeHello,
    Kind::WrongVersion,
    Kind::HalfThenSilence,
    Kind::BigHalfThenSilence,
];

/// The kinds this run sends: all, or those named in `MENTOR_ABUSE_KINDS` (comma-separated,
/// e.g. `Oversize,Truncated`), to study one kind alone.
fn kinds() -> Vec<Kind> {
    let chosen = std::env::var("MENTOR_ABUSE_KINDS").unwrap_or_default();
    let named: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| chosen.split(',').any(|c| c.trim() == format!("{k:?}")))
        .collect();
    if named.is_empty() {
        KINDS.to_vec()
    } else {
        named
    }
}

/// Valid JSON that is not a client message.
fn wrong_shapes() -> Vec<Value> {
    vec![
        Value::Null,
        json!(42),
        json!("Request"),
        json!([]),
        json!({}),
        json!({"Request": {}}),
        json!({"Request": {"id": 1}}),
        json!({"Request": {"context": context(10), "id": 1, "message": {"NoSuchMethod": {}}}}),
        json!({"Request": {"context": context(10), "id": 1, "message": {"NotebookShow": {"notebook": 42}}}}),
        json!({"Request": {"context": context(10), "id": -1, "message": {"Status": {}}}}),
        json!({"Request": {"context": {"deadline": {"secs": 1, "nanos": 0}}, "id": 1, "message": {"Status": {}}}}),
        json!({"Request": {"context": context(10), "id": 1, "message": {"Hello": {"hello": {"protocol": "five"}}}}}),
        json!({"Cancel": {"request_id": "seven"}}),
        json!({"request_id": 1, "message": {"Ok": {"Status": {"Ok": null}}}}),
    ]
}

/// What a storm connection showed.
#[derive(Debug)]
enum Seen {
    /// The daemon closed it without a word.
    Closed,
    /// The daemon refused the request as it should, then (for a bad frame) closed it.
    Refused,
    /// Held open (half a frame, silence).
    Held(UnixStream),
}

/// Reads until the daemon closes the connection; an answer or a connection still open after
/// [`CLOSE_WITHIN`] is an error.
fn expect_closed(s: &mut UnixStream) -> Result<(), String> {
    s.set_read_timeout(Some(CLOSE_WITHIN))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                return Err(format!(
                    "answered a bad frame: {:?}",
                    String::from_utf8_lossy(&buf[..n.min(300)])
                ))
            }
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                return Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!("still open after {CLOSE_WITHIN:?}"))
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// Reads one answer frame (as text).
fn read_answer(s: &mut UnixStream) -> Result<String, String> {
    s.set_read_timeout(Some(CLOSE_WITHIN))
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head)
        .map_err(|e| format!("no answer: {e}"))?;
    let len = u32::from_be_bytes(head) as usize;
    if len > 1 << 20 {
        return Err(format!("an answer of {len} bytes"));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)
        .map_err(|e| format!("half an answer: {e}"))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Writes, ignoring a daemon that already hung up (it may close before reading it all).
fn send(s: &mut UnixStream, bytes: &[u8]) -> Result<(), String> {
    match s.write_all(bytes) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => Ok(()),
        Err(e) => Err(format!("write: {e}")),
    }
}

/// An answer must carry this error code.
fn expect_code(answer: &str, code: &str) -> Result<(), String> {
    if answer.contains(&format!("\"code\":\"{code}\"")) {
        Ok(())
    } else {
        Err(format!("expected {code}, got {answer}"))
    }
}

/// One abusive connection.
fn abuse(socket: &Path, kind: Kind, n: usize, rng: &mut Rng, kept: &str) -> Result<Seen, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    s.set_write_timeout(Some(CLOSE_WITHIN))
        .map_err(|e| e.to_string())?;
    match kind {
        Kind::RandomBytes => {
            let len = 1 + rng.below(512) as usize;
            send(&mut s, &rng.bytes(len))?;
            let _ = s.shutdown(std::net::Shutdown::Write);
            expect_closed(&mut s)?;
        }
        Kind::RandomPayload => {
            let len = 1 + rng.below(512) as usize;
            let mut payload = rng.bytes(len);
            // Never valid JSON: no JSON text starts with a NUL.
            payload[0] = 0;
            send(&mut s, &frame(&payload))?;
            expect_closed(&mut s)?;
        }
        Kind::BrokenJson => {
            let broken: [&[u8]; 6] = [
                b"{not json",
                br#"{"Request":"#,
                br#"{"Request":{"context":"#,
                b"\xff\xfe\x00\x01",
                br#"{"Request":{"id":1,"message":{"Status":{}}}"#,
                b"\"\xc3\x28\"",
            ];
            send(&mut s, &frame(broken[n % broken.len()]))?;
            expect_closed(&mut s)?;
        }
        Kind::Empty => {
            send(&mut s, &frame(b""))?;
            expect_closed(&mut s)?;
        }
        Kind::Truncated => {
            let whole = request(1, json!({"Status": {}}), 10);
            // A prefix of a valid request, or random bytes under a prefix that promises more.
            let bytes = if n.is_multiple_of(2) {
                let cut = 1 + rng.below(whole.len() as u64 - 1) as usize;
                whole[..cut].to_vec()
            } else {
                let promised = 64 + rng.below(64 * 1024) as u32;
                let mut b = promised.to_be_bytes().to_vec();
                let sent = rng.below(u64::from(promised)) as usize;
                b.extend(rng.bytes(sent));
                b
            };
            send(&mut s, &bytes)?;
            let _ = s.shutdown(std::net::Shutdown::Write);
            expect_closed(&mut s)?;
        }
        Kind::Oversize => {
            let len = MAX_FRAME + 1 + rng.below(u64::from(64 * 1024 * 1024 - MAX_FRAME)) as u32;
            let mut b = len.to_be_bytes().to_vec();
            b.extend(rng.bytes(256));
            send(&mut s, &b)?;
            expect_closed(&mut s)?;
        }
        Kind::MaxPrefix => {
            let mut b = u32::MAX.to_be_bytes().to_vec();
            b.extend_from_slice(b"{\"Request\":");
            send(&mut s, &b)?;
            expect_closed(&mut s)?;
        }
        Kind::WrongShape => {
            let shapes = wrong_shapes();
            let shape = &shapes[n % shapes.len()];
            send(&mut s, &frame(shape.to_string().as_bytes()))?;
            expect_closed(&mut s)?;
        }
        Kind::DeepNesting => {
            let depth = 10_000;
            let mut payload = "[".repeat(depth).into_bytes();
            payload.extend("]".repeat(depth).into_bytes());
            send(&mut s, &frame(&payload))?;
            expect_closed(&mut s)?;
        }
        Kind::FarDeadline => {
            // Past the clock's range, past tarpc's timer wheel (about two years), or a long
            // deadline that is still fine (300 days: an ordinary request, refused only for
            // want of a handshake).
            const DAY: u64 = 24 * 60 * 60;
            let secs = [u64::MAX, 1 << 63, i64::MAX as u64, 3 * 365 * DAY, 300 * DAY][n % 5];
            send(&mut s, &request(1, json!({"Status": {}}), secs))?;
            if secs == 300 * DAY {
                expect_code(&read_answer(&mut s)?, "handshake_required")?;
                return Ok(Seen::Refused);
            }
            expect_closed(&mut s)?;
        }
        Kind::BeforeHello => {
            let asks = [
                json!({"NotebookList": {}}),
                json!({"Shutdown": {}}),
                json!({"NotebookDelete": {"notebook": kept}}),
                json!({"ChatSend": {"notebook": kept, "text": "smuggled before the handshake"}}),
                json!({"NotebookCreate": {"title": "smuggled", "module_prompt": null}}),
            ];
            send(&mut s, &request(7, asks[n % asks.len()].clone(), 10))?;
            let got = read_answer(&mut s)?;
            expect_code(&got, "handshake_required")?;
            send(&mut s, &frame(b"{oops"))?;
            expect_closed(&mut s)?;
            return Ok(Seen::Refused);
        }
        Kind::WrongVersion => {
            let current = u64::from(mentor_shared::PROTOCOL_VERSION);
            let protocol = [0, current - 1, current + 1, 999, u64::from(u32::MAX)][n % 5];
            send(&mut s, &request(1, hello(protocol), 10))?;
            expect_code(&read_answer(&mut s)?, "version_mismatch")?;
            let ask = if n.is_multiple_of(2) {
                json!({"Shutdown": {}})
            } else {
                json!({"NotebookDelete": {"notebook": kept}})
            };
            send(&mut s, &request(2, ask, 10))?;
            expect_code(&read_answer(&mut s)?, "handshake_required")?;
            return Ok(Seen::Refused);
        }
        Kind::HalfThenSilence => {
            let whole = request(1, json!({"NotebookList": {}}), 10);
            send(&mut s, &whole[..whole.len() / 2])?;
            return Ok(Seen::Held(s));
        }
        Kind::BigHalfThenSilence => {
            let mut b = MAX_FRAME.to_be_bytes().to_vec();
            b.extend(vec![b' '; 64 * 1024]);
            send(&mut s, &b)?;
            return Ok(Seen::Held(s));
        }
    }
    Ok(Seen::Closed)
}

/// Per-kind counts of a storm.
#[derive(Debug, Default, Clone)]
struct Tally {
    sent: usize,
    closed: usize,
    refused: usize,
    held: usize,
    failures: Vec<String>,
    failed: usize,
}

type Tallies = BTreeMap<Kind, Tally>;

/// One storm thread: connections `from..to` of the storm.
fn storm(
    socket: PathBuf,
    kept: String,
    from: usize,
    to: usize,
    seed: u64,
) -> (Tallies, Vec<UnixStream>) {
    let mut rng = Rng::new(seed);
    let mut tallies = Tallies::new();
    let mut held = VecDeque::new();
    let kinds = kinds();
    for n in from..to {
        let kind = kinds[n % kinds.len()];
        let tally = tallies.entry(kind).or_default();
        tally.sent += 1;
        match abuse(&socket, kind, n / kinds.len(), &mut rng, &kept) {
            Ok(Seen::Closed) => tally.closed += 1,
            Ok(Seen::Refused) => tally.refused += 1,
            Ok(Seen::Held(s)) => {
                tally.held += 1;
                held.push_back(s);
                if held.len() > HELD_PER_THREAD {
                    // The oldest goes: its half frame is cut off by the close.
                    held.pop_front();
                }
            }
            Err(e) => {
                tally.failed += 1;
                if tally.failures.len() < 5 {
                    tally.failures.push(format!("#{n}: {e}"));
                }
            }
        }
    }
    (tallies, held.into())
}

/// A storm thread: its counts, the half frames it still holds, and when it ended.
type StormThread = std::thread::JoinHandle<((Tallies, Vec<UnixStream>), Instant)>;

/// A storm under way: `frames` connections shared among `threads` threads.
struct Storm {
    started: Instant,
    threads: Vec<StormThread>,
}

impl Storm {
    fn start(socket: &Path, kept: &str, frames: usize, threads: usize, seed: u64) -> Storm {
        let started = Instant::now();
        let per_thread = frames.div_ceil(threads);
        let threads = (0..threads)
            .map(|t| {
                let (socket, kept) = (socket.to_path_buf(), kept.to_string());
                let from = (t * per_thread).min(frames);
                let to = ((t + 1) * per_thread).min(frames);
                let seed = seed + t as u64;
                std::thread::spawn(move || (storm(socket, kept, from, to, seed), Instant::now()))
            })
            .collect();
        Storm { started, threads }
    }

    /// Waits for every thread: the counts, the half frames still held, and how long it took.
    fn finish(self) -> (Tallies, Vec<UnixStream>, Duration) {
        let mut tallies = Tallies::new();
        let mut held = Vec::new();
        let mut took = Duration::ZERO;
        for t in self.threads {
            let ((part, still_held), ended) = t.join().expect("a storm thread");
            took = took.max(ended - self.started);
            held.extend(still_held);
            for (kind, tally) in part {
                let all = tallies.entry(kind).or_default();
                all.sent += tally.sent;
                all.closed += tally.closed;
                all.refused += tally.refused;
                all.held += tally.held;
                all.failed += tally.failed;
                all.failures.extend(tally.failures);
            }
        }
        (tallies, held, took)
    }
}

// ---------------------------------------------------------------------------------------
// Memory

fn proc_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix(key))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// CPU time the process has used (user + system), from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // After the command name (which ends with the last ')'): utime and stime are the 12th and
    // 13th fields, in clock ticks.
    let fields: Vec<&str> = stat[stat.rfind(')').map_or(0, |i| i + 2)..]
        .split(' ')
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Samples the daemon's VmRSS every [`SAMPLE_EVERY`]; keeps the peak of each phase. Past
/// `hard_cap_kib` it raises `over` (the never-readers stop pushing, so a daemon that hoards
/// does not take the machine down with it; the test then fails on the bound).
struct Memory {
    stop: Arc<AtomicBool>,
    phase: Arc<AtomicUsize>,
    over: Arc<AtomicBool>,
    peaks: Arc<Mutex<[u64; PHASES.len()]>>,
    samples: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Memory {
    fn watch(pid: u32, hard_cap_kib: u64) -> Memory {
        let stop = Arc::new(AtomicBool::new(false));
        let phase = Arc::new(AtomicUsize::new(0));
        let over = Arc::new(AtomicBool::new(false));
        let peaks = Arc::new(Mutex::new([0; PHASES.len()]));
        let samples = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, phase, over, peaks, samples) = (
                stop.clone(),
                phase.clone(),
                over.clone(),
                peaks.clone(),
                samples.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = proc_kib(pid, "VmRSS:") {
                        let p = phase.load(Ordering::Relaxed);
                        let mut peaks = peaks.lock().unwrap_or_else(|e| e.into_inner());
                        peaks[p] = peaks[p].max(rss);
                        samples.fetch_add(1, Ordering::Relaxed);
                        if rss > hard_cap_kib {
                            over.store(true, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Memory {
            stop,
            phase,
            over,
            peaks,
            samples,
            thread: Some(thread),
        }
    }

    /// Starts a phase, with a sample that closes the previous one.
    fn enter(&self, phase: usize, pid: u32) {
        if let Some(rss) = proc_kib(pid, "VmRSS:") {
            let mut peaks = self.peaks.lock().unwrap_or_else(|e| e.into_inner());
            let p = self.phase.load(Ordering::Relaxed);
            peaks[p] = peaks[p].max(rss);
            peaks[phase] = peaks[phase].max(rss);
        }
        self.phase.store(phase, Ordering::Relaxed);
    }

    fn finish(mut self) -> ([u64; PHASES.len()], usize) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let peaks = *self.peaks.lock().unwrap_or_else(|e| e.into_inner());
        (peaks, self.samples.load(Ordering::Relaxed))
    }
}

// ---------------------------------------------------------------------------------------
// Clients that never read

/// Bytes of padding in each of a never-reader's requests: 200 of them are far more than a
/// socket buffer holds, so how many went out shows whether the daemon kept reading.
const NEVER_READER_PAD: usize = 4000;

/// A connection that writes requests (as many as the kernel takes, never blocking) and never
/// reads a byte.
struct NeverReader {
    subscriber: bool,
    stream: UnixStream,
    bytes: Vec<u8>,
    /// Where each request ends in `bytes`.
    ends: Vec<usize>,
    written: usize,
}

impl NeverReader {
    fn open(socket: &Path, requests: usize, subscriber: bool, cursor: Cursor) -> NeverReader {
        let stream = UnixStream::connect(socket).expect("a never-reader connects");
        stream
            .set_nonblocking(true)
            .expect("a non-blocking never-reader");
        let mut bytes = request(0, hello(u64::from(mentor_shared::PROTOCOL_VERSION)), 3600);
        let mut ends = Vec::with_capacity(requests);
        for id in 1..=requests as u64 {
            let message = if subscriber {
                json!({"EventsNext": {"request": {
                    "after": {"epoch": cursor.epoch, "seq": cursor.seq},
                    "max_wait_ms": 60_000, "max_events": 1000,
                    "filter": {"job": null, "notebook": null}, "linger_ms": 0,
                    "coalesce_progress": false,
                }}})
            } else {
                json!({"NotebookList": {}})
            };
            // An hour: the daemon does not get to drop them for lateness.
            bytes.extend(padded_request(id, message, 3600, NEVER_READER_PAD));
            ends.push(bytes.len());
        }
        NeverReader {
            subscriber,
            stream,
            bytes,
            ends,
            written: 0,
        }
    }

    /// Writes what the socket takes now.
    fn push(&mut self) {
        while self.written < self.bytes.len() {
            match self.stream.write(&self.bytes[self.written..]) {
                Ok(0) => return,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Requests written whole (taken by the kernel; the daemon may not have read them).
    fn sent(&self) -> usize {
        self.ends.iter().take_while(|&&e| e <= self.written).count()
    }

    /// At the very end, reading at last (until nothing more is there): what the daemon had
    /// put in the socket, as (answers, requests refused as throttled).
    fn received(&mut self) -> (usize, usize) {
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let (mut answers, mut throttled, mut at) = (0, 0, 0);
        while at + 4 <= bytes.len() {
            let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
            let end = at + 4 + len as usize;
            if end > bytes.len() {
                break;
            }
            let text = String::from_utf8_lossy(&bytes[at + 4..end]);
            if text.contains("server throttled the request") {
                throttled += 1;
            } else if !text.contains("\"Hello\"") {
                answers += 1;
            }
            at = end;
        }
        (answers, throttled)
    }
}

// ---------------------------------------------------------------------------------------
// Honest clients and learners

fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An honest client: `status` and `notebook_show` in turn until `stop`, with a short pause
/// between calls; returns each call's latency in ms, and the errors.
fn honest(dirs: Dirs, kept: String, stop: Arc<AtomicBool>) -> (Vec<f64>, Vec<String>) {
    let rt = runtime();
    let client = rt
        .block_on(connect(&dirs))
        .expect("an honest client connects");
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let result = rt.block_on(async {
            if n.is_multiple_of(2) {
                answer(client.status(ctx(Duration::from_secs(10))).await).map(|_| ())
            } else {
                answer(
                    client
                        .notebook_show(ctx(Duration::from_secs(10)), kept.clone())
                        .await,
                )
                .map(|_| ())
            }
        });
        match result {
            Ok(()) => latencies.push(ms(started.elapsed())),
            Err(e) => errors.push(format!("call {n}: {e:#}")),
        }
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    (latencies, errors)
}

fn question(i: usize) -> String {
    format!("Question {i}: what does chlorophyll do?")
}

fn reply_to(i: usize) -> String {
    format!("Answer {i}: chlorophyll captures the light.")
}

/// The scripted teacher: answers question i with answer i.
fn teacher(request: &Value) -> Reply {
    let (_, text) = last_message(request);
    let i = text
        .strip_prefix("Question ")
        .and_then(|t| t.split(':').next())
        .and_then(|n| n.parse::<usize>().ok());
    match i {
        Some(i) => Reply::text(&reply_to(i)),
        None => Reply::text("Chlorophyll captures the light."),
    }
}

/// One learner: connects, subscribes to its notebook's conversation, sends question `i` and
/// follows the events until its turn ends. Returns the turn's latency (send to end) in ms.
async fn learner(dirs: Dirs, notebook: NotebookId, i: usize) -> Result<f64, String> {
    let client = connect(&dirs)
        .await
        .map_err(|e| format!("connect: {e:#}"))?;
    let long = Duration::from_secs(30);
    let mut cursor = mentor_tests::rpc::cursor_now(&client)
        .await
        .map_err(|e| format!("cursor: {e:#}"))?;
    let sent_at = Instant::now();
    answer(
        client
            .chat_send(ctx(long), notebook.to_string(), question(i))
            .await,
    )
    .map_err(|e| format!("chat_send: {e:#}"))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reply: Option<ChatMessage> = None;
    loop {
        if Instant::now() > deadline {
            return Err(format!(
                "no end of turn within 120 s (reply so far: {reply:?})"
            ));
        }
        let next = EventsRequest {
            after: Some(cursor),
            max_wait_ms: 10_000,
            max_events: 1000,
            filter: EventFilter {
                job: None,
                notebook: Some(notebook),
                kinds: EventKinds::Conversation,
            },
            linger_ms: 0,
            coalesce_progress: false,
        };
        let batch = answer(client.events_next(ctx(long), next).await)
            .map_err(|e| format!("events: {e:#}"))?;
        if batch.reload {
            // Fell out of the bus's bounded history (a long run with many learners): the
            // conversation itself says how the turn ended.
            return from_history(&client, notebook, i, sent_at, deadline).await;
        }
        cursor = batch.cursor;
        for event in batch.events {
            match event.body {
                EventBody::MessageDone { message } if message.role == Role::Assistant => {
                    reply = Some(message);
                }
                EventBody::TurnEnded { outcome, .. } => {
                    let took = ms(sent_at.elapsed());
                    if outcome != TurnOutcome::Completed {
                        return Err(format!("turn ended {outcome:?}"));
                    }
                    let Some(reply) = reply else {
                        return Err("the turn ended without a reply".into());
                    };
                    if reply.state != MessageState::Complete || reply.text != reply_to(i) {
                        return Err(format!("wrong reply: {:?} {:?}", reply.state, reply.text));
                    }
                    return Ok(took);
                }
                _ => {}
            }
        }
    }
}

/// Learners whose events were missed and who read the conversation instead.
static RELOADED: AtomicUsize = AtomicUsize::new(0);

/// A learner's turn as the conversation tells it, once it is no longer busy.
async fn from_history(
    client: &MentorClient,
    notebook: NotebookId,
    i: usize,
    sent_at: Instant,
    deadline: Instant,
) -> Result<f64, String> {
    RELOADED.fetch_add(1, Ordering::Relaxed);
    loop {
        let history = answer(
            client
                .chat_history(ctx(Duration::from_secs(30)), notebook.to_string(), 0)
                .await,
        )
        .map_err(|e| format!("history: {e:#}"))?;
        let reply = history
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant);
        if let (false, Some(reply)) = (history.busy, reply) {
            if reply.state != MessageState::Complete || reply.text != reply_to(i) {
                return Err(format!("wrong reply: {:?} {:?}", reply.state, reply.text));
            }
            return Ok(ms(sent_at.elapsed()));
        }
        if Instant::now() > deadline {
            return Err(format!("still busy after 120 s: {:?}", history.messages));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// A client of another uid

/// The uid the other client runs as.
const NOBODY: u32 = 65534;

/// Not a test of its own: the body of the other uid's client. The main test runs this binary
/// as `nobody` with `MENTOR_ABUSE_PEER_SOCKET` set; without it, this does nothing. Each
/// attempt prints one `PEER` line: `refused-at-connect <error kind>`, `closed` (no answer)
/// or `answered <bytes>`.
#[test]
fn peer_of_another_uid() {
    let Some(socket) = std::env::var_os("MENTOR_ABUSE_PEER_SOCKET") else {
        return;
    };
    let attempts = env_or("MENTOR_ABUSE_PEER_ATTEMPTS", 10);
    for _ in 0..attempts {
        let mut s = match UnixStream::connect(&socket) {
            Ok(s) => s,
            Err(e) => {
                println!("PEER refused-at-connect {:?}", e.kind());
                continue;
            }
        };
        let _ = s.write_all(&request(
            1,
            hello(u64::from(mentor_shared::PROTOCOL_VERSION)),
            10,
        ));
        let _ = s.write_all(&request(2, json!({"Shutdown": {}}), 10));
        match expect_closed(&mut s) {
            Ok(()) => println!("PEER closed"),
            Err(e) => println!("PEER answered {e}"),
        }
    }
}

/// What the other uid's attempts came to, per line; `Err` says why it could not run.
fn as_nobody(socket: &Path, attempts: usize) -> Result<Vec<String>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(&exe)
        .args([
            "--exact",
            "peer_of_another_uid",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MENTOR_ABUSE_PEER_SOCKET", socket)
        .env("MENTOR_ABUSE_PEER_ATTEMPTS", attempts.to_string())
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .map_err(|e| format!("cannot run {} as nobody: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = stdout
        .lines()
        // The harness's "test … " may share the first line.
        .filter_map(|l| l.find("PEER ").map(|at| l[at + 5..].to_string()))
        .collect();
    if !out.status.success() || lines.len() != attempts {
        return Err(format!(
            "{} as nobody: {:?}\n{stdout}\n{}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(lines)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// Lines with how often each came: "10× closed".
fn counted(lines: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in lines {
        *counts.entry(l.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(l, n)| format!("{n}× {l}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the other uid saw, through both doors.
struct PeerReport {
    private_dir: Vec<String>,
    opened_up: Vec<String>,
}

/// Runs the other uid's client twice: with the runtime directory private, then with it and
/// the socket opened up (a temporary home: nothing else is exposed). `Err`: skipped, why.
fn other_uid(env: &TestEnv, attempts: usize) -> Result<PeerReport, String> {
    if !is_root() {
        return Err("not running as root, so no client of another uid".into());
    }
    let dirs = env.dirs();
    let socket = dirs.socket();
    // `nobody` must reach the home to reach the runtime directory inside it.
    chmod(env.path(), 0o755);
    let private_dir = as_nobody(&socket, attempts);
    chmod(&dirs.runtime, 0o711);
    chmod(&socket, 0o666);
    let opened_up = as_nobody(&socket, attempts);
    chmod(&socket, 0o600);
    chmod(&dirs.runtime, 0o700);
    chmod(env.path(), 0o700);
    Ok(PeerReport {
        private_dir: private_dir?,
        opened_up: opened_up?,
    })
}

// ---------------------------------------------------------------------------------------
// The test

/// Waits (up to `within`) until the daemon uses less than half a core over a quarter of a
/// second; returns how long that took.
fn wait_quiet(pid: u32, within: Duration) -> Duration {
    let started = Instant::now();
    let window = Duration::from_millis(250);
    loop {
        let before = cpu_time(pid);
        std::thread::sleep(window);
        let busy = (cpu_time(pid) - before).as_secs_f64() / window.as_secs_f64();
        if busy < 0.5 || started.elapsed() > within {
            return started.elapsed();
        }
    }
}

#[track_caller]
fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The conversation and the notebook stored before the storm, as they read now.
fn snapshot(
    rt: &tokio::runtime::Runtime,
    client: &MentorClient,
    kept: &str,
) -> (Value, Vec<ChatMessage>) {
    rt.block_on(async {
        let notebook = answer(
            client
                .notebook_show(ctx(Duration::from_secs(10)), kept.into())
                .await,
        )
        .expect("the kept notebook");
        let history = answer(
            client
                .chat_history(ctx(Duration::from_secs(10)), kept.into(), 0)
                .await,
        )
        .expect("the kept conversation");
        (
            serde_json::to_value(notebook).expect("notebook as JSON"),
            history.messages,
        )
    })
}

/// Waits (up to `within`) until the checker's connection is the only one counted; the count
/// then and how long it took.
fn drained(
    rt: &tokio::runtime::Runtime,
    checker: &MentorClient,
    within: Duration,
) -> (u32, Duration) {
    let since = Instant::now();
    let mut left = connections(rt, checker);
    while left > 1 && since.elapsed() < within {
        std::thread::sleep(Duration::from_millis(20));
        left = connections(rt, checker);
    }
    (left, since.elapsed())
}

fn connections(rt: &tokio::runtime::Runtime, client: &MentorClient) -> u32 {
    rt.block_on(async { answer(client.status(ctx(Duration::from_secs(10))).await) })
        .expect("status")
        .connections
}

/// The frame limit the tests give the daemon (`daemon.frame_timeout_ms`; 10 s by default).
const FRAME_TIMEOUT_MS: u64 = 3000;

/// Reads the answer to the handshake.
fn shake_hands(s: &mut UnixStream) -> Result<(), String> {
    send(
        s,
        &request(0, hello(u64::from(mentor_shared::PROTOCOL_VERSION)), 60),
    )?;
    let answer = read_answer(s)?;
    if answer.contains("\"Ok\"") {
        Ok(())
    } else {
        Err(format!("handshake: {answer}"))
    }
}

/// A client that stops in the middle of a frame is cut off once the frame has taken longer
/// than `daemon.frame_timeout_ms`, sending a byte now and then or not; one that leaves while a
/// long-poll waits for events is let go at once, not when the long-poll would have ended.
#[test]
fn half_frames_are_cut_off_and_leaving_clients_are_let_go_at_once() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "[daemon]\nframe_timeout_ms = {FRAME_TIMEOUT_MS}\n"
    ));
    env.mentor(&["daemon", "start"]).ok();
    let dirs = env.dirs();
    let socket = dirs.socket();
    let rt = runtime();
    let checker = rt.block_on(connect(&dirs)).expect("connect");
    let limit = Duration::from_millis(FRAME_TIMEOUT_MS);

    // Half a length prefix; a whole prefix and half the payload; the same, trickled.
    let status = request(1, json!({"Status": {}}), 60);
    let cuts: [(&str, &[u8], bool); 3] = [
        ("half a length prefix", &status[..2], false),
        ("half a payload", &status[..status.len() / 2], false),
        (
            "half a payload, a byte at a time",
            &status[..status.len() / 2],
            true,
        ),
    ];
    for (what, bytes, trickle) in cuts {
        let mut s = UnixStream::connect(&socket).expect("connect");
        shake_hands(&mut s).unwrap_or_else(|e| panic!("{what}: {e}"));
        let began = Instant::now();
        if trickle {
            for byte in bytes {
                send(&mut s, std::slice::from_ref(byte)).expect("write");
                std::thread::sleep(limit / 4);
                if began.elapsed() > limit * 2 {
                    break;
                }
            }
        } else {
            send(&mut s, bytes).expect("write");
        }
        expect_closed(&mut s).unwrap_or_else(|e| panic!("{what}: {e}"));
        let took = began.elapsed();
        assert!(
            took >= limit,
            "{what}: closed after {took:?}, before the frame limit of {limit:?}"
        );
    }
    let log = env.log();
    assert!(
        log.matches("stopped in the middle of a frame").count() >= 3,
        "{log}"
    );

    // A whole frame sent slowly enough, and silence between frames, are fine.
    let mut s = UnixStream::connect(&socket).expect("connect");
    shake_hands(&mut s).expect("handshake");
    std::thread::sleep(limit + Duration::from_millis(500));
    send(&mut s, &status[..3]).expect("write");
    std::thread::sleep(limit / 4);
    send(&mut s, &status[3..]).expect("write");
    let answer = read_answer(&mut s).expect("the status after a pause");
    assert!(answer.contains("\"Ok\""), "{answer}");

    // A long-poll of a minute, then the client leaves.
    let cursor = head(&rt, &checker);
    let mut waiting = Vec::new();
    for id in 0..4u64 {
        let mut s = UnixStream::connect(&socket).expect("connect");
        shake_hands(&mut s).expect("handshake");
        let poll = json!({"EventsNext": {"request": {
            "after": {"epoch": cursor.epoch, "seq": cursor.seq},
            "max_wait_ms": 60_000, "max_events": 10,
            "filter": {"job": null, "notebook": null}, "linger_ms": 0,
            "coalesce_progress": false,
        }}});
        send(&mut s, &request(id + 1, poll, 120)).expect("write");
        waiting.push(s);
    }
    let wait_until = Instant::now() + Duration::from_secs(10);
    while connections(&rt, &checker) < 1 + 4 + 1 && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        connections(&rt, &checker),
        6,
        "the checker, 4 long-polls and `s`"
    );
    drop(s);
    drop(waiting);
    let (left, took) = drained(&rt, &checker, Duration::from_secs(20));
    assert_eq!(left, 1, "connections counted 20 s after the clients left");
    assert!(
        took < Duration::from_secs(10),
        "the daemon took {took:?} to let go of clients that left during a long-poll"
    );
    env.mentor(&["daemon", "stop"]).ok();
}

#[test]
fn the_daemon_survives_socket_abuse() {
    let sizes = Sizes::from_env();
    let server = ScriptedServer::start();
    server.forget_bodies();
    server.set_responder(teacher);
    let env = TestEnv::new();
    env.use_model(
        &server.base_url(),
        &format!("max_concurrent = 16\n\n[daemon]\nframe_timeout_ms = {FRAME_TIMEOUT_MS}"),
    );
    env.mentor(&["daemon", "start"]).ok();
    // From here: `mentor` above built the binaries if they were not up to date.
    let began = Instant::now();
    let pid = env.daemon_pid().expect("the daemon's pid");
    let dirs = env.dirs();
    let socket = dirs.socket();
    let hard_cap_kib = (sizes.max_rss_mib * 1024.0 * 3.0) as u64;
    let memory = Memory::watch(pid, hard_cap_kib);
    let rss_idle = proc_kib(pid, "VmRSS:").unwrap_or(0);

    // What must survive: a notebook and a finished exchange in it.
    let rt = runtime();
    let checker = rt.block_on(connect(&dirs)).expect("connect");
    let kept = rt
        .block_on(async {
            answer(
                checker
                    .notebook_create(
                        ctx(Duration::from_secs(10)),
                        "Kept through the storm".into(),
                        None,
                    )
                    .await,
            )
        })
        .expect("create the kept notebook")
        .id
        .to_string();
    let turn = rt.block_on(learner(
        dirs.clone(),
        kept.parse().expect("a notebook id"),
        0,
    ));
    turn.expect("the kept notebook's first exchange");
    let before = snapshot(&rt, &checker, &kept);
    assert_eq!(before.1.len(), 2, "{:#?}", before.1);

    // The learners' notebooks, with long titles: `notebook_list` becomes a large answer.
    let notebooks: Vec<NotebookId> = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..sizes.clients {
            let title = format!("Learner {i:04} {}", "photosynthesis ".repeat(12));
            let nb = answer(
                checker
                    .notebook_create(ctx(Duration::from_secs(10)), title.trim().into(), None)
                    .await,
            )
            .expect("a learner's notebook");
            ids.push(nb.id);
        }
        ids
    });
    let cursor = head(&rt, &checker);
    let rss_setup = proc_kib(pid, "VmRSS:").unwrap_or(0);

    let setup_took = began.elapsed();

    // Honest clients, from now to the end.
    let stop_honest = Arc::new(AtomicBool::new(false));
    let honest_threads: Vec<_> = (0..sizes.honest)
        .map(|_| {
            let (dirs, kept, stop) = (dirs.clone(), kept.clone(), stop_honest.clone());
            std::thread::spawn(move || honest(dirs, kept, stop))
        })
        .collect();

    // Clients that never read, pushing requests from now to the end.
    let mut cpu_marks = vec![cpu_time(pid)];
    memory.enter(1, pid);
    let stop_pushing = Arc::new(AtomicBool::new(false));
    let never_readers: Vec<NeverReader> = (0..sizes.stalled)
        .map(|k| NeverReader::open(&socket, sizes.stalled_requests, k % 2 == 1, cursor))
        .collect();
    let pusher = {
        let (stop, over) = (stop_pushing.clone(), memory.over.clone());
        std::thread::spawn(move || {
            let mut never_readers = never_readers;
            while !stop.load(Ordering::Relaxed) {
                if !over.load(Ordering::Relaxed) {
                    for r in &mut never_readers {
                        r.push();
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            never_readers
        })
    };
    wait_until(
        "the never-readers to connect",
        Duration::from_secs(30),
        || connections(&rt, &checker) as usize > sizes.stalled + sizes.honest,
    );
    // Their requests answered and the answers stuck: the daemon is quiet again.
    let settled = wait_quiet(pid, Duration::from_secs(30));

    // The storm, the learners and the other uid, all at once.
    cpu_marks.push(cpu_time(pid));
    memory.enter(2, pid);
    let storm = Storm::start(&socket, &kept, sizes.frames, sizes.threads, 1);
    let learners = {
        let dirs = dirs.clone();
        let notebooks = notebooks.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("the learners' runtime");
            let started = Instant::now();
            let results = rt.block_on(async {
                let tasks: Vec<_> = notebooks
                    .into_iter()
                    .enumerate()
                    .map(|(i, nb)| tokio::spawn(learner(dirs.clone(), nb, i + 1)))
                    .collect();
                let mut results = Vec::new();
                for t in tasks {
                    results.push(t.await.unwrap_or_else(|e| Err(format!("panicked: {e}"))));
                }
                results
            });
            (results, started.elapsed())
        })
    };
    let peer = other_uid(&env, 10);

    let (tallies, mut held, storm_took) = storm.finish();
    let (turns, learners_took) = learners.join().expect("the learners");

    let pid_after_storm = env.daemon_pid();
    let rss_storm_end = proc_kib(pid, "VmRSS:").unwrap_or(0);

    // Drain: the honest clients stop; everything else is closed; the daemon counts down.
    cpu_marks.push(cpu_time(pid));
    memory.enter(3, pid);
    stop_honest.store(true, Ordering::Relaxed);
    let mut honest_ms = Vec::new();
    let mut honest_errors = Vec::new();
    for t in honest_threads {
        let (latencies, errors) = t.join().expect("an honest client");
        honest_ms.extend(latencies);
        honest_errors.extend(errors);
    }
    stop_pushing.store(true, Ordering::Relaxed);
    let mut never_readers = pusher.join().expect("the pusher");
    let (answered, throttled) = never_readers
        .iter_mut()
        .map(NeverReader::received)
        .fold((0, 0), |(a, t), (a2, t2)| (a + a2, t + t2));
    let pushed = |subscriber: bool| -> Vec<usize> {
        never_readers
            .iter()
            .filter(|r| r.subscriber == subscriber)
            .map(NeverReader::sent)
            .collect()
    };
    let (listers, subscribers) = (pushed(false), pushed(true));
    let after = snapshot(&rt, &checker, &kept);
    // Every half frame still held is cut off by the frame limit (`CLOSE_WITHIN` is longer).
    let held_open: Vec<String> = held
        .iter_mut()
        .filter_map(|s| expect_closed(s).err())
        .collect();
    let held_count = held.len();
    drop(held);
    drop(never_readers);
    // Long-polls of clients that left end at once: no waiting for their minute.
    let (left, drain_took) = drained(&rt, &checker, Duration::from_secs(20));
    cpu_marks.push(cpu_time(pid));
    let rss_end = proc_kib(pid, "VmRSS:").unwrap_or(0);

    // The same storm again on the drained daemon: what the first one left behind (leaked
    // connections, memory) would show now.
    memory.enter(4, pid);
    let (again, held_again, again_took) =
        Storm::start(&socket, &kept, sizes.frames, sizes.threads, 1001).finish();
    drop(held_again);
    let (left_again, _) = drained(&rt, &checker, Duration::from_secs(20));
    cpu_marks.push(cpu_time(pid));
    let rss_again = proc_kib(pid, "VmRSS:").unwrap_or(0);
    let hwm = proc_kib(pid, "VmHWM:").unwrap_or(0);
    let memory_over = memory.over.load(Ordering::Relaxed);
    let (peaks, samples) = memory.finish();
    let log = env.log();
    let startup_log = std::fs::read_to_string(dirs.startup_output()).unwrap_or_default();

    // ---- The figures.
    let turn_ms: Vec<f64> = turns
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let turn_errors: Vec<&String> = turns.iter().filter_map(|r| r.as_ref().err()).collect();
    let peak = peaks.iter().copied().max().unwrap_or(0);
    let sent: usize = tallies.values().map(|t| t.sent).sum();
    let failed: usize = tallies.values().map(|t| t.failed).sum();
    let mut summary = String::new();
    let mut line = |s: String| {
        summary.push_str(&s);
        summary.push('\n');
    };
    line(format!("=== socket abuse: {sizes:?}"));
    line(format!(
        "setup {:.1} s; storm {:.1} s; learners {:.1} s; drain {:.2} s; total {:.1} s",
        setup_took.as_secs_f64(),
        storm_took.as_secs_f64(),
        learners_took.as_secs_f64(),
        drain_took.as_secs_f64(),
        began.elapsed().as_secs_f64()
    ));
    line(format!(
        "storm: {sent} connections ({:.0}/s), {failed} misbehaved; by kind (sent / closed by the daemon / refused / held open):",
        sent as f64 / storm_took.as_secs_f64().max(1e-9)
    ));
    for (kind, t) in &tallies {
        line(format!(
            "  {kind:?}: {} / {} / {} / {}{}",
            t.sent,
            t.closed,
            t.refused,
            t.held,
            if t.failed > 0 {
                format!("  FAILED {}: {:?}", t.failed, t.failures)
            } else {
                String::new()
            }
        ));
    }
    line(format!(
        "half frames still held at the end: {held_count}, of which the daemon kept open past the frame limit: {}",
        held_open.len()
    ));
    line(format!(
        "connections the daemon counts after everyone left: {left} (1 is the checker)"
    ));
    line(format!(
        "\"bad frame\" log lines (both storms): {}",
        log.matches("bad frame; closing this connection").count()
    ));
    line(format!(
        "honest clients: {} calls, {} failed; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        honest_ms.len() + honest_errors.len(),
        honest_errors.len(),
        percentile(&honest_ms, 50.0),
        percentile(&honest_ms, 99.0),
        percentile(&honest_ms, 100.0)
    ));
    line(format!(
        "learners: {} turns, {} completed ({} read from the history after missing events), {} failed, in {:.1} s; per turn p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        turns.len(),
        turn_ms.len(),
        RELOADED.load(Ordering::Relaxed),
        turn_errors.len(),
        learners_took.as_secs_f64(),
        percentile(&turn_ms, 50.0),
        percentile(&turn_ms, 99.0),
        percentile(&turn_ms, 100.0)
    ));
    let spread = |v: &[usize]| {
        format!(
            "{} connections, each got {}–{} of its {} requests into the socket",
            v.len(),
            v.iter().min().copied().unwrap_or(0),
            v.iter().max().copied().unwrap_or(0),
            sizes.stalled_requests
        )
    };
    line(format!(
        "never-readers: notebook_list: {}; events_next: {}; the daemon was quiet again {:.1} s after they connected",
        spread(&listers),
        spread(&subscribers),
        settled.as_secs_f64()
    ));
    line(format!(
        "never-readers, read at the end: {answered} answers and {throttled} \"throttled\" refusals were waiting in their sockets"
    ));
    match &peer {
        Ok(p) => line(format!(
            "other uid ({NOBODY}): runtime directory private: {}; directory and socket opened up: {}",
            counted(&p.private_dir),
            counted(&p.opened_up)
        )),
        Err(why) => line(format!("other uid: SKIPPED: {why}")),
    }
    line(format!(
        "second storm on the drained daemon: {} connections in {:.1} s, {} misbehaved; connections left {left_again}; RSS {:.1} → {:.1} MiB",
        again.values().map(|t| t.sent).sum::<usize>(),
        again_took.as_secs_f64(),
        again.values().map(|t| t.failed).sum::<usize>(),
        mib(rss_end),
        mib(rss_again)
    ));
    line(format!(
        "daemon RSS: idle {:.1} MiB, after setup {:.1} MiB, peak {:.1} MiB ({}), end of storm {:.1} MiB, after drain {:.1} MiB; VmHWM {:.1} MiB; {samples} samples",
        mib(rss_idle),
        mib(rss_setup),
        mib(peak),
        PHASES
            .iter()
            .zip(peaks)
            .map(|(p, kib)| format!("{p} {:.1}", mib(kib)))
            .collect::<Vec<_>>()
            .join(", "),
        mib(rss_storm_end),
        mib(rss_end),
        mib(hwm)
    ));
    if memory_over {
        line(format!(
            "the daemon passed {:.0} MiB: the never-readers stopped pushing",
            mib(hard_cap_kib)
        ));
    }
    line(format!(
        "daemon CPU: {} (setup: {:.1} s)",
        PHASES[1..]
            .iter()
            .zip(cpu_marks.windows(2))
            .map(|(p, w)| format!("{p} {:.1} s", (w[1] - w[0]).as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        cpu_marks[0].as_secs_f64()
    ));
    eprintln!("{summary}");
    if startup_log.contains("panicked") {
        eprintln!(
            "--- mentord's stderr ---\n{}",
            &startup_log[..startup_log.len().min(3000)]
        );
    }

    // ---- The properties.
    assert_eq!(pid_after_storm, Some(pid), "the daemon is the same process");
    assert_eq!(env.daemon_pid(), Some(pid), "the daemon is still up");
    assert_eq!(before, after, "what was stored before the storm is intact");
    for (kind, t) in &tallies {
        assert_eq!(t.failed, 0, "{kind:?}: {:?}", t.failures);
    }
    assert_eq!(sent, sizes.frames);
    assert!(
        honest_errors.is_empty(),
        "honest calls failed: {honest_errors:?}"
    );
    assert!(!honest_ms.is_empty(), "no honest call was made");
    let honest_p99 = percentile(&honest_ms, 99.0);
    assert!(
        honest_p99 < sizes.max_p99_ms,
        "honest p99 {honest_p99:.1} ms ≥ {} ms",
        sizes.max_p99_ms
    );
    assert!(turn_errors.is_empty(), "learners failed: {turn_errors:?}");
    assert_eq!(turn_ms.len(), sizes.clients);
    match &peer {
        Ok(p) => {
            assert!(
                p.private_dir
                    .iter()
                    .all(|l| l == "refused-at-connect PermissionDenied"),
                "{:?}",
                p.private_dir
            );
            assert!(
                p.opened_up.iter().all(|l| l == "closed"),
                "{:?}",
                p.opened_up
            );
            assert!(
                log.contains("connection from another user refused")
                    && log.contains(&format!("peer_uid={NOBODY}")),
                "no refusal in the log"
            );
        }
        Err(why) => eprintln!("SKIPPED (other uid): {why}"),
    }
    assert!(
        mib(peak) < sizes.max_rss_mib,
        "the daemon's peak RSS {:.1} MiB ≥ {} MiB",
        mib(peak),
        sizes.max_rss_mib
    );
    assert!(
        held_open.is_empty(),
        "half frames the daemon did not cut off: {held_open:?}"
    );
    assert_eq!(
        left, 1,
        "connections the daemon still counts 20 s after everyone left"
    );
    for (kind, t) in &again {
        assert_eq!(t.failed, 0, "second storm, {kind:?}: {:?}", t.failures);
    }
    assert_eq!(left_again, 1, "connections counted after the second storm");
    assert!(
        mib(rss_again) < mib(rss_end) + 20.0,
        "the second storm grew the daemon from {:.1} to {:.1} MiB",
        mib(rss_end),
        mib(rss_again)
    );
    assert!(
        !log.contains("panicked") && !startup_log.contains("panicked"),
        "the daemon panicked:\n{startup_log}"
    );
    let still = snapshot(&rt, &checker, &kept);
    assert_eq!(before, still, "and still intact once everyone left");
}
