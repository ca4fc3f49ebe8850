//! `tui`: what the terminal chat costs on its own.
//!
//! - `frame_p99_ms`: in this process, the library's own screen (`mentor_tui::ui::draw`, as the
//!   client's loop calls it, through ratatui's `Terminal::draw` on a `TestBackend`: render,
//!   diff against the last frame, write the changed cells) of an [`App`] holding a notebook of
//!   [`HISTORY_TURNS`] × 2 messages of mixed Markdown and one podcast job with progress. Each
//!   frame the clock moves 100 ms (the spinner turns) and one token of a streaming reply
//!   arrives as the daemon's event, so no frame is a pure cache hit. At 120×40 and 80×24; the
//!   worse p99 is reported.
//! - `spinner_cpu_percent`, `idle_cpu_percent`, `rss_mb`, `key_latency_p99_ms`: the release
//!   `mentor` in a pseudo-terminal of 120×40 that this process opens and drains, against the
//!   release daemon (stand-in generators) holding a notebook with the same amount of history,
//!   built as 250 real chat turns against the scripted model server. CPU is `utime + stime` of
//!   `/proc/PID/stat` over a wall-clock window, in percent of one core: first while one
//!   stand-in podcast is processing (held on a file, so no progress events: the spinner is
//!   the only thing moving), then, once the job finished and its ready line went (5 s), with
//!   nothing moving. `rss_mb` is `VmRSS` once the notebook is loaded and drawn. Key latency:
//!   one printable character written to the terminal → the first output of `mentor` that
//!   draws it (escape sequences stripped), with nothing else moving on screen and keys paced
//!   so that none waits for the client's frame limit (see [`key_latencies`]).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use mentor_shared::chat::{ChatHistory, ChatMessage, MessageState, Role, TurnOutcome};
use mentor_shared::i18n::{localizer, Lang};
use mentor_shared::ids::{JobId, MessageId, NotebookId};
use mentor_shared::jobs::{
    Event, EventBody, EventFilter, EventKinds, EventsRequest, Job, JobKind, JobRequest, JobSpec,
    JobStatus, Progress,
};
use mentor_shared::service::MentorClient;
use mentor_shared::time::Timestamp;
use mentor_tests::openai::{last_message, Reply, ScriptedServer};
use mentor_tests::rpc::{self, answer, ctx};
use mentor_tui::app::{App, FromDaemon, Msg, OpenNotebook, Snapshot};
use mentor_tui::ui::{self, ViewCache};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::chat::start_daemon;
use super::MIN_PERCENTILE_SAMPLES;
use super::{ms, percentile, progress, rss_mib, summarize, Bench, Home, Report};

/// Chat turns in the notebook (a question and a reply each): the 500 messages `mentor` loads.
const HISTORY_TURNS: usize = 250;
/// Default number of timed frames, per screen size.
const FRAMES: usize = 2000;
/// Screen sizes of the in-process frames (columns, rows).
const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];
/// How far the clock moves between two frames (the spinner's period).
const FRAME_STEP: Duration = Duration::from_millis(100);
/// Default number of timed keys.
const KEYS: usize = 2000;
/// Keys typed before the input is cleared again (Ctrl+U).
const KEYS_PER_LINE: usize = 40;
/// The characters typed, in turn: none of them is a shortcut in the chat, and none is drawn
/// by anything else on a screen where nothing moves.
const KEY_CHARS: &[u8] = b"abcdefgijknopqrstuvwxyz";
/// The pseudo-terminal's size.
const COLS: u16 = 120;
const ROWS: u16 = 40;
/// How long each CPU measure lasts.
const CPU_WINDOW: Duration = Duration::from_secs(10);
/// Pause after the screen first shows the notebook, before anything is measured.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a ready line stays (the client's `LINGER`), and a margin after it.
const LINGER: Duration = Duration::from_secs(5);
const LINGER_MARGIN: Duration = Duration::from_secs(1);
/// The client's frame limit (`mentor_tui::term::MIN_FRAME`): a frame asked for within this
/// long of the last one waits for the rest.
const MIN_FRAME: Duration = mentor_tui::term::MIN_FRAME;
/// Longest wait for one step (a turn, a job's start, something on screen).
const T: Duration = Duration::from_secs(30);

