//! `chat-overhead`, `relay`, `tool-ack` and `gate`: what the daemon adds between the model
//! server and the learner's client in a conversation.
//!
//! Each scenario runs the release `mentord` against the scripted OpenAI-compatible server of
//! `mentor_tests::openai`, which runs on its own thread inside this process and records when
//! each request arrived and when its reply's first token and last byte went out. The client is
//! this process too, holding what `mentor chat` holds: a connection to the daemon's socket that
//! sends with `chat_send` and long-polls the conversation's events of the notebook, and a second
//! one long-polling its job events (lingering and coalesced), noting when each batch of events
//! arrived. Server and client read the same realtime clock in the same process, so their
//! timestamps compare directly.
//!
//! - `chat-overhead`: first token written by the server → its `token` event at the client,
//!   idle and with 8 long test jobs writing progress all the time, in interleaved blocks.
//! - `relay`: one reply of 200,000 tokens; tokens per second from the server's first token to
//!   the client's last `token` event.
//! - `tool-ack`: the last byte of a `generate_artifact` call (finish reason `tool_calls`) →
//!   the tool result's `message` event at the client.
//! - `gate`: with one model place, a test job streaming slow model requests holds it; a chat
//!   message sent in the middle of one waits for that request only, not the job's next one.
//!   Preemption is off here (`llm.preempt_after_ms = 0`), so the gate's order alone is
//!   measured; `contention` measures preemption.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use mentor_shared::chat::{Role, TurnOutcome};
use mentor_shared::ids::NotebookId;
use mentor_shared::jobs::{
    Cursor, EventBatch, EventBody, EventFilter, EventKinds, EventsRequest, Job, JobRequest,
    JobSpec, JobStatus, TestScript, JOBS_LINGER_MS,
};
use mentor_shared::service::MentorClient;
use mentor_tests::openai::{last_message, Exchange, Frame, Reply, ScriptedServer};
use mentor_tests::rpc::{self, answer, ctx};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{median, percentile, progress, summarize, Bench, Home, Report, MIN_PERCENTILE_SAMPLES};

/// Timed tool calls of `tool-ack`.
const TURNS: usize = 1000;
/// Timed chat turns per phase of `chat-overhead`, and the blocks each phase is cut into.
const OVERHEAD_TURNS: usize = 6000;
const OVERHEAD_BLOCKS: usize = 6;
/// Untimed turns before the timed ones.
const WARMUP_TURNS: usize = 20;
/// Test jobs running throughout the loaded phase of `chat-overhead`.
const LOAD_JOBS: u32 = 8;
/// Steps of a load job (far more than the phase lasts) and the pause between them: each
/// step commits a checkpoint and a progress change, and publishes a job event.
const LOAD_STEPS: u32 = 100_000;
const LOAD_STEP_MS: u64 = 20;
/// Tokens of the `relay` reply.
const RELAY_TOKENS: usize = 200_000;
/// Rounds of `gate`.
const GATE_ROUNDS: usize = 20;
/// A job's model request in `gate`: this many tokens, one every `GATE_TOKEN_MS`.
const GATE_TOKENS: usize = 30;
const GATE_TOKEN_MS: u64 = 10;
/// Uncontended chat turns timed in `gate` before the job starts (the baseline wait).
const GATE_BASELINE_TURNS: usize = 20;
/// Longest wait for one step of a scenario (a turn, a job starting, …).
const T: Duration = Duration::from_secs(30);
/// What a job's model request says, so the server can tell it from a chat turn.
const JOB_REQUEST_MARK: &str = "Mentor test job";

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn us_to_ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

/// A runtime for the client side: one thread, so the client takes as little of the machine
/// from the daemon as it can.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

/// Starts a daemon in a fresh home, pointed at `server`, with the scripted job handlers
/// `handlers` (`MENTORD_TEST_HANDLERS`) and `extra` TOML after the `[llm]` table's lines.
pub(super) fn start_daemon<'a>(
    bench: &'a Bench,
    server: &ScriptedServer,
    handlers: &str,
    extra: &str,
) -> Result<Home<'a>> {
    let home = bench.home()?;
    let file = home.dirs().config_file();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let config = format!(
        "[llm]\nbase_url = \"{}\"\nmodel = \"scripted\"\n{extra}\n",
        server.base_url()
    );
    std::fs::write(&file, config).with_context(|| format!("write {}", file.display()))?;
    progress(&format!(
        "starting the daemon (MENTORD_TEST_HANDLERS={handlers})"
    ));
    let out = home
        .command(["daemon", "start"])
        .env("MENTORD_TEST_HANDLERS", handlers)
        .output()
        .context("start the daemon")?;
    ensure!(
        out.status.success(),
        "daemon start failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(home)
}

