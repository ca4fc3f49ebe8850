//! `podcast-tts`: the speech step of a podcast through the real espeak-ng, in the release
//! daemon. The scripted model server writes a fixed 24-turn transcript (4 segments of 6
//! turns); the same job then runs with `[tts] parallel = 1` (one clip at a time) and with the
//! default (one clip per core), alternating, in fresh homes.
//!
//! Times come from the daemon's own job records (each progress change is stamped when it is
//! committed): speech runs from `stage-speech 0/24` to `stage-combine 0/1`, combining from
//! there to `stage-combine 1/1`. The daemon's peak RSS is its `VmHWM` in `/proc` after the job.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use mentor_shared::jobs::{
    Cursor, EventBody, EventFilter, EventsRequest, Job, JobRequest, JobSpec, JobStatus,
    PodcastFormat, PodcastLength,
};
use mentor_tests::openai::{Reply, ScriptedServer};
use mentor_tests::rpc;
use serde_json::{json, Value};

use super::{median, progress, Bench, Report};

/// Turns of each segment (4 segments at the default length).
const TURNS_PER_SEGMENT: usize = 6;
/// Runs of each mode (alternating).
const ROUNDS: usize = 9;

/// The fixed lines the hosts say, in order.
const LINES: [&str; 24] = [
    "Welcome back to the show. Today we are looking inside the living cell.",
    "It is a tiny world, but it runs like a busy city with power plants and roads.",
    "Let us start with the power plants: the mitochondria.",
    "Right. Mitochondria take sugar and oxygen and turn them into a molecule called ATP.",
    "And ATP is the energy currency that almost every process in the cell spends.",
    "Which is why muscle cells, which work hard, are packed with mitochondria.",
    "Now, every city needs walls and gates. For the cell, that is the membrane.",
    "The membrane is a double layer of lipids, with proteins floating in it like boats.",
    "Some of those proteins are channels that let only certain ions pass through.",
    "Others are pumps, and they spend ATP to push molecules against the gradient.",
    "So the membrane is not a wall at all; it is a very selective border control.",
    "Exactly, and when it fails, the cell loses control of what is inside it.",
    "Let us move to the library of the city, the nucleus, where the DNA is kept.",
    "The DNA holds the instructions, but it never leaves the nucleus itself.",
    "Instead, the cell copies a gene into messenger RNA, which travels outside.",
    "Out in the cytoplasm, ribosomes read that message three letters at a time.",
    "And each three letter word stands for one amino acid in the growing protein.",
    "When the chain is finished, it folds into a shape that decides its job.",
    "Before we finish, a quick word about how cells divide and make new cells.",
    "First the DNA is copied, so that each daughter cell gets a complete set.",
    "Then the chromosomes line up in the middle and are pulled to opposite sides.",
    "Finally the membrane pinches in, and one cell has become two.",
    "So to sum up: power plants, borders, a library, factories, and copying.",
    "Thanks for listening, and see you next time for another trip inside the cell.",
];

/// The model's answers: the outline, then each segment's six turns from [`LINES`].
fn responder(request: &Value) -> Reply {
    let schema = &request["response_format"]["json_schema"];
    match schema["name"].as_str().unwrap_or("") {
        "podcast_outline" => {
            let n = schema["schema"]["properties"]["segments"]["minItems"]
                .as_u64()
                .unwrap_or(4);
            let segments: Vec<Value> = (0..n)
                .map(|i| json!({"title": format!("Part {}", i + 1), "points": ["A point"]}))
                .collect();
            Reply::text(&json!({"title": "Inside the cell", "segments": segments}).to_string())
        }
        "podcast_segment" => {
            let text = request["messages"].to_string();
            let segment = (1..=4)
                .find(|i| text.contains(&format!("Now write segment {i} of")))
                .unwrap_or(1);
            let hosts = ["Alex", "Sam"];
            let turns: Vec<Value> = (0..TURNS_PER_SEGMENT)
                .map(|t| {
                    json!({
                        "speaker": hosts[t % 2],
                        "text": LINES[(segment - 1) * TURNS_PER_SEGMENT + t],
                    })
                })
                .collect();
            Reply::text(&json!({ "turns": turns }).to_string())
        }
        other => Reply::status(400, format!("unexpected request {other}")),
    }
}

/// One podcast job's timings.
struct Run {
    speech_s: f64,
    combine_s: f64,
    peak_rss_mb: f64,
}

/// Peak resident set size of a process, in MiB (`VmHWM` in `/proc/PID/status`).
fn peak_rss_mib(pid: u32) -> Result<f64> {
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
        .with_context(|| format!("bad VmHWM line: {line:?}"))?;
    Ok(kib / 1024.0)
}