/// `tui`: see the module documentation.
pub fn scenario_tui(bench: &Bench) -> Result<Report> {
    let frames = bench.samples(FRAMES);
    let keys = bench.samples(KEYS);
    let mut frame_p99_ms = 0.0_f64;
    for (w, h) in SIZES {
        progress(&format!(
            "in-process frames at {w}x{h}: {frames} frames, {} messages, one job with progress",
            2 * HISTORY_TURNS
        ));
        let samples = time_frames(w, h, frames)?;
        summarize(&format!("frame {w}x{h}"), &samples, MIN_PERCENTILE_SAMPLES);
        frame_p99_ms = frame_p99_ms.max(p99(&samples));
    }
    let live = live(bench, keys)?;
    Ok(Report {
        scenario: "tui",
        metrics: vec![
            ("frame_p99_ms", frame_p99_ms),
            ("spinner_cpu_percent", live.spinner_cpu_percent),
            ("idle_cpu_percent", live.idle_cpu_percent),
            ("rss_mb", live.rss_mb),
            ("key_latency_p99_ms", live.key_latency_p99_ms),
        ],
    })
}

fn p99(samples: &[f64]) -> f64 {
    percentile(samples, 99.0).unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------------------------
// The conversation both halves use.

/// The learner's question of turn `i` (the model server reads the number back).
fn question(i: usize) -> String {
    let topics = [
        "how do plants turn light into sugar",
        "what does the cell membrane let through",
        "why do muscle cells have so many mitochondria",
        "how is a gene copied into RNA",
        "what happens when a cell divides",
    ];
    format!("Question {i}: {}?", topics[i % topics.len()])
}

/// The turn a question is for.
fn turn_of(question: &str) -> usize {
    question
        .strip_prefix("Question ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The teacher's reply of turn `i`: Markdown of five shapes (short paragraphs, lists, a code
/// block, a long explanation with a heading, a quote and code, a one-liner with a link), each
/// ending with a line that names it so the screen can be recognized.
fn reply_text(i: usize) -> String {
    let subject = [
        "photosynthesis",
        "the cell membrane",
        "mitochondria",
        "transcription",
        "cell division",
    ][i % 5];
    let mut s = String::new();
    match i % 5 {
        0 => {
            s.push_str(&format!(
                "Good question! **{subject}** is easier than it looks. Think of it as a small \
                 factory that takes in raw materials and gives out something the cell can use.\n\n\
                 The key idea is that energy is *stored* in chemical bonds and *released* when \
                 those bonds change. Keep that in mind and the rest follows."
            ));
        }
        1 => {
            s.push_str(&format!("Here is {subject} in a few steps:\n\n"));
            for (n, step) in [
                "Light is absorbed by `chlorophyll` in the thylakoid membranes",
                "Water is split, releasing **oxygen** as a by-product",
                "The energy is stored in ATP and NADPH",
                "The Calvin cycle uses them to fix carbon dioxide",
                "Sugar leaves the chloroplast to feed the cell",
            ]
            .iter()
            .enumerate()
            {
                s.push_str(&format!("{}. {step}\n", n + 1));
            }
            s.push_str(
                "\nWhat to remember:\n\n- inputs: light, water, CO₂\n- outputs: sugar, \
                        oxygen\n- where: the chloroplast\n",
            );
        }
        2 => {
            s.push_str(&format!(
                "A tiny model of {subject} makes it concrete:\n\n```python\n\
                 def step(cell, light):\n    energy = light * cell.efficiency\n    \
                 atp = energy // 30\n    for _ in range(atp):\n        \
                 cell.store('ATP')\n    if cell.water < 1:\n        \
                 raise ValueError('no water left')\n    cell.water -= 1\n    \
                 return cell\n\n\
                 cell = Cell(efficiency=0.3, water=10)\nfor hour in range(12):\n    \
                 step(cell, light=100)\nprint(cell.summary())\n```\n\n\
                 Run it in your head: what happens after ten hours?"
            ));
        }
        3 => {
            s.push_str(&format!("## {subject}, step by step\n\n"));
            for p in 0..4 {
                s.push_str(&format!(
                    "Part {p}. Every living cell has to solve the same problem: it needs a \
                     steady supply of energy, a way to keep its inside different from its \
                     outside, and instructions for building what it needs. When we look at \
                     {subject}, we are looking at one answer to that problem, shaped by \
                     billions of years of trial and error. Notice how each part depends on \
                     the others: take one away and the whole system stops working.\n\n"
                ));
            }
            s.push_str(
                "> A cell is not a bag of chemicals; it is an organized, busy city.\n\n\
                 - **Structure** follows function\n- *Energy* is always paid for\n  \
                 - in ATP\n  - or in gradients\n- Information flows from DNA to protein\n\n\
                 ```text\nDNA --transcription--> RNA --translation--> protein\n```\n",
            );
        }
        _ => {
            s.push_str(&format!(
                "In one line: {subject} is *how the cell keeps going*. See \
                 [the textbook chapter](https://example.org/biology/{i}) for the diagram."
            ));
        }
    }
    s.push_str(&format!("\n\nAnswer {i} ends here."));
    s
}

/// A stored message.
fn message(nb: NotebookId, role: Role, text: String) -> ChatMessage {
    ChatMessage {
        id: MessageId::new(),
        notebook_id: nb,
        role,
        text,
        tool_calls: Vec::new(),
        tool_call_id: None,
        tool_name: None,
        tool_error: false,
        notice: None,
        state: MessageState::Complete,
        error: None,
        created: Timestamp::now(),
    }
}

// ---------------------------------------------------------------------------------------------
// In process: frames.

/// A reply streaming in, one token per frame, as the daemon's events bring it; when it is
/// complete, its final record, the end of the turn and the next question come, and the next
/// reply starts.
struct Stream {
    nb: NotebookId,
    turn: usize,
    id: MessageId,
    tokens: Vec<String>,
    next: usize,
}

impl Stream {
    fn new(nb: NotebookId, turn: usize) -> Stream {
        let text = reply_text(turn);
        Stream {
            nb,
            turn,
            id: MessageId::new(),
            tokens: text
                .split_inclusive([' ', '\n'])
                .map(str::to_string)
                .collect(),
            next: 0,
        }
    }

    /// The events of one frame.
    fn step(&mut self) -> Vec<EventBody> {
        let mut out = Vec::new();
        if self.next == self.tokens.len() {
            let mut done = message(self.nb, Role::Assistant, self.tokens.concat());
            done.id = self.id;
            out.push(EventBody::MessageDone { message: done });
            out.push(EventBody::TurnEnded {
                notebook_id: self.nb,
                outcome: TurnOutcome::Completed,
            });
            let turn = self.turn + 1;
            out.push(EventBody::Message {
                message: message(self.nb, Role::User, question(turn)),
            });
            *self = Stream::new(self.nb, turn);
        }
        out.push(EventBody::Token {
            notebook_id: self.nb,
            message_id: self.id,
            text: self.tokens[self.next].clone(),
        });
        self.next += 1;
        out
    }
}

/// A podcast job halfway through its speech.
fn processing_job(nb: NotebookId, wall: Timestamp) -> Job {
    Job {
        id: JobId::new(),
        kind: JobKind::Podcast,
        status: JobStatus::Processing,
        notebook_id: Some(nb),
        artifact_id: None,
        topic: "photosynthesis".into(),
        params: serde_json::Value::Null,
        progress: Some(Progress {
            current: 6,
            total: 24,
            percentage: 25,
            stage: "stage-speech".into(),
        }),
        result: None,
        error_message: None,
        failure: None,
        attempts: 1,
        max_attempts: 3,
        run_at: wall,
        cancel_requested: false,
        created: Timestamp(wall.0 - 42_000),
        updated: wall,
        finished: None,
    }
}

/// Times `n` frames of a `w`×`h` screen (ms each).
fn time_frames(w: u16, h: u16, n: usize) -> Result<Vec<f64>> {
    let l = localizer(Lang::EnUs);
    let nb = NotebookId::new();
    let t0 = Instant::now();
    let wall0 = Timestamp::now();
    let messages: Vec<ChatMessage> = (0..HISTORY_TURNS)
        .flat_map(|i| {
            [
                message(nb, Role::User, question(i)),
                message(nb, Role::Assistant, reply_text(i)),
            ]
        })
        .collect();
    let snapshot = Snapshot {
        notebook: OpenNotebook {
            id: nb,
            title: "Biology".into(),
            objectives_met: 2,
            objectives_total: 5,
        },
        history: ChatHistory {
            notebook_id: nb,
            messages,
            busy: false,
            earlier: 0,
        },
        jobs: vec![processing_job(nb, wall0)],
        artifacts: Vec::new(),
    };
    let mut app = App::new("llama3.2".into(), "http://127.0.0.1:11434/v1".into(), true);
    app.update(
        Msg::Daemon(FromDaemon::Connected(Box::new(snapshot))),
        t0,
        wall0,
    );
    ensure!(
        app.conversation.entries().len() == 2 * HISTORY_TURNS && app.animating(),
        "the app did not take the snapshot ({} messages, animating: {})",
        app.conversation.entries().len(),
        app.animating()
    );
    let mut terminal = Terminal::new(TestBackend::new(w, h)).context("a test terminal")?;
    let cache = ViewCache::default();
    let started = Instant::now();
    terminal
        .draw(|f| ui::draw(f, &app, &cache, l, t0))
        .context("the first frame")?;
    progress(&format!(
        "  first frame (every message rendered once): {:.3} ms",
        ms(started.elapsed())
    ));

    let mut stream = Stream::new(nb, HISTORY_TURNS);
    let mut samples = Vec::with_capacity(n);
    for i in 1..=n {
        let now = t0 + FRAME_STEP * i as u32;
        let wall = Timestamp(wall0.0 + (FRAME_STEP.as_millis() * i as u128) as i64);
        for body in stream.step() {
            let event = Event {
                seq: i as u64,
                at_us: 0,
                body,
            };
            app.update(Msg::Daemon(FromDaemon::Event(Box::new(event))), now, wall);
        }
        app.update(Msg::Tick, now, wall);
        let started = Instant::now();
        terminal
            .draw(|f| ui::draw(f, &app, &cache, l, now))
            .context("a frame")?;
        samples.push(ms(started.elapsed()));
    }
    ensure!(app.animating(), "the job's spinner stopped");
    Ok(samples)
}

// ---------------------------------------------------------------------------------------------
// The real client.

/// What the real client measured.
struct Live {
    spinner_cpu_percent: f64,
    idle_cpu_percent: f64,
    rss_mb: f64,
    key_latency_p99_ms: f64,
}

fn live(bench: &Bench, keys: usize) -> Result<Live> {
    let server = ScriptedServer::start();
    server.set_responder(|request| Reply::text(&reply_text(turn_of(&last_message(request).1))));
    server.forget_bodies();
    let home = start_daemon(bench, &server, "stand-in", "")?;
    let gate = home.path().join("release-job");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (client, job) = rt.block_on(async {
        let client = rpc::connect(&home.dirs()).await?;
        let nb = answer(client.notebook_create(ctx(T), "Biology".into(), None).await)?.id;
        progress(&format!(
            "building the history: {HISTORY_TURNS} chat turns against the scripted server"
        ));
        build_history(&client, nb).await?;
        let history = answer(client.chat_history(ctx(T), nb.to_string(), 1000).await)?;
        ensure!(
            history.messages.len() == 2 * HISTORY_TURNS,
            "the notebook holds {} messages, expected {}",
            history.messages.len(),
            2 * HISTORY_TURNS
        );
        // A stand-in podcast with no steps, held until the file exists: it runs without
        // reporting progress, so its line only moves by its spinner and elapsed time.
        let request = JobRequest {
            notebook: nb.to_string(),
            topic: format!("photosynthesis [steps=0] [hold={}]", gate.display()),
            language: None,
            spec: JobSpec::Podcast {
                format: Default::default(),
                length: Default::default(),
            },
        };
        let job = answer(client.job_submit(ctx(T), request).await)?.job;
        wait_status(&client, &job, JobStatus::Processing).await?;
        anyhow::Ok((client, job))
    })?;

    progress(&format!(
        "starting `mentor` in a {COLS}x{ROWS} pseudo-terminal"
    ));
    let mut tui = Tui::start(&home)?;
    let pid = tui.pid();
    let last = format!("Answer {} ends here.", HISTORY_TURNS - 1);
    tui.wait_text(&last, T)
        .context("the screen never showed the end of the conversation")?;
    tui.wait_text("Generating podcast…", T)
        .context("the screen never showed the job's line")?;
    std::thread::sleep(SETTLE);
    let rss_mb = rss_mib(pid)?;
    progress(&format!(
        "mentor {pid} with {} messages on screen: VmRSS {rss_mb:.1} MiB, VmHWM {:.1} MiB",
        2 * HISTORY_TURNS,
        hwm_mib(pid)?
    ));

    progress(&format!(
        "CPU with the job's spinner turning, over {} s",
        CPU_WINDOW.as_secs()
    ));
    tui.clear();
    let spinning = Cpu::measure(pid, CPU_WINDOW)?;
    let (bytes, glyphs) = tui.output_since_clear();
    progress(&format!(
        "  {}; {bytes} bytes of output, {glyphs} spinner frames drawn ({:.1}/s)",
        spinning.describe(),
        glyphs as f64 / spinning.wall_s
    ));
    ensure!(
        glyphs > 0,
        "mentor drew no spinner while the job was processing"
    );

    progress("letting the job finish");
    std::fs::write(&gate, b"").with_context(|| format!("write {}", gate.display()))?;
    rt.block_on(wait_status(&client, &job, JobStatus::Completed))?;
    tui.wait_text("Podcast ready", T)
        .context("the screen never showed the ready line")?;
    std::thread::sleep(LINGER + LINGER_MARGIN);
    tui.wait_quiet(Duration::from_secs(1), T)?;
    progress(&format!(
        "CPU with nothing moving, over {} s",
        CPU_WINDOW.as_secs()
    ));
    tui.clear();
    let idle = Cpu::measure(pid, CPU_WINDOW)?;
    let (bytes, _) = tui.output_since_clear();
    progress(&format!("  {}; {bytes} bytes of output", idle.describe()));

    progress(&format!("timing {keys} keys"));
    let latencies = key_latencies(&mut tui, keys)?;
    summarize("key to screen", &latencies, MIN_PERCENTILE_SAMPLES);
    progress(&format!(
        "mentor {pid} at the end: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        rss_mib(pid)?,
        hwm_mib(pid)?
    ));
    tui.quit()?;
    drop(client);
    drop(rt);
    drop(home);
    Ok(Live {
        spinner_cpu_percent: spinning.percent,
        idle_cpu_percent: idle.percent,
        rss_mb,
        key_latency_p99_ms: p99(&latencies),
    })
}

/// Runs [`HISTORY_TURNS`] chat turns in `nb`, each to its end.
async fn build_history(client: &MentorClient, nb: NotebookId) -> Result<()> {
    let mut cursor = mentor_tests::rpc::cursor_now(client).await?;
    for i in 0..HISTORY_TURNS {
        answer(client.chat_send(ctx(T), nb.to_string(), question(i)).await)?;
        let deadline = Instant::now() + T;
        'turn: loop {
            ensure!(Instant::now() < deadline, "turn {i} did not end");
            let request = EventsRequest {
                after: Some(cursor),
                max_wait_ms: 5_000,
                max_events: 1000,
                filter: EventFilter {
                    job: None,
                    notebook: Some(nb),
                    kinds: EventKinds::Conversation,
                },
                linger_ms: 0,
                coalesce_progress: false,
            };
            let batch = answer(client.events_next(ctx(T), request).await)?;
            ensure!(!batch.reload, "events were missed in turn {i}");
            cursor = batch.cursor;
            for event in batch.events {
                if let EventBody::TurnEnded { outcome, .. } = event.body {
                    ensure!(
                        outcome == TurnOutcome::Completed,
                        "turn {i} ended {outcome:?}"
                    );
                    break 'turn;
                }
            }
        }
        if (i + 1) % 50 == 0 {
            progress(&format!("  {}/{HISTORY_TURNS} turns", i + 1));
        }
    }
    Ok(())
}

/// Waits until `job` has `status`.
async fn wait_status(client: &MentorClient, job: &Job, status: JobStatus) -> Result<()> {
    let deadline = Instant::now() + T;
    loop {
        let shown = answer(client.job_show(ctx(T), job.id.to_string()).await)?;
        if shown.status == status {
            return Ok(());
        }
        if shown.status.is_terminal() {
            bail!("job {} is {:?}, not {status:?}", job.id, shown.status);
        }
        ensure!(
            Instant::now() < deadline,
            "job {} is still {:?}, not {status:?}",
            job.id,
            shown.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Times `n` keys: each a character typed into the input, from the write to the terminal to
/// the output that draws it. The input is cleared every [`KEYS_PER_LINE`] keys. Between keys
/// the screen is let finish, then a pause of [`MIN_FRAME`] and a random part (up to 10 ms):
/// keys come as a very fast typist's do (some 50 a second), so none waits for the client's
/// frame limit, which only holds a key that comes within `MIN_FRAME` of the last frame.
fn key_latencies(tui: &mut Tui, n: usize) -> Result<Vec<f64>> {
    // xorshift64: where in the client's cycle each key lands.
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut unit = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut latencies = Vec::with_capacity(n);
    let mut typed = 0;
    for i in 0..n {
        if typed == KEYS_PER_LINE {
            tui.clear();
            tui.write(&[0x15])?; // Ctrl+U: the line is cleared, the placeholder is back
            tui.wait_text("Message your teacher…", T)
                .context("Ctrl+U did not clear the input")?;
            typed = 0;
        }
        tui.wait_quiet(Duration::from_millis(3), T)?;
        std::thread::sleep(MIN_FRAME + Duration::from_secs_f64(0.010 * unit()));
        let c = KEY_CHARS[i % KEY_CHARS.len()];
        latencies.push(ms(tui.key(c, T)?));
        typed += 1;
        if (i + 1) % 500 == 0 {
            progress(&format!("  {}/{n}", i + 1));
        }
    }
    Ok(latencies)
}

// ---------------------------------------------------------------------------------------------
// /proc.

/// `utime + stime` of a process (all its threads), in clock ticks, from `/proc/PID/stat`.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("bad {path}: {text:?}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line; `rest` starts at field 3.
    let tick = |i: usize| -> Result<u64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("no field {i} in {path}: {text:?}"))
    };
    Ok(tick(14)? + tick(15)?)
}

/// Nanoseconds on a CPU of every thread of a process (`/proc/PID/task/*/schedstat`): a finer
/// cross-check of [`cpu_ticks`] (threads that ended are not counted).
fn cpu_ns(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).with_context(|| format!("read {dir}"))? {
        let path = entry
            .with_context(|| format!("read {dir}"))?
            .path()
            .join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        total += text
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u64>().ok())
            .with_context(|| format!("bad {}: {text:?}", path.display()))?;
    }
    Ok(total)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
fn clock_ticks() -> Result<f64> {
    // SAFETY: sysconf only reads a configuration value.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ensure!(tck > 0, "sysconf(_SC_CLK_TCK) failed");
    Ok(tck as f64)
}

/// Peak resident set size of a process, in MiB (`VmHWM` in `/proc/PID/status`).
fn hwm_mib(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .with_context(|| format!("no VmHWM in {path}"))?;
    let kib: f64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("bad VmHWM line in {path}: {line:?}"))?;
    Ok(kib / 1024.0)
}

