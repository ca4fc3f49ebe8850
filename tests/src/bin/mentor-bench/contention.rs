//! `contention`: how long a chat waits for the model while a job generates, on both kinds of
//! provider. It runs `mentor_daemon`'s model client (`Llm`) in this process, as `local-llm`
//! does, with the gate, the local engine and preemption exactly as `mentord` has them.
//!
//! **The local model** (the test model, SmolLM2-135M-Instruct, with the default
//! `llm.local` settings: 2 sequences of 8,192 tokens, one thread per core):
//! - `local_idle_first_token_p95_ms`: chat requests one after the other, nothing else running;
//!   request sent → first text. Every chat has the same system prompt (a teacher's, with
//!   passages) and a different question, so the engine reuses the system prompt and reads only
//!   the question: the strictest case, where any wait behind a job shows.
//! - `local_loaded_first_token_p95_ms`: the same chats while a job generates. The job is a
//!   loop of study-guide steps at job priority: a study guide's prompt and 128 tokens of
//!   answer each (`ignore_eos`, so every step is as long), one after the other as the
//!   generator sends them. `local_loaded_over_idle` is the ratio of the two p95s.
//! - `job_tokens_share`: the job's tokens per second while the chats run, over its tokens per
//!   second alone (each from the steps that ran wholly in that window). Each chat reads a
//!   reply of 32 tokens, so the two sequences decode together most of the time.
//!
//! **A model server that serves one request at a time** (the scripted server with one slot,
//! `llm.max_concurrent = 1`, `llm.preempt_after_ms` = 300): a job's steps stream slowly (200
//! tokens, one every 20 ms) and start again at once when preempted, as the queue re-queues
//! them; a chat is sent while a step streams. `server_chat_wait_p95_ms` is request sent →
//! first text, `preempt_after_ms` the setting.
//!
//! Chats are sequential; `--samples N` sets how many of each kind (default 200: a chat with
//! the local model takes a few hundred milliseconds).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use mentor_daemon::llm::{ChatRequest, Delta, Llm, LocalStatus, Priority, WireMessage};
use mentor_shared::config::{LlmConfig, LocalLlmConfig};
use mentor_shared::ApiError;
use mentor_tests::openai::{Frame, Reply, ScriptedServer};

use super::{ms, percentile, progress, summarize, Bench, Report};

/// Chats per measurement (`--samples N` changes it).
const SAMPLES: usize = 200;
/// Tokens of each job step.
const STEP_TOKENS: u32 = 128;
/// Tokens of each chat reply read.
const CHAT_TOKENS: u32 = 32;
/// How long the job runs alone to measure its pace.
const ALONE: Duration = Duration::from_secs(15);
/// `llm.preempt_after_ms` in the server part.
const PREEMPT_AFTER_MS: u64 = 300;
/// The scripted server's job step: tokens, and the pause before each.
const SERVER_STEP_TOKENS: usize = 200;
const SERVER_TOKEN_EVERY: Duration = Duration::from_millis(20);
/// How long loading may take.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

/// The passages both prompts carry: real text about the product (its architecture notes).
const PASSAGES: &str = include_str!("../../../../docs/architecture.md");

/// Questions a learner asks, in turn.
const QUESTIONS: [&str; 8] = [
    "What does the daemon own?",
    "How does a job reach the status line?",
    "Why is the queue kept in SQLite?",
    "What happens when the daemon is killed during a podcast?",
    "How does the client learn that a job is ready?",
    "Which model answers when no server is running?",
    "What is a checkpoint?",
    "How are the teacher's notices localized?",
];

pub fn scenario_contention(bench: &Bench) -> Result<Report> {
    let samples = bench.samples(SAMPLES);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start a tokio runtime")?;
    let local = rt.block_on(local_part(samples))?;
    let server_wait = rt.block_on(server_part(samples))?;
    Ok(Report {
        scenario: "contention",
        metrics: vec![
            ("local_idle_first_token_p95_ms", local.idle_p95),
            ("local_loaded_first_token_p95_ms", local.loaded_p95),
            ("local_loaded_over_idle", local.loaded_p95 / local.idle_p95),
            ("job_tokens_share", local.loaded_tps / local.alone_tps),
            ("server_chat_wait_p95_ms", server_wait),
            ("preempt_after_ms", PREEMPT_AFTER_MS as f64),
        ],
    })
}

struct Local {
    idle_p95: f64,
    loaded_p95: f64,
    alone_tps: f64,
    loaded_tps: f64,
}

fn passages() -> String {
    // About 1,500 tokens: what a notebook's best passages fill.
    let text: String = PASSAGES.chars().take(6_000).collect();
    format!("<<<PASSAGE 1 · [Architecture]>>>\n{text}\n<<<END PASSAGE 1>>>")
}