/// Runs the podcast once with `parallel` clips at a time (0: one per core).
fn run_once(bench: &Bench, server: &ScriptedServer, parallel: u32) -> Result<Run> {
    let home = bench.home()?;
    let config = format!(
        "[llm]\nbase_url = \"{}\"\nmodel = \"scripted\"\n\n[tts]\nparallel = {parallel}\n",
        server.base_url()
    );
    let dir = home.path().join("config");
    std::fs::create_dir_all(&dir).context("config dir")?;
    std::fs::write(dir.join("config.toml"), config).context("write config")?;
    home.mentor(&["daemon", "start"])?;
    home.mentor(&["notebook", "create", "Bench"])?;
    let pid = home.daemon_pid()?;
    let dirs = home.dirs();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let records: Vec<Job> = runtime.block_on(async {
        let client = rpc::connect(&dirs).await?;
        let mut cursor: Cursor = rpc::cursor_now(&client).await?;
        let request = JobRequest {
            notebook: "Bench".into(),
            topic: "cells".into(),
            language: Some("en-US".into()),
            spec: JobSpec::Podcast {
                format: PodcastFormat::DeepDive,
                length: PodcastLength::Default,
            },
        };
        let submitted = rpc::answer(client.job_submit(rpc::ctx(T), request).await)?;
        let id = submitted.job.id;
        let mut records = Vec::new();
        loop {
            let next = EventsRequest {
                after: Some(cursor),
                max_wait_ms: 5000,
                max_events: 1000,
                filter: EventFilter::default(),
                linger_ms: 0,
                coalesce_progress: false,
            };
            let batch = rpc::answer(client.events_next(rpc::ctx(T), next).await)?;
            ensure!(!batch.reload, "job events were missed");
            cursor = batch.cursor;
            for event in batch.events {
                if let EventBody::Job { job } = event.body {
                    if job.id == id {
                        let status = job.status;
                        records.push(job);
                        if status.is_terminal() {
                            ensure!(
                                status == JobStatus::Completed,
                                "the podcast ended {}: {:?}",
                                status.as_str(),
                                records.last().and_then(|j| j.error_message.clone())
                            );
                            return Ok::<_, anyhow::Error>(records);
                        }
                    }
                }
            }
        }
    })?;
    let at = |stage: &str, current: u32| {
        records
            .iter()
            .find(|j| {
                j.progress
                    .as_ref()
                    .is_some_and(|p| p.stage == stage && p.current == current)
            })
            .map(|j| j.updated.0)
            .with_context(|| format!("no {stage} {current} record"))
    };
    let speech_start = at("stage-speech", 0)?;
    let combine_start = at("stage-combine", 0)?;
    let combine_end = at("stage-combine", 1)?;
    let clips = records
        .iter()
        .filter_map(|j| j.progress.as_ref())
        .find(|p| p.stage == "stage-speech")
        .map(|p| p.total)
        .unwrap_or(0);
    ensure!(clips == 24, "the transcript has {clips} turns, not 24");
    let peak_rss_mb = peak_rss_mib(pid)?;
    home.stop_daemon()?;
    // The daemon logs how its combining time splits (reading, mixing, writing).
    let log = std::fs::read_to_string(dirs.log_file()).unwrap_or_default();
    if let Some(line) = log.lines().find(|l| l.contains("podcast combined")) {
        progress(&format!("  {}", line.trim()));
    }
    Ok(Run {
        speech_s: (combine_start - speech_start) as f64 / 1000.0,
        combine_s: (combine_end - combine_start) as f64 / 1000.0,
        peak_rss_mb,
    })
}

const T: Duration = Duration::from_secs(120);

/// The podcast-tts scenario.
pub fn scenario_podcast_tts(bench: &Bench) -> Result<Report> {
    if std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!("espeak-ng is not installed: run ./install.sh --test (or apt-get install espeak-ng)");
    }
    let server = ScriptedServer::start();
    server.set_responder(responder);
    server.forget_bodies();
    let rounds = bench.samples(ROUNDS).max(1);
    let (mut sequential, mut parallel, mut shares, mut peak) = (vec![], vec![], vec![], 0.0f64);
    for round in 0..rounds {
        for (mode, clips_at_once) in [("one clip at a time", 1), ("in parallel", 0)] {
            progress(&format!("round {}/{rounds}: {mode}", round + 1));
            let run = run_once(bench, &server, clips_at_once)?;
            progress(&format!(
                "  speech {:.2} s, combine {:.3} s, peak RSS {:.1} MiB",
                run.speech_s, run.combine_s, run.peak_rss_mb
            ));
            peak = peak.max(run.peak_rss_mb);
            if clips_at_once == 1 {
                sequential.push(run.speech_s);
            } else {
                shares.push(run.combine_s / (run.speech_s + run.combine_s));
                parallel.push(run.speech_s);
            }
        }
    }
    let sequential_s = median(&sequential)?;
    let parallel_s = median(&parallel)?;
    Ok(Report {
        scenario: "podcast-tts",
        metrics: vec![
            ("sequential_s", sequential_s),
            ("parallel_s", parallel_s),
            ("parallel_speedup", sequential_s / parallel_s),
            ("combine_share", median(&shares)?),
            ("peak_rss_mb", peak),
        ],
    })
}