/// A process's CPU use over a window.
struct Cpu {
    /// Percent of one core, from `utime + stime`.
    percent: f64,
    /// Percent of one core, from the threads' schedstat (the cross-check).
    sched_percent: f64,
    ticks: u64,
    wall_s: f64,
}

impl Cpu {
    fn measure(pid: u32, window: Duration) -> Result<Cpu> {
        let tck = clock_ticks()?;
        let (t0, ns0, at0) = (cpu_ticks(pid)?, cpu_ns(pid)?, Instant::now());
        std::thread::sleep(window);
        let (t1, ns1, at1) = (cpu_ticks(pid)?, cpu_ns(pid)?, Instant::now());
        let wall_s = (at1 - at0).as_secs_f64();
        let ticks = t1.saturating_sub(t0);
        Ok(Cpu {
            percent: ticks as f64 / tck / wall_s * 100.0,
            sched_percent: ns1.saturating_sub(ns0) as f64 / 1e9 / wall_s * 100.0,
            ticks,
            wall_s,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{:.3} % of a core ({} ticks in {:.2} s; schedstat says {:.3} %)",
            self.percent, self.ticks, self.wall_s, self.sched_percent
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The pseudo-terminal.

/// What `mentor` drew, as the reader thread sees it.
#[derive(Default)]
struct Screen {
    /// The printable bytes of the output (escape sequences, controls and spaces left out:
    /// ratatui skips cells that did not change, blanks included), since the last clear.
    text: Vec<u8>,
    /// Bytes of output since the last clear.
    bytes: u64,
    /// When the last output came.
    last_at: Option<Instant>,
    /// A character being waited for, and when it came.
    watch: Option<u8>,
    seen_at: Option<Instant>,
    /// The terminal closed (`mentor` is gone).
    closed: bool,
    /// Where the escape-sequence parser is.
    parser: Parser,
}

/// A minimal parser of the output's escape sequences.
#[derive(Default, Clone, Copy)]
enum Parser {
    #[default]
    Ground,
    Escape,
    Charset,
    Csi,
    Str,
    StrEscape,
}

impl Screen {
    /// Takes a chunk of output that arrived at `at`.
    fn feed(&mut self, chunk: &[u8], at: Instant) {
        let from = self.text.len();
        for &b in chunk {
            self.parser = match (self.parser, b) {
                (Parser::Ground, 0x1b) => Parser::Escape,
                (Parser::Ground, b) => {
                    if b > b' ' && b != 0x7f {
                        self.text.push(b);
                    }
                    Parser::Ground
                }
                (Parser::Escape, b'[') => Parser::Csi,
                (Parser::Escape, b']' | b'P' | b'_' | b'^' | b'X') => Parser::Str,
                (Parser::Escape, b'(' | b')' | b'*' | b'+' | b'#') => Parser::Charset,
                (Parser::Escape | Parser::Charset, _) => Parser::Ground,
                (Parser::Csi, 0x40..=0x7e) => Parser::Ground,
                (Parser::Csi, _) => Parser::Csi,
                (Parser::Str, 0x07) => Parser::Ground,
                (Parser::Str, 0x1b) => Parser::StrEscape,
                (Parser::Str, _) => Parser::Str,
                (Parser::StrEscape, b'\\') => Parser::Ground,
                (Parser::StrEscape, _) => Parser::Str,
            };
        }
        self.bytes += chunk.len() as u64;
        self.last_at = Some(at);
        if let (Some(c), None) = (self.watch, self.seen_at) {
            if self.text[from..].contains(&c) {
                self.seen_at = Some(at);
            }
        }
    }

    fn contains(&self, needle: &str) -> bool {
        let needle: Vec<u8> = needle.bytes().filter(|b| *b != b' ').collect();
        self.text.windows(needle.len()).any(|w| w == needle)
    }

    /// Spinner frames in the text (braille patterns, U+2800–U+28FF: E2 A0–A3 xx).
    fn spinner_glyphs(&self) -> usize {
        self.text
            .windows(2)
            .filter(|w| w[0] == 0xe2 && (0xa0..=0xa3).contains(&w[1]))
            .count()
    }

    fn tail(&self) -> String {
        let from = self.text.len().saturating_sub(400);
        String::from_utf8_lossy(&self.text[from..]).into_owned()
    }
}

type Shared = Arc<(Mutex<Screen>, Condvar)>;

/// `mentor` running in a pseudo-terminal this process opened; a thread drains its output all
/// the time, so it never blocks on a full terminal. Dropping it kills `mentor`.
struct Tui {
    child: Child,
    master: File,
    shared: Shared,
}

/// Opens a pseudo-terminal of `cols`×`rows`; (master, slave), both close-on-exec.
fn open_pty(cols: u16, rows: u16) -> Result<(OwnedFd, OwnedFd)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors through the pointers; the name and the
    // termios may be null, the window size is read only.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("openpty");
    }
    // SAFETY: both descriptors were just opened and belong to nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        // SAFETY: fcntl on a descriptor this function owns.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error()).context("fcntl(FD_CLOEXEC) on the pty");
        }
    }
    Ok((master, slave))
}