fn chat_request(i: usize) -> ChatRequest {
    let question = format!("{} ({})", QUESTIONS[i % QUESTIONS.len()], i + 1);
    ChatRequest {
        messages: vec![
            WireMessage::System(format!(
                "You are Mentor, a patient teacher. Teach from the learner's sources and \
                 answer in English.\n{}",
                passages()
            )),
            WireMessage::User(question),
        ],
        tools: Vec::new(),
        temperature: Some(0.0),
        max_tokens: Some(CHAT_TOKENS),
        ignore_eos: true,
    }
}

fn job_request(tokens: u32) -> ChatRequest {
    ChatRequest {
        messages: vec![
            WireMessage::System(format!(
                "JOB. You write a study guide for a learner, in English, one section at a \
                 time. Base everything on the learner's sources below.\n{}\nNow write the key \
                 concepts: three to eight, each with a short name and a clear explanation.",
                passages()
            )),
            WireMessage::User("Write the key concepts now.".into()),
        ],
        tools: Vec::new(),
        temperature: Some(0.0),
        max_tokens: Some(tokens),
        ignore_eos: true,
    }
}

/// Sends a chat; the time to its first text. Reads the rest of the reply.
async fn chat_first_token(llm: &Llm, request: &ChatRequest) -> Result<f64> {
    let sent = Instant::now();
    let mut stream = llm
        .stream(request, Priority::Chat)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the chat request was refused")?;
    let mut first = None;
    loop {
        match stream.next().await {
            Ok(Some(Delta::Text(t))) if !t.is_empty() => {
                first.get_or_insert_with(|| ms(sent.elapsed()));
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => bail!("the chat failed: {e}"),
        }
    }
    first.context("the chat answered no text")
}

/// One job step that ran: when it started and ended, and its tokens.
#[derive(Debug, Clone, Copy)]
struct Step {
    started: Instant,
    ended: Instant,
    tokens: u64,
}

/// The job's steps, one after the other, until `stop`; each step as it ran. A step that ends
/// preempted is sent again at once. `streaming` is set while a step's answer is arriving.
async fn job_loop(
    llm: Llm,
    tokens: u32,
    stop: Arc<AtomicBool>,
    streaming: Arc<AtomicBool>,
    steps: Arc<Mutex<Vec<Step>>>,
) -> Result<usize> {
    let request = job_request(tokens);
    let mut preempted = 0;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let mut stream = match llm.stream(&request, Priority::Job).await {
            Ok(stream) => stream,
            Err(ApiError::LlmPreempted) => {
                preempted += 1;
                continue;
            }
            Err(e) => bail!("a job step was refused: {e}"),
        };
        let ended = loop {
            match stream.next().await {
                Ok(Some(_)) => streaming.store(true, Ordering::Relaxed),
                Ok(None) => break true,
                Err(ApiError::LlmPreempted) => {
                    preempted += 1;
                    break false;
                }
                Err(e) => bail!("a job step failed: {e}"),
            }
        };
        streaming.store(false, Ordering::Relaxed);
        if ended {
            let usage = stream.finish().usage.unwrap_or_default();
            steps.lock().unwrap_or_else(|p| p.into_inner()).push(Step {
                started,
                ended: Instant::now(),
                tokens: usage.completion_tokens,
            });
        }
    }
    Ok(preempted)
}

/// Tokens per second of the steps that ran wholly between `from` and `to`.
fn pace(steps: &[Step], from: Instant, to: Instant) -> Result<f64> {
    let inside: Vec<&Step> = steps
        .iter()
        .filter(|s| s.started >= from && s.ended <= to)
        .collect();
    ensure!(
        inside.len() >= 2,
        "only {} job steps ran in the window",
        inside.len()
    );
    let tokens: u64 = inside.iter().map(|s| s.tokens).sum();
    let secs: f64 = inside
        .iter()
        .map(|s| (s.ended - s.started).as_secs_f64())
        .sum();
    Ok(tokens as f64 / secs)
}

