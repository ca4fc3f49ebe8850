//! `push`: how fast a committed job change reaches subscribed clients over the socket, with 50
//! of them subscribed, and what 50 idle subscribers cost the daemon.
//!
//! The release `mentord` runs a scripted test job whose steps each commit a progress change;
//! every event carries the time it was published (right after its commit, in microseconds),
//! and each client notes when it arrived. Then the job ends, the 50 clients stay subscribed
//! (long-polls waiting on the bus), and the daemon's CPU time is read from `/proc` over 10 s.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use mentor_shared::jobs::{
    Cursor, EventBody, EventFilter, EventsRequest, JobRequest, JobSpec, JobStatus, TestScript,
};
use mentor_tests::rpc;

use super::{percentile, progress, summarize, Bench, Report};

/// Subscribed clients.
const SUBSCRIBERS: usize = 50;
/// Progress steps of the measured job (each one event per subscriber).
const STEPS: usize = 200;
/// Pause between steps.
const STEP_MS: u64 = 10;
/// Idle measurement window.
const IDLE: Duration = Duration::from_secs(10);

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The push scenario.
pub fn scenario_push(bench: &Bench) -> Result<Report> {
    let steps = bench
        .samples(STEPS * SUBSCRIBERS)
        .div_ceil(SUBSCRIBERS)
        .max(1);
    let home = bench.home()?;
    progress("starting the daemon with the scripted test job");
    let out = home
        .command(["daemon", "start"])
        .env("MENTORD_TEST_HANDLERS", "1")
        .output()
        .context("start the daemon")?;
    ensure!(
        out.status.success(),
        "daemon start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    home.mentor(&["notebook", "create", "Bench"])?;
    let pid = home.daemon_pid()?;
    let dirs = home.dirs();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (latencies, idle_cpu) = runtime.block_on(async {
        // Every subscriber starts at the current end of the stream.
        let mut subscribers = Vec::new();
        for _ in 0..SUBSCRIBERS {
            let client = rpc::connect(&dirs).await?;
            let batch = rpc::answer(
                client
                    .events_next(rpc::ctx(Duration::from_secs(10)), request(None, 0))
                    .await,
            )?;
            subscribers.push((client, batch.cursor));
        }
        progress(&format!("{SUBSCRIBERS} subscribers; job of {steps} steps"));
        let (done_tx, done_rx) = tokio::sync::watch::channel(0usize);
        let mut tasks = Vec::new();
        for (client, cursor) in subscribers {
            let done_tx = done_tx.clone();
            tasks.push(tokio::spawn(async move {
                let mut cursor = cursor;
                let mut latencies = Vec::new();
                let mut finished = false;
                loop {
                    let batch = rpc::answer(
                        client
                            .events_next(
                                rpc::ctx(Duration::from_secs(40)),
                                request(Some(cursor), 30_000),
                            )
                            .await,
                    )?;
                    let arrived = now_us();
                    ensure!(!batch.reload, "subscriber fell behind");
                    cursor = batch.cursor;
                    for e in batch.events {
                        latencies.push((arrived - e.at_us) as f64 / 1000.0);
                        let EventBody::Job { job } = e.body else {
                            continue;
                        };
                        if job.status == JobStatus::Completed && !finished {
                            finished = true;
                            done_tx.send_modify(|n| *n += 1);
                        }
                    }
                    if finished {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                }
            }));
        }
        let control = rpc::connect(&dirs).await?;
        let submitted = rpc::answer(
            control
                .job_submit(
                    rpc::ctx(Duration::from_secs(10)),
                    JobRequest {
                        notebook: "Bench".into(),
                        topic: String::new(),
                        language: None,
                        spec: JobSpec::Test(TestScript {
                            steps: steps as u32,
                            step_ms: STEP_MS,
                            ..TestScript::default()
                        }),
                    },
                )
                .await,
        )?;
        progress(&format!("submitted {}", submitted.job.id));
        let mut done_rx = done_rx;
        let limit = Duration::from_millis(steps as u64 * STEP_MS * 4 + 30_000);
        tokio::time::timeout(limit, done_rx.wait_for(|n| *n == SUBSCRIBERS))
            .await
            .context("the subscribers did not all see the job end")?
            .context("subscribers gone")?;
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.context("subscriber task")??);
        }

        // Idle: 50 subscribers waiting on the bus, nothing happening.
        let mut idle = Vec::new();
        for _ in 0..SUBSCRIBERS {
            let client = rpc::connect(&dirs).await?;
            let cursor = rpc::answer(
                client
                    .events_next(rpc::ctx(Duration::from_secs(10)), request(None, 0))
                    .await,
            )?
            .cursor;
            idle.push(tokio::spawn(async move {
                // Long-polls that end only when their wait runs out.
                loop {
                    let r = client
                        .events_next(
                            rpc::ctx(Duration::from_secs(70)),
                            request(Some(cursor), 60_000),
                        )
                        .await;
                    if r.is_err() {
                        return;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        progress(&format!("measuring idle CPU for {} s", IDLE.as_secs()));
        let before = cpu_ticks(pid)?;
        tokio::time::sleep(IDLE).await;
        let after = cpu_ticks(pid)?;
        for t in idle {
            t.abort();
        }
        let idle_cpu = (after - before) as f64 / clock_ticks()? / IDLE.as_secs_f64() * 100.0;
        Ok::<_, anyhow::Error>((latencies, idle_cpu))
    })?;
    summarize("push latency", &latencies, 1000);
    Ok(Report {
        scenario: "push",
        metrics: vec![
            ("subscribers", SUBSCRIBERS as f64),
            (
                "push_p50_ms",
                percentile(&latencies, 50.0).unwrap_or(f64::NAN),
            ),
            (
                "push_p99_ms",
                percentile(&latencies, 99.0).unwrap_or(f64::NAN),
            ),
            ("idle_cpu_percent", idle_cpu),
        ],
    })
}

fn request(after: Option<Cursor>, max_wait_ms: u64) -> EventsRequest {
    EventsRequest {
        after,
        max_wait_ms,
        max_events: 1000,
        filter: EventFilter::default(),
        linger_ms: 0,
        coalesce_progress: false,
    }
}

/// utime + stime of a process, in clock ticks (`/proc/PID/stat`).
fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .with_context(|| format!("bad {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, i.e. 12 and 13 after the name.
    let utime: u64 = fields.get(11).context("utime")?.parse()?;
    let stime: u64 = fields.get(12).context("stime")?.parse()?;
    Ok(utime + stime)
}

/// Clock ticks per second.
fn clock_ticks() -> Result<f64> {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("getconf CLK_TCK")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0))
}
