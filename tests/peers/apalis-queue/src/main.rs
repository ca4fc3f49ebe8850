//! Comparison peer for Mentor's job queue benchmark: the full job lifecycle
//! (enqueue → claim → complete, durable, no-op handler) on apalis with its SQLite backend.
//!
//! Usage: `apalis-queue --db PATH [--jobs N] [--workers W] [--synchronous normal|off|full] [--poll-ms MS] [--stock-poll]`
//!
//! Prints exactly one JSON line on stdout:
//! `{"jobs": N, "workers": W, "elapsed_ms": .., "jobs_per_sec": .., "enqueue_p99_ms": ..}`.
//! Progress and errors go to stderr; any failure exits with status 1.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::{pin, Pin};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apalis::prelude::{
    BackendExt, BoxDynError, PollSnapshot, PollStrategy, TaskSink, WorkerBuilder, WorkerBuilderExt,
    WorkerError,
};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use futures::future::{select, Either};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// How often the worker polls the `Jobs` table when its last fetch came back empty: 1 ms.
///
/// apalis' SQLite backend has no poll loop of its own: without a poll strategy a worker whose
/// fetch finds nothing only wakes again on its heartbeat (30 s), so we give it an interval
/// strategy (apalis' `IntervalStrategy`, fixed as below). We chose 1 ms, the smallest whole
/// millisecond: the interval is a `futures-timer` `Delay`, and going below 1 ms would turn
/// the idle worker into a near busy loop of write transactions competing with the producer
/// for SQLite's single write lock, which is already the bottleneck. apalis fetches
/// back to back, without waiting, as long as fetches return tasks, so the interval only
/// matters once the worker has drained the queue, which with one-by-one enqueues racing a
/// no-op handler is often; every millisecond of interval would be added to those wake-ups,
/// which would make the comparison unfair to apalis. The cost is one small write transaction
/// (`UPDATE … RETURNING` finding nothing) per millisecond while idle. Measured: 1, 5 and
/// 10 ms give the same throughput within noise (lock contention dominates, see the README);
/// `--poll-ms` changes it.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// apalis' `IntervalStrategy` (what `poll_with_interval` uses), with one fix.
///
/// In apalis-core 1.0.0, when the interval's `Delay` fires, `IntervalStrategy::poll_drive`
/// replaces it with a new `Delay` and returns `Ready` without polling the new one, so no
/// waker is registered with the timer. If the backend's fetch then comes back empty in the
/// same poll (it does whenever the tick and the end of a fetch coincide, which at a 1 ms
/// interval happens within seconds), nothing wakes the worker again until its heartbeat,
/// 30 s later: the stock strategy turns a 1 ms poll into occasional 30 s stalls (see the
/// README for the numbers). This one re-polls the re-armed timer so the next tick is always
/// registered; otherwise it behaves the same (fire every `period`, never more than once per
/// poll). `--stock-poll` runs apalis' own strategy instead.
struct FixedInterval {
    period: Duration,
    delay: futures_timer::Delay,
}

impl FixedInterval {
    fn new(period: Duration) -> Self {
        FixedInterval {
            period,
            delay: futures_timer::Delay::new(period),
        }
    }
}