async fn local_part(samples: usize) -> Result<Local> {
    let model = std::env::var_os("MENTOR_TEST_MODEL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(mentor_tests::test_model_path);
    ensure!(
        model.is_file(),
        "the test model {} is missing: run ./install.sh --test, or set MENTOR_TEST_MODEL",
        model.display()
    );
    let config = LlmConfig {
        provider: "local".into(),
        ..LlmConfig::default()
    };
    let local = LocalLlmConfig::default();
    progress(&format!(
        "local model {}: {} sequences, {} context tokens in all",
        model.display(),
        local.sequences,
        local.context_tokens
    ));
    let llm = Llm::new(&config)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_local(model, &local, Duration::ZERO);
    let engine = llm.local().context("no local engine")?.clone();
    engine.preload();
    let loading = Instant::now();
    loop {
        match engine.status() {
            LocalStatus::Ready(_) => break,
            LocalStatus::Failed(why) => bail!("the local model failed to load: {why}"),
            _ if loading.elapsed() > LOAD_LIMIT => bail!("the local model is not loaded"),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    // Warm-up: the chat's system prompt and the job's are in their sequences' caches.
    chat_first_token(&llm, &chat_request(0)).await?;
    let mut warm = llm
        .stream(&job_request(8), Priority::Job)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    while warm
        .next()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_some()
    {}
    drop(warm);
    let stop = Arc::new(AtomicBool::new(false));
    let streaming = Arc::new(AtomicBool::new(false));
    let steps = Arc::new(Mutex::new(Vec::new()));

    let mut idle = Vec::with_capacity(samples);
    for i in 0..samples {
        idle.push(chat_first_token(&llm, &chat_request(i + 1)).await?);
    }
    summarize("local chat first token, idle", &idle, samples);

    // The job alone, then with the chats.
    let job = tokio::spawn(job_loop(
        llm.clone(),
        STEP_TOKENS,
        stop.clone(),
        streaming.clone(),
        steps.clone(),
    ));
    let alone_from = Instant::now();
    tokio::time::sleep(ALONE).await;
    let alone_to = Instant::now();
    let mut loaded = Vec::with_capacity(samples);
    for i in 0..samples {
        loaded.push(chat_first_token(&llm, &chat_request(samples + i + 1)).await?);
    }
    let loaded_to = Instant::now();
    stop.store(true, Ordering::Relaxed);
    job.await.context("the job loop")??;
    summarize("local chat first token, a job generating", &loaded, samples);
    let steps = steps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let alone_tps = pace(&steps, alone_from, alone_to)?;
    let loaded_tps = pace(&steps, alone_to, loaded_to)?;
    progress(&format!(
        "job: {alone_tps:.1} tokens/s alone, {loaded_tps:.1} tokens/s while chatting"
    ));
    Ok(Local {
        idle_p95: percentile(&idle, 95.0).context("no samples")?,
        loaded_p95: percentile(&loaded, 95.0).context("no samples")?,
        alone_tps,
        loaded_tps,
    })
}

/// A job step's slow answer on the scripted server.
fn slow_step() -> Reply {
    let mut frames = Vec::with_capacity(2 * SERVER_STEP_TOKENS + 2);
    for i in 0..SERVER_STEP_TOKENS {
        frames.push(Frame::Delay(SERVER_TOKEN_EVERY));
        frames.push(Frame::delta(
            serde_json::json!({"content": format!(" t{i}")}),
        ));
    }
    frames.push(Frame::finish("length"));
    frames.push(Frame::done());
    Reply::sse(frames)
}

async fn server_part(samples: usize) -> Result<f64> {
    let server = ScriptedServer::start();
    server.set_slots(Some(1));
    server.forget_bodies();
    let step = slow_step();
    server.set_responder(move |request| {
        let system = request["messages"][0]["content"].as_str().unwrap_or("");
        if system.starts_with("JOB.") {
            step.clone()
        } else {
            Reply::text("Rain is water that falls from clouds.")
        }
    });
    let config = LlmConfig {
        base_url: server.base_url(),
        model: "scripted".into(),
        provider: "openai".into(),
        max_concurrent: 1,
        preempt_after_ms: PREEMPT_AFTER_MS,
        ..LlmConfig::default()
    };
    let llm = Llm::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let streaming = Arc::new(AtomicBool::new(false));
    let steps = Arc::new(Mutex::new(Vec::new()));
    let job = tokio::spawn(job_loop(
        llm.clone(),
        STEP_TOKENS,
        stop.clone(),
        streaming.clone(),
        steps,
    ));
    let mut waits = Vec::with_capacity(samples);
    for i in 0..samples {
        // Each chat comes while a job step streams.
        let until = Instant::now() + Duration::from_secs(30);
        while !streaming.load(Ordering::Relaxed) {
            ensure!(Instant::now() < until, "no job step is streaming");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(20 + (i as u64 * 37) % 100)).await;
        waits.push(chat_first_token(&llm, &chat_request(i)).await?);
    }
    stop.store(true, Ordering::Relaxed);
    let preempted = job.await.context("the job loop")??;
    summarize("server chat wait, a job generating", &waits, samples);
    progress(&format!(
        "job steps preempted: {preempted} (gate: {} preemptions)",
        llm.gate().preemptions()
    ));
    percentile(&waits, 95.0).context("no samples")
}