impl Tui {
    /// Starts `mentor` (the chat, no command) with `home`'s environment on a new terminal.
    fn start(home: &Home<'_>) -> Result<Tui> {
        let (master, slave) = open_pty(COLS, ROWS)?;
        let mut cmd = home.command(std::iter::empty::<&str>());
        cmd.env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .env_remove("LINES")
            .stdin(Stdio::from(slave.try_clone().context("dup the pty")?))
            .stdout(Stdio::from(slave.try_clone().context("dup the pty")?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own, with the pty (now its stdin) as controlling terminal.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().context("start mentor in a pseudo-terminal")?;
        // The parent's copies of the slave go with the command.
        drop(cmd);
        let shared: Shared = Arc::default();
        let mut reader = File::from(master.try_clone().context("dup the pty")?);
        let screen = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let at = Instant::now();
                    let (lock, cv) = &*screen;
                    lock.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .feed(&buf[..n], at);
                    cv.notify_all();
                }
                let (lock, cv) = &*screen;
                lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
                cv.notify_all();
            });
        let mut tui = Tui {
            child,
            master: File::from(master),
            shared,
        };
        if let Err(e) = spawned {
            tui.kill();
            return Err(e).context("start the pty reader thread");
        }
        Ok(tui)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn lock(&self) -> MutexGuard<'_, Screen> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the output so far.
    fn clear(&self) {
        let mut s = self.lock();
        s.text.clear();
        s.bytes = 0;
    }