/// One batch of events and when the client had it.
struct Arrival {
    at_us: i64,
    batch: EventBatch,
}

/// What the client saw of one turn (times in µs since the epoch, when the batch carrying the
/// event arrived).
#[derive(Default)]
struct Turn {
    sent_us: i64,
    first_token_us: Option<i64>,
    /// When the daemon published the first `token` event (its own clock reading).
    first_token_published_us: Option<i64>,
    last_token_us: Option<i64>,
    tool_result_us: Option<i64>,
    ended_us: i64,
    text: String,
    job_events: usize,
}

/// A conversation over one connection to the daemon, as `mentor chat` holds it: a listener
/// task keeps a long-poll for the notebook's events open at all times.
struct Conversation {
    client: MentorClient,
    notebook: NotebookId,
    arrivals: mpsc::UnboundedReceiver<Result<Arrival>>,
    listeners: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Conversation {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

fn poll(
    after: Option<Cursor>,
    max_wait_ms: u64,
    notebook: NotebookId,
    kinds: EventKinds,
) -> EventsRequest {
    EventsRequest {
        after,
        max_wait_ms,
        max_events: 1000,
        filter: EventFilter {
            job: None,
            notebook: Some(notebook),
            kinds,
        },
        // As `mentor chat` asks: job events lingered and coalesced, the conversation's at once.
        linger_ms: match kinds {
            EventKinds::Jobs => JOBS_LINGER_MS,
            _ => 0,
        },
        coalesce_progress: kinds == EventKinds::Jobs,
    }
}

async fn listen(
    client: MentorClient,
    mut cursor: Cursor,
    notebook: NotebookId,
    kinds: EventKinds,
    tx: mpsc::UnboundedSender<Result<Arrival>>,
) {
    loop {
        let r = client
            .events_next(
                ctx(Duration::from_secs(40)),
                poll(Some(cursor), 30_000, notebook, kinds),
            )
            .await;
        let at_us = now_us();
        match answer(r) {
            Ok(batch) => {
                cursor = batch.cursor;
                if tx.send(Ok(Arrival { at_us, batch })).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

impl Conversation {
    /// Creates a notebook and starts listening to its events.
    async fn open(home: &Home<'_>, title: &str) -> Result<Conversation> {
        let client = rpc::connect(&home.dirs()).await?;
        let notebook = answer(
            client
                .notebook_create(ctx(T), title.to_string(), None)
                .await,
        )?
        .id;
        let all = EventKinds::All;
        let start = answer(
            client
                .events_next(ctx(T), poll(None, 0, notebook, all))
                .await,
        )?
        .cursor;
        let (tx, arrivals) = mpsc::unbounded_channel();
        // The jobs' events come over a connection of their own, as `mentor chat` has them: a
        // batch of them being encoded or decoded never holds up a token on the other.
        let jobs_client = rpc::connect(&home.dirs()).await?;
        let listeners = [
            tokio::spawn(listen(
                client.clone(),
                start,
                notebook,
                EventKinds::Conversation,
                tx.clone(),
            )),
            tokio::spawn(listen(jobs_client, start, notebook, EventKinds::Jobs, tx)),
        ];
        Ok(Conversation {
            client,
            notebook,
            arrivals,
            listeners,
        })
    }

    async fn next(&mut self) -> Result<Arrival> {
        let arrival = tokio::time::timeout(T, self.arrivals.recv())
            .await
            .context("no event for 30 s")?
            .context("the listener stopped")??;
        ensure!(
            !arrival.batch.reload,
            "the client fell behind the daemon's event history: events were missed"
        );
        Ok(arrival)
    }

    /// Sends `text` and follows the turn to its end, which must be a completed one.
    async fn turn(&mut self, text: &str) -> Result<Turn> {
        let sent_us = now_us();
        answer(
            self.client
                .chat_send(ctx(T), self.notebook.to_string(), text.to_string())
                .await,
        )?;
        let mut turn = Turn {
            sent_us,
            ..Turn::default()
        };
        loop {
            let Arrival { at_us, batch } = self.next().await?;
            for event in batch.events {
                match event.body {
                    EventBody::Token { text, .. } => {
                        turn.first_token_us.get_or_insert(at_us);
                        turn.first_token_published_us.get_or_insert(event.at_us);
                        turn.last_token_us = Some(at_us);
                        turn.text.push_str(&text);
                    }
                    EventBody::Message { message } if message.role == Role::Tool => {
                        turn.tool_result_us.get_or_insert(at_us);
                    }
                    EventBody::Job { .. } => turn.job_events += 1,
                    EventBody::TurnEnded { outcome, .. } => {
                        ensure!(
                            outcome == TurnOutcome::Completed,
                            "a turn ended {outcome:?}"
                        );
                        turn.ended_us = at_us;
                        return Ok(turn);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Submits a scripted test job to this conversation's notebook.
    async fn submit(&self, script: TestScript) -> Result<Job> {
        let request = JobRequest {
            notebook: self.notebook.to_string(),
            topic: String::new(),
            language: None,
            spec: JobSpec::Test(script),
        };
        Ok(answer(self.client.job_submit(ctx(T), request).await)?.job)
    }

    /// Waits until every one of `jobs` has `status` (processing: not yet ended either).
    async fn wait_status(&self, jobs: &[Job], status: JobStatus) -> Result<()> {
        let deadline = tokio::time::Instant::now() + T;
        for job in jobs {
            loop {
                let shown = answer(self.client.job_show(ctx(T), job.id.to_string()).await)?;
                if shown.status == status {
                    break;
                }
                if shown.status.is_terminal() {
                    bail!("job {} is {:?}, not {status:?}", job.id, shown.status);
                }
                ensure!(
                    tokio::time::Instant::now() < deadline,
                    "job {} is still {:?}, not {status:?}",
                    job.id,
                    shown.status
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    async fn cancel(&self, jobs: &[Job]) -> Result<()> {
        for job in jobs {
            answer(self.client.job_cancel(ctx(T), job.id.to_string()).await)?;
        }
        Ok(())
    }
}

/// The exchanges the server had from index `from` on, checked to be `n`.
fn new_exchanges(server: &ScriptedServer, from: usize, n: usize) -> Result<Vec<Exchange>> {
    let new = server.exchanges_from(from);
    ensure!(
        new.len() == n,
        "expected {n} model request(s) for this turn, the server had {}",
        new.len()
    );
    Ok(new)
}

fn p99(samples: &[f64]) -> f64 {
    percentile(samples, 99.0).unwrap_or(f64::NAN)
}

/// `chat-overhead`: first token sent by the server → its `token` event at the client, idle
/// and under load. The two phases are interleaved in [`OVERHEAD_BLOCKS`] blocks each (idle
/// then loaded, then loaded then idle, …), so a change in the machine's own load during the
/// run weighs on both alike.
pub fn scenario_chat_overhead(bench: &Bench) -> Result<Report> {
    let turns = bench.samples(OVERHEAD_TURNS);
    let per_block = turns.div_ceil(OVERHEAD_BLOCKS).max(1);
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::text("Chlorophyll absorbs red and blue light.")));
    server.forget_bodies();
    let home = start_daemon(
        bench,
        &server,
        "1",
        &format!("[jobs]\nconcurrency = {LOAD_JOBS}"),
    )?;
    let rt = runtime()?;
    let (idle, loaded, job_events_per_s) = rt.block_on(async {
        let mut chat = Conversation::open(&home, "Bench").await?;
        for i in 0..WARMUP_TURNS {
            chat.turn(&format!("Warm-up question {i}?")).await?;
        }
        let (mut idle, mut loaded) = (Timings::default(), Timings::default());
        let (mut job_events, mut loaded_s) = (0, 0.0);
        progress(&format!(
            "{turns} turns per phase in {OVERHEAD_BLOCKS} blocks each; load: {LOAD_JOBS} test \
             jobs of {LOAD_STEPS} steps x {LOAD_STEP_MS} ms"
        ));
        for block in 0..OVERHEAD_BLOCKS {
            let n = per_block.min(turns - idle.latencies.len());
            let loaded_first = block % 2 == 1;
            for phase_loaded in [loaded_first, !loaded_first] {
                if !phase_loaded {
                    idle.time(&mut chat, &server, n, "idle").await?;
                    continue;
                }
                let mut jobs = Vec::new();
                for _ in 0..LOAD_JOBS {
                    let script = TestScript {
                        steps: LOAD_STEPS,
                        step_ms: LOAD_STEP_MS,
                        ..TestScript::default()
                    };
                    jobs.push(chat.submit(script).await?);
                }
                chat.wait_status(&jobs, JobStatus::Processing).await?;
                // The jobs' first steps, then the measure.
                for i in 0..5 {
                    chat.turn(&format!("Loaded warm-up {block}.{i}?")).await?;
                }
                let started = now_us();
                job_events += loaded.time(&mut chat, &server, n, "loaded").await?;
                loaded_s += (now_us() - started) as f64 / 1e6;
                // Still all running: the load lasted the whole block.
                chat.wait_status(&jobs, JobStatus::Processing).await?;
                chat.cancel(&jobs).await?;
                chat.wait_status(&jobs, JobStatus::Cancelled).await?;
            }
            progress(&format!("  block {}/{OVERHEAD_BLOCKS}", block + 1));
        }
        anyhow::Ok((idle, loaded, job_events as f64 / loaded_s))
    })?;
    progress(&format!(
        "loaded phase: the client received {job_events_per_s:.0} job events/s besides the chat"
    ));
    idle.summarize("idle");
    loaded.summarize("loaded");
    let idle_p99_ms = p99(&idle.latencies);
    let loaded_p99_ms = p99(&loaded.latencies);
    drop(rt);
    drop(home);
    Ok(Report {
        scenario: "chat-overhead",
        metrics: vec![
            ("idle_p99_ms", idle_p99_ms),
            ("loaded_p99_ms", loaded_p99_ms),
            ("loaded_over_idle", loaded_p99_ms / idle_p99_ms),
        ],
    })
}

/// First-token latencies of one phase (ms), with their two legs: server → the daemon's
/// publication, publication → client.
#[derive(Default)]
struct Timings {
    latencies: Vec<f64>,
    to_bus: Vec<f64>,
    to_client: Vec<f64>,
}

impl Timings {
    /// Times `turns` turns; returns the job events the client received meanwhile.
    async fn time(
        &mut self,
        chat: &mut Conversation,
        server: &ScriptedServer,
        turns: usize,
        phase: &str,
    ) -> Result<usize> {
        let mut job_events = 0;
        for i in 0..turns {
            let before = server.request_count();
            let turn = chat
                .turn(&format!("What does chlorophyll do? ({phase} {i})"))
                .await?;
            job_events += turn.job_events;
            let exchange = new_exchanges(server, before, 1)?[0];
            let sent = exchange
                .first_token_us
                .context("the server recorded no first token")?;
            let received = turn
                .first_token_us
                .context("the client saw no token event")?;
            let published = turn
                .first_token_published_us
                .context("the client saw no token event")?;
            self.latencies.push(us_to_ms(received - sent));
            self.to_bus.push(us_to_ms(published - sent));
            self.to_client.push(us_to_ms(received - published));
        }
        Ok(job_events)
    }

    fn summarize(&self, phase: &str) {
        summarize(&format!("{phase}: server → bus"), &self.to_bus, 1);
        summarize(&format!("{phase}: bus → client"), &self.to_client, 1);
        summarize(
            &format!("{phase} first-token latency"),
            &self.latencies,
            MIN_PERCENTILE_SAMPLES,
        );
    }
}

/// `relay`: one long reply from the server through the daemon to the client.
pub fn scenario_relay(bench: &Bench) -> Result<Report> {
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::text("Chlorophyll absorbs red and blue light.")));
    let home = start_daemon(bench, &server, "", "")?;
    // Tokens of 3 to 6 characters, all different, so a lost or repeated one shows.
    let tokens: Vec<String> = (0..RELAY_TOKENS).map(|i| format!(" {i:x}")).collect();
    let expected: String = tokens.concat();
    let rt = runtime()?;
    let (turn, exchange) = rt.block_on(async {
        let mut chat = Conversation::open(&home, "Bench").await?;
        for i in 0..WARMUP_TURNS {
            chat.turn(&format!("Warm-up question {i}?")).await?;
        }
        progress(&format!(
            "one reply of {RELAY_TOKENS} tokens ({} characters)",
            expected.len()
        ));
        server.push(Reply::tokens(tokens));
        let before = server.request_count();
        let turn = chat.turn("Tell me everything.").await?;
        let exchange = new_exchanges(&server, before, 1)?[0];
        anyhow::Ok((turn, exchange))
    })?;
    ensure!(
        turn.text == expected,
        "the client received {} characters of text, expected {} (first difference at {})",
        turn.text.len(),
        expected.len(),
        turn.text
            .chars()
            .zip(expected.chars())
            .position(|(a, b)| a != b)
            .unwrap_or(turn.text.len().min(expected.len()))
    );
    let first_sent = exchange.first_token_us.context("no first token sent")?;
    let server_done = exchange.finished_us.context("the reply did not finish")?;
    let last_received = turn.last_token_us.context("no token received")?;
    let seconds = (last_received - first_sent) as f64 / 1e6;
    let tokens_per_sec = RELAY_TOKENS as f64 / seconds;
    progress(&format!(
        "server wrote the reply in {:.1} ms; first token sent → last token received {:.1} ms; \
         chat_send → turn_ended {:.1} ms",
        us_to_ms(server_done - first_sent),
        us_to_ms(last_received - first_sent),
        us_to_ms(turn.ended_us - turn.sent_us),
    ));
    drop(rt);
    drop(home);
    Ok(Report {
        scenario: "relay",
        metrics: vec![("tokens_per_sec", tokens_per_sec)],
    })
}

/// `tool-ack`: the model's `generate_artifact` call → the tool result at the client.
pub fn scenario_tool_ack(bench: &Bench) -> Result<Report> {
    let samples = bench.samples(TURNS);
    let server = ScriptedServer::start();
    // Stand-in quizzes of no steps: each job is cheap, so jobs do not pile up.
    let args = json!({"artifact_type": "quiz", "topic": "cells [steps=0] [step_ms=0]"});
    server.set_responder(move |request| {
        if last_message(request).0 == "tool" {
            Reply::text("Meanwhile, let us look at the cell membrane.")
        } else {
            Reply::tool_call("generate_artifact", &args.to_string())
        }
    });
    server.forget_bodies();
    let home = start_daemon(bench, &server, "stand-in", "")?;
    let rt = runtime()?;
    let acks = rt.block_on(async {
        let mut chat = Conversation::open(&home, "Bench").await?;
        let mut acks = Vec::with_capacity(samples);
        for i in 0..WARMUP_TURNS + samples {
            let before = server.request_count();
            let turn = chat
                .turn(&format!("Make me a quiz about cells ({i})"))
                .await?;
            let exchanges = new_exchanges(&server, before, 2)?;
            if i < WARMUP_TURNS {
                continue;
            }
            let call_done = exchanges[0]
                .finished_us
                .context("the tool-call reply did not finish")?;
            let result = turn
                .tool_result_us
                .context("the client saw no tool result")?;
            acks.push(us_to_ms(result - call_done));
            if acks.len() % 250 == 0 {
                progress(&format!("  {}/{samples}", acks.len()));
            }
        }
        anyhow::Ok(acks)
    })?;
    summarize("tool ack", &acks, MIN_PERCENTILE_SAMPLES);
    drop(rt);
    drop(home);
    Ok(Report {
        scenario: "tool-ack",
        metrics: vec![("tool_ack_p99_ms", p99(&acks))],
    })
}

/// A job's model request in `gate`: `GATE_TOKENS` tokens, one every `GATE_TOKEN_MS`.
fn slow_reply() -> Reply {
    let mut frames = vec![Frame::delta(json!({"role": "assistant"}))];
    for i in 0..GATE_TOKENS {
        frames.push(Frame::delta(json!({ "content": format!("w{i} ") })));
        frames.push(Frame::Delay(Duration::from_millis(GATE_TOKEN_MS)));
    }
    frames.push(Frame::finish("stop"));
    frames.push(Frame::done());
    Reply::sse(frames)
}

fn is_job_request(request: &Value) -> bool {
    last_message(request).1.contains(JOB_REQUEST_MARK)
}

/// A small xorshift generator: where in a job's request each chat message is sent.
struct Rng(u64);

impl Rng {
    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `gate`: a chat turn's wait for the model while a job holds the only place.
pub fn scenario_gate(bench: &Bench) -> Result<Report> {
    let rounds = bench.samples(GATE_ROUNDS);
    let server = ScriptedServer::start();
    server.set_responder(|request| {
        if is_job_request(request) {
            slow_reply()
        } else {
            Reply::text("Chlorophyll absorbs red and blue light.")
        }
    });
    let home = start_daemon(
        bench,
        &server,
        "1",
        "max_concurrent = 1\npreempt_after_ms = 0",
    )?;
    let rt = runtime()?;
    let mut rng = Rng(now_us() as u64 | 1);
    let reply_us = (GATE_TOKENS as u64 * GATE_TOKEN_MS * 1000) as f64;
    let (baseline, waits, requests, gaps) = rt.block_on(async {
        let mut chat = Conversation::open(&home, "Bench").await?;
        for i in 0..WARMUP_TURNS {
            chat.turn(&format!("Warm-up question {i}?")).await?;
        }
        // The chat's own wait when nothing holds the model.
        let mut baseline = Vec::new();
        for i in 0..GATE_BASELINE_TURNS {
            let before = server.request_count();
            let turn = chat.turn(&format!("Baseline question {i}?")).await?;
            let exchange = new_exchanges(&server, before, 1)?[0];
            baseline.push(us_to_ms(exchange.arrived_us - turn.sent_us));
        }

        let steps = (rounds * 3 + 10) as u32;
        let job = chat
            .submit(TestScript {
                steps,
                step_ms: 0,
                llm_calls: steps,
                ..TestScript::default()
            })
            .await?;
        progress(&format!(
            "job {} makes {steps} model requests of {GATE_TOKENS} tokens x {GATE_TOKEN_MS} ms; \
             {rounds} chat messages sent at random points of them",
            job.id
        ));
        let (mut waits, mut requests, mut gaps) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = server.request_count();
        for round in 0..rounds {
            // A job request that started after the previous round.
            let (j, job_request) = loop {
                // Exchanges first: the requests read after them are at least as many.
                let exchanges = server.exchanges();
                let requests = server.requests();
                let found = (seen..exchanges.len())
                    .find(|&i| is_job_request(&requests[i]) && exchanges[i].finished_us.is_none());
                if let Some(i) = found {
                    break (i, exchanges[i]);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            // Stratified: round r lands in the r-th slice of the first 90% of the request.
            let offset = (round as f64 + rng.unit()) / rounds as f64 * 0.9 * reply_us;
            let at = job_request.arrived_us + offset as i64;
            let pause = (at - now_us()).max(0) as u64;
            tokio::time::sleep(Duration::from_micros(pause)).await;
            let turn = chat.turn(&format!("Quick question {round}?")).await?;
            let exchanges = server.exchanges();
            let all = server.requests();
            let c = (j + 1..exchanges.len())
                .find(|&i| !is_job_request(&all[i]))
                .context("the chat's model request never arrived")?;
            let job_done = exchanges[j]
                .finished_us
                .context("the job's request did not finish")?;
            ensure!(
                job_done > turn.sent_us,
                "round {round}: the job's request ended before the chat was sent"
            );
            ensure!(
                c == j + 1,
                "round {round}: the job's next request went before the chat's \
                 (request {c} is the chat's, {j} the job's in flight)"
            );
            let wait = us_to_ms(exchanges[c].arrived_us - turn.sent_us);
            let job_ms = us_to_ms(job_done - job_request.arrived_us);
            let gap = us_to_ms(exchanges[c].arrived_us - job_done);
            progress(&format!(
                "  round {round}: sent {:.0} ms into the job's request of {job_ms:.1} ms; \
                 chat waited {wait:.1} ms ({gap:.2} ms after the job's request ended)",
                us_to_ms(turn.sent_us - job_request.arrived_us)
            ));
            waits.push(wait);
            requests.push(job_ms);
            gaps.push(gap);
            seen = exchanges.len();
        }
        chat.cancel(&[job]).await?;
        anyhow::Ok((baseline, waits, requests, gaps))
    })?;
    summarize("uncontended chat wait", &baseline, 1);
    summarize("chat wait", &waits, 1);
    summarize("job request", &requests, 1);
    summarize("job request end → chat request", &gaps, 1);
    let chat_wait_ms = waits.iter().copied().fold(f64::NAN, f64::max);
    drop(rt);
    drop(home);
    Ok(Report {
        scenario: "gate",
        metrics: vec![
            ("job_request_ms", median(&requests)?),
            ("chat_wait_ms", chat_wait_ms),
        ],
    })
}
