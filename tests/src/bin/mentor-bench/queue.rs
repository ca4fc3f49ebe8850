//! `queue`: the job lifecycle (enqueue → claim → complete, durable, no-op handler, two
//! workers) through Mentor's queue, and in the same run the same lifecycle on apalis with its
//! SQLite backend and on a bare rusqlite loop doing the same three write transactions per job
//! (the floor no queue can beat).
//!
//! Mentor's queue is measured in-process (the daemon's library, the same code `mentord`
//! runs), since apalis and the floor are in-process too: the comparison is between queues,
//! not sockets.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use futures::future::BoxFuture;
use mentor_daemon::queue::bus::{EventBus, Wait};
use mentor_daemon::queue::sql::NewJob;
use mentor_daemon::queue::{pool, JobContext, JobError, JobHandler, Queue};
use mentor_daemon::store::{notebooks, Store};
use mentor_shared::config::JobsConfig;
use mentor_shared::ids::UserId;
use mentor_shared::jobs::{EventBody, EventFilter, JobKind, JobStatus};
use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{ms, percentile, progress, summarize, Bench, Report};

/// Jobs per run.
const JOBS: usize = 20_000;
const ME: UserId = UserId(1000);

struct Noop;

impl JobHandler for Noop {
    fn kind(&self) -> JobKind {
        JobKind::Test
    }
    fn run<'a>(&'a self, _: &'a JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async { Ok(Value::Null) })
    }
}

/// The queue scenario.
pub fn scenario_queue(bench: &Bench) -> Result<Report> {
    let jobs = bench.samples(JOBS);
    let dir = tempfile::Builder::new()
        .prefix("mbq")
        .tempdir_in("/tmp")
        .context("temporary directory")?;

    progress(&format!("mentor queue: {jobs} jobs, 2 workers"));
    let (ours, enqueue_ms) = mentor_queue(&dir.path().join("mentor.db"), jobs)?;
    summarize("enqueue", &enqueue_ms, 1000);
    progress(&format!("mentor queue: {ours:.0} jobs/s"));

    progress(&format!("raw rusqlite floor: {jobs} jobs"));
    let floor = raw_floor(&dir.path().join("floor.db"), jobs)?;
    progress(&format!("raw floor: {floor:.0} jobs/s"));

    progress(&format!("apalis-sqlite: {jobs} jobs, 2 workers"));
    let apalis = apalis(&dir.path().join("apalis.db"), jobs)?;
    progress(&format!("apalis: {apalis:.0} jobs/s"));

    Ok(Report {
        scenario: "queue",
        metrics: vec![
            ("jobs_per_sec", ours),
            (
                "enqueue_p99_ms",
                percentile(&enqueue_ms, 99.0).unwrap_or(f64::NAN),
            ),
            ("apalis_jobs_per_sec", apalis),
            ("raw_floor_jobs_per_sec", floor),
            ("ratio_vs_apalis", ours / apalis),
            ("ratio_vs_floor", ours / floor),
        ],
    })
}