impl PollStrategy for FixedInterval {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        while Pin::new(&mut self.delay).poll(cx).is_ready() {
            self.delay.reset(self.period);
            fired = true;
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

/// How long to wait for the last completion before giving up.
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(300);

/// The job: a tiny serde struct, stored as JSON by apalis' default codec.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    n: u64,
}

/// Completions seen by the handler, and the number that means "all done".
static HANDLED: AtomicU64 = AtomicU64::new(0);
static TARGET: AtomicU64 = AtomicU64::new(u64::MAX);
static ALL_HANDLED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The no-op handler; it only counts, so the main task is told without polling when the
/// last job has run (apalis then marks it done in its table, which `main` confirms).
async fn noop(_job: Job) -> Result<(), BoxDynError> {
    if HANDLED.fetch_add(1, Ordering::Relaxed) + 1 == TARGET.load(Ordering::Relaxed) {
        // notify_one keeps a permit if nobody is waiting yet, so this is never lost.
        ALL_HANDLED.notify_one();
    }
    Ok(())
}

struct Args {
    jobs: u64,
    workers: usize,
    db: Option<PathBuf>,
    synchronous: SqliteSynchronous,
    stock_poll: bool,
    poll: Duration,
}

fn usage() -> &'static str {
    "usage: apalis-queue --db PATH [--jobs N] [--workers W] [--synchronous normal|off|full] [--poll-ms MS] [--stock-poll]"
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        jobs: 20_000,
        workers: 2,
        db: None,
        synchronous: SqliteSynchronous::Normal,
        stock_poll: false,
        poll: POLL_INTERVAL,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--jobs" => {
                args.jobs = value("--jobs")?
                    .parse()
                    .map_err(|e| format!("--jobs: {e}"))?
            }
            "--workers" => {
                args.workers = value("--workers")?
                    .parse()
                    .map_err(|e| format!("--workers: {e}"))?
            }
            "--db" => args.db = Some(PathBuf::from(value("--db")?)),
            "--synchronous" => {
                args.synchronous = SqliteSynchronous::from_str(&value("--synchronous")?)
                    .map_err(|e| format!("--synchronous: {e}"))?
            }
            "--stock-poll" => args.stock_poll = true,
            "--poll-ms" => {
                let ms: u64 = value("--poll-ms")?
                    .parse()
                    .map_err(|e| format!("--poll-ms: {e}"))?;
                if ms == 0 {
                    return Err("--poll-ms must be at least 1".into());
                }
                args.poll = Duration::from_millis(ms)
            }
            "-h" | "--help" => {
                eprintln!("{}", usage());
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    if args.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    if args.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    if args.db.is_none() {
        return Err(format!("--db PATH is required\n{}", usage()));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("apalis-queue: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("apalis-queue: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("apalis-queue: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The connection options every benchmark connection gets.
///
/// `SqliteStorage::setup` sets WAL (persistent, in the file) and then a few per-connection
/// pragmas, but it runs them through the pool, so they land on whichever single pooled
/// connection it happens to use, including `synchronous = OFF`, which would leave the pool
/// with mixed durability. So we run `setup` on a throw-away one-connection pool and give
/// every connection of the benchmark pool the same settings here: apalis' own tuning
/// (`temp_store`, `cache_size`, `journal_size_limit`), WAL, and `synchronous` as asked
/// (default NORMAL, the durability of Mentor's queue: WAL + NORMAL survives a process crash).
fn connect_options(db: &Path, synchronous: SqliteSynchronous) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        // apalis' connections compete for SQLite's one write lock (the producer's pushes, the
        // workers' fetches and acks); at 20,000 rows its acks get slow enough that the
        // default 5 s wait makes pushes fail with "database is locked". A patient timeout
        // lets it finish: we measure its speed, not its failure.
        .busy_timeout(Duration::from_secs(120))
        .pragma("temp_store", "MEMORY")
        .pragma("cache_size", "64000")
        .pragma("journal_size_limit", "67108864")
}

async fn count(pool: &SqlitePool, sql: &'static str) -> Result<u64, String> {
    let n: i64 = sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    Ok(n as u64)
}

/// Awaits `fut`, failing early if the worker task ends first.
async fn unless_worker_ends<T>(
    fut: impl Future<Output = T>,
    worker: &mut tokio::task::JoinHandle<Result<(), WorkerError>>,
    what: &str,
) -> Result<T, String> {
    match select(pin!(fut), worker).await {
        Either::Left((v, _)) => Ok(v),
        Either::Right((res, _)) => Err(match res {
            Ok(Ok(())) => format!("the apalis worker stopped while {what}"),
            Ok(Err(e)) => format!("the apalis worker failed while {what}: {e}"),
            Err(e) => format!("the apalis worker task died while {what}: {e}"),
        }),
    }
}

async fn run(args: &Args) -> Result<String, String> {
    let n = args.jobs;
    let db = args.db.as_deref().expect("checked in parse_args");
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if Path::new(&p).exists() {
            return Err(format!(
                "{} already exists; --db must name a fresh database file",
                Path::new(&p).display()
            ));
        }
    }

    // apalis' schema: its setup (WAL + migrations), on a separate connection, closed after.
    let setup_pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(connect_options(db, args.synchronous))
        .await
        .map_err(|e| format!("open {}: {e}", db.display()))?;
    SqliteStorage::setup(&setup_pool)
        .await
        .map_err(|e| format!("apalis setup (migrations): {e}"))?;
    setup_pool.close().await;

    // sqlx's default pool size (10), as `SqlitePool::connect` would give.
    let pool = SqlitePoolOptions::new()
        .connect_with(connect_options(db, args.synchronous))
        .await
        .map_err(|e| format!("open {}: {e}", db.display()))?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .map_err(|e| format!("journal_mode: {e}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode is {mode}, not WAL"));
    }

    TARGET.store(n, Ordering::Relaxed);
    let storage = SqliteStorage::<Job>::new(&pool);
    // A clone starts with its own (unbootstrapped) state: one handle pushes, one is the worker's.
    let mut producer = storage.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        let _ = stop_rx.await;
        Ok::<(), WorkerError>(())
    };
    let builder = WorkerBuilder::new("apalis-queue-bench");
    let mut worker = if args.stock_poll {
        let worker = builder
            .backend(storage.poll_with_interval(args.poll))
            .concurrency(args.workers)
            .build(noop);
        tokio::spawn(worker.run_until(stop))
    } else {
        let worker = builder
            .backend(storage.poll_with_strategy(FixedInterval::new(args.poll)))
            .concurrency(args.workers)
            .build(noop);
        tokio::spawn(worker.run_until(stop))
    };

    // Start the clock only once the worker has registered itself (its first poll).
    let registered = unless_worker_ends(
        async {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if count(&pool, "SELECT COUNT(*) FROM Workers").await? > 0 {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err("the apalis worker did not register within 30 s".to_string());
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        },
        &mut worker,
        "starting",
    )
    .await?;
    registered?;
    eprintln!(
        "apalis-queue: {n} jobs, {} workers, poll interval {:?} ({}), synchronous {:?}, db {}",
        args.workers,
        args.poll,
        if args.stock_poll {
            "apalis' IntervalStrategy"
        } else {
            "fixed interval strategy"
        },
        args.synchronous,
        db.display()
    );

    // Enqueue one by one, each push its own awaited insert, while the worker runs.
    let mut push_us = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        producer
            .push(Job { n: i })
            .await
            .map_err(|e| format!("push {i}: {e}"))?;
        push_us.push(t.elapsed().as_micros() as u64);
        if worker.is_finished() {
            break; // reported just below
        }
    }
    let enqueued = started.elapsed();
    eprintln!(
        "apalis-queue: enqueued {} in {:.1} ms",
        push_us.len(),
        enqueued.as_secs_f64() * 1e3
    );

    // Wait for the handler to have seen all N, then for apalis to have marked all N done.
    let handled = unless_worker_ends(
        tokio::time::timeout(COMPLETION_TIMEOUT, ALL_HANDLED.notified()),
        &mut worker,
        "processing",
    )
    .await?;
    if handled.is_err() {
        return Err(format!(
            "only {} of {n} jobs handled after {COMPLETION_TIMEOUT:?}",
            HANDLED.load(Ordering::Relaxed)
        ));
    }
    let handled_at = started.elapsed();
    // apalis acknowledges completions asynchronously (the worker batches them into one
    // transaction on its next turn), so a job is only durably done once its row says so.
    let finished = unless_worker_ends(
        async {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let done = count(&pool, "SELECT COUNT(*) FROM Jobs WHERE status = 'Done'").await?;
                if done >= n {
                    return Ok(Instant::now());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "all {n} jobs handled but only {done} marked done after 60 s"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        },
        &mut worker,
        "acknowledging",
    )
    .await??;
    let elapsed = finished.duration_since(started);

    // Stop the worker (it flushes whatever it still holds) and check the final table.
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(30), &mut worker).await {
        Err(_) => return Err("the apalis worker did not stop within 30 s".into()),
        Ok(Err(e)) => return Err(format!("the apalis worker task died: {e}")),
        Ok(Ok(Err(e))) => return Err(format!("the apalis worker failed: {e}")),
        Ok(Ok(Ok(()))) => {}
    }
    let total = count(&pool, "SELECT COUNT(*) FROM Jobs").await?;
    let done = count(&pool, "SELECT COUNT(*) FROM Jobs WHERE status = 'Done'").await?;
    pool.close().await;
    if total != n || done != n {
        return Err(format!(
            "expected {n} jobs all done, found {total} jobs, {done} done"
        ));
    }
    let handled_total = HANDLED.load(Ordering::Relaxed);
    if handled_total != n {
        return Err(format!(
            "the handler ran {handled_total} times for {n} jobs"
        ));
    }

    push_us.sort_unstable();
    let rank = ((0.99 * push_us.len() as f64).ceil() as usize).clamp(1, push_us.len());
    let p99_ms = push_us[rank - 1] as f64 / 1e3;
    let elapsed_ms = elapsed.as_secs_f64() * 1e3;
    eprintln!(
        "apalis-queue: last handler at {:.1} ms, all {n} marked done at {elapsed_ms:.1} ms",
        handled_at.as_secs_f64() * 1e3
    );
    Ok(format!(
        "{{\"jobs\": {n}, \"workers\": {}, \"elapsed_ms\": {elapsed_ms:.3}, \"jobs_per_sec\": {:.1}, \"enqueue_p99_ms\": {p99_ms:.3}}}",
        args.workers,
        n as f64 / elapsed.as_secs_f64(),
    ))
}