    /// Bytes of output and spinner frames since the last clear.
    fn output_since_clear(&self) -> (u64, usize) {
        let s = self.lock();
        (s.bytes, s.spinner_glyphs())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.master
            .write_all(bytes)
            .context("write to the pseudo-terminal")
    }

    /// Waits until `done` holds for the screen, for at most `timeout`.
    fn wait(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Screen, Instant) -> Option<Duration>,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            let Some(wait) = done(&s, now) else {
                return Ok(());
            };
            if s.closed || now >= deadline {
                let why = if s.closed {
                    "the terminal closed".to_string()
                } else {
                    format!("nothing within {timeout:?}")
                };
                let tail = s.tail();
                drop(s);
                let status = match self.child.try_wait() {
                    Ok(Some(status)) => format!("mentor exited ({status})"),
                    _ => "mentor still runs".to_string(),
                };
                bail!("{what}: {why}; {status}; its last output: {tail:?}");
            }
            let wait = wait.min(deadline - now);
            s = cv
                .wait_timeout(s, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits until the output since the last clear shows `needle` (spaces aside).
    fn wait_text(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        self.wait(&format!("waiting for {needle:?}"), timeout, |s, _| {
            (!s.contains(needle)).then_some(Duration::from_secs(1))
        })
    }

    /// Waits until `mentor` wrote nothing for `quiet`.
    fn wait_quiet(&mut self, quiet: Duration, timeout: Duration) -> Result<()> {
        let from = Instant::now();
        self.wait("waiting for a quiet screen", timeout, |s, now| {
            let since = s.last_at.map_or(from, |at| at.max(from));
            let waited = now.saturating_duration_since(since);
            (waited < quiet).then(|| quiet - waited)
        })
    }

    /// Types `c` and waits for the output that draws it; the time between.
    fn key(&mut self, c: u8, timeout: Duration) -> Result<Duration> {
        {
            let mut s = self.lock();
            s.text.clear();
            s.watch = Some(c);
            s.seen_at = None;
        }
        let sent = Instant::now();
        self.write(&[c])?;
        self.wait(
            &format!("waiting for the key {:?} on screen", c as char),
            timeout,
            |s, _| s.seen_at.is_none().then_some(Duration::from_secs(1)),
        )?;
        let mut s = self.lock();
        s.watch = None;
        let seen = s.seen_at.take().context("the key was not seen")?;
        Ok(seen.saturating_duration_since(sent))
    }

    /// Quits with Ctrl+C, as a learner does, and checks that `mentor` ended well.
    fn quit(mut self) -> Result<()> {
        self.write(&[0x03])?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().context("wait for mentor")? {
                ensure!(status.success(), "mentor ended with {status} after Ctrl+C");
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "mentor did not quit on Ctrl+C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            progress(&format!("killing mentor {}", self.child.id()));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_left_out_and_spaces_skipped() {
        let mut s = Screen::default();
        let at = Instant::now();
        s.feed(b"\x1b[?1049h\x1b[1;1H\x1b[38;5;12mHel", at);
        s.feed(b"lo\x1b[0m wor\x1b]52;c;Zm9v\x07ld\x1b(B!", at);
        assert_eq!(String::from_utf8_lossy(&s.text), "Helloworld!");
        assert!(s.contains("Hello world"));
        s.feed("⠋ x".as_bytes(), at);
        assert_eq!(s.spinner_glyphs(), 1);
    }

    #[test]
    fn the_turn_is_read_back_from_the_question() {
        assert_eq!(turn_of(&question(137)), 137);
        assert!(reply_text(3).ends_with("Answer 3 ends here."));
    }
}