/// Runs `jobs` jobs through Mentor's queue; returns jobs/s and each enqueue's latency (ms).
fn mentor_queue(db: &Path, jobs: usize) -> Result<(f64, Vec<f64>)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async {
        let path = db.to_path_buf();
        let store = tokio::task::spawn_blocking(move || Store::open(&path))
            .await
            .context("open task")?
            .context("open the database")?;
        let notebook = store
            .write(|tx| notebooks::create(tx, ME, "Bench", ""))
            .await
            .map_err(|e| anyhow::anyhow!("create notebook: {e}"))?;
        let config = JobsConfig {
            concurrency: 2,
            ..JobsConfig::default()
        };
        let bus = Arc::new(EventBus::new());
        let queue = Arc::new(Queue::new(
            store.clone(),
            bus.clone(),
            config,
            vec![Arc::new(Noop)],
        ));
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        pool::start(
            queue.clone(),
            &tasks,
            &tokio::runtime::Handle::current(),
            shutdown.clone(),
        )
        .await;

        // Completions are counted from the event bus, as a client would see them.
        let start_cursor = bus.fetch(ME, None, &EventFilter::default(), 1).cursor;
        let counter = {
            let bus = bus.clone();
            let store = store.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let mut cursor = start_cursor;
                let mut done = 0usize;
                while done < jobs {
                    let batch = bus
                        .next(
                            ME,
                            Some(cursor),
                            &EventFilter::default(),
                            Wait::new(1000, Duration::from_secs(30)),
                            &stop,
                        )
                        .await;
                    cursor = batch.cursor;
                    if batch.reload {
                        // Fell behind the bus's history: count in the database instead.
                        done = store
                            .read(|c| {
                                Ok(c.query_row(
                                    "SELECT COUNT(*) FROM jobs WHERE status = 'completed'",
                                    [],
                                    |r| r.get::<_, i64>(0),
                                )? as usize)
                            })
                            .await
                            .unwrap_or(done);
                        continue;
                    }
                    if batch.events.is_empty() {
                        return Err(anyhow::anyhow!("no job event for 30 s ({done} done)"));
                    }
                    for e in batch.events {
                        let EventBody::Job { job } = e.body else {
                            continue;
                        };
                        if job.status == JobStatus::Completed {
                            done += 1;
                        }
                    }
                }
                Ok(Instant::now())
            })
        };

        let mut latencies = Vec::with_capacity(jobs);
        let started = Instant::now();
        for _ in 0..jobs {
            let new = NewJob {
                user: ME,
                notebook: Some(notebook),
                kind: JobKind::Test,
                topic: String::new(),
                params: serde_json::json!({}),
                max_attempts: 3,
                artifact_title: None,
                notify_chat: false,
            };
            let t = Instant::now();
            queue
                .enqueue(new)
                .await
                .map_err(|e| anyhow::anyhow!("enqueue: {e}"))?;
            latencies.push(ms(t.elapsed()));
        }
        let finished = counter.await.context("counter task")??;
        let elapsed = finished.duration_since(started);
        shutdown.cancel();
        tasks.close();
        tasks.wait().await;
        let completed: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM jobs WHERE status = 'completed'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .map_err(|e| anyhow::anyhow!("count: {e}"))?;
        ensure!(
            completed as usize == jobs,
            "{completed} of {jobs} jobs completed"
        );
        store.close().await;
        Ok((jobs as f64 / elapsed.as_secs_f64(), latencies))
    })
}

/// The floor: one thread, one connection, the same schema and pragmas, and per job the three
/// write transactions the lifecycle needs (insert; claim with UPDATE … RETURNING; complete).
fn raw_floor(db: &Path, jobs: usize) -> Result<f64> {
    // The same migrated schema as the daemon's.
    drop(Store::open(db).context("create the floor database")?);
    let mut conn = Connection::open(db).context("open the floor database")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let started = Instant::now();
    for i in 0..jobs {
        let id = format!("{i:026}");
        let now = i as i64;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO jobs (id, user_id, kind, params, status, max_attempts, run_at_ms,
                               created_ms, updated_ms)
             VALUES (?1, 1000, 'test', '{}', 'pending', 3, ?2, ?2, ?2)",
        )?
        .execute(params![id, now])?;
        tx.commit()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed: String = tx
            .prepare_cached(
                "UPDATE jobs SET status = 'processing', attempts = attempts + 1,
                                 fence = fence + 1, lease_until_ms = ?1
                 WHERE id = (SELECT id FROM jobs WHERE status = 'pending' AND run_at_ms <= ?1
                             ORDER BY run_at_ms, rowid LIMIT 1)
                 RETURNING id",
            )?
            .query_row(params![now], |r| r.get(0))?;
        tx.commit()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "UPDATE jobs SET status = 'completed', result = 'null', finished_ms = ?2
             WHERE id = ?1 AND status = 'processing'",
        )?
        .execute(params![claimed, now])?;
        tx.commit()?;
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}

/// Builds (once) and runs the apalis peer, `tests/peers/apalis-queue`, a separate cargo
/// project because apalis links its own SQLite through sqlx.
fn apalis(db: &Path, jobs: usize) -> Result<f64> {
    let manifest = mentor_tests::workspace().join("tests/peers/apalis-queue/Cargo.toml");
    let target = mentor_tests::target_dir().join("peers");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    progress("building the apalis peer (first run only takes a while)");
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context("run cargo to build the apalis peer")?;
    ensure!(
        status.success(),
        "building the apalis peer failed ({status})"
    );
    let out = Command::new(target.join("release/apalis-queue"))
        .args(["--jobs", &jobs.to_string(), "--workers", "2", "--db"])
        .arg(db)
        .output()
        .context("run the apalis peer")?;
    if !out.status.success() {
        bail!(
            "the apalis peer failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let value: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the apalis peer printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    value["jobs_per_sec"]
        .as_f64()
        .with_context(|| format!("no jobs_per_sec in {value}"))
}
