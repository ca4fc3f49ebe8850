//! The worker pool: `jobs.concurrency` tasks that claim jobs and run their handlers.
//!
//! A worker sleeps until it is woken by an enqueue (or a requeue), by the moment the earliest
//! delayed retry becomes ready, or by shutdown: never on a fixed tick. While a handler runs,
//! the worker renews the lease every third of `jobs.lease_secs`, enforces the timeout, and
//! answers a cancel request: the handler's token fires at once, and a handler that has not
//! returned 800 ms later is dropped (its child processes die with it: spawn them with
//! `kill_on_drop`).

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use mentor_shared::ids::{NotebookId, UserId};
use mentor_shared::jobs::{FailureKind, Job, JobKind, Progress};
use mentor_shared::{i18n, t};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::sql::Finish;
use super::{Claim, Lease, Queue, Running, StopReason};

/// How long a handler has to stop after its token fired before it is dropped.
pub const CANCEL_GRACE: Duration = Duration::from_millis(800);

/// How a handler's run ended without a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth retrying later (connection refused, timeouts, HTTP 429/5xx).
    #[error("{0}")]
    Transient(String),
    /// Worth retrying, but not before `wait`: the model server said so (HTTP 429 or 503 with
    /// `Retry-After`). The next attempt comes after the longer of `wait` (at most
    /// [`RETRY_AFTER_MAX`](super::RETRY_AFTER_MAX)) and the usual backoff.
    #[error("{message}")]
    Throttled { message: String, wait: Duration },
    /// Retrying cannot help (bad configuration, a missing program, invalid input).
    #[error("{0}")]
    Permanent(String),
    /// The handler saw its token fire and stopped.
    #[error("cancelled")]
    Cancelled,
    /// A chat needed the model: the job's request made way. The job goes back to the queue
    /// at once, keeping its checkpoints, and the attempt is not counted.
    #[error("preempted")]
    Preempted,
    /// The step's prompt did not fit the model's context window; the job has recorded a
    /// smaller budget and goes back to the queue at once, keeping its checkpoints, the
    /// attempt not counted.
    #[error("refit")]
    Refit,
    /// The worker no longer holds the job (its lease ran out and another took it).
    #[error("lease lost")]
    LeaseLost,
}

/// A kind of job the daemon can run.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind it runs.
    fn kind(&self) -> JobKind;
    /// Runs one attempt. Check `ctx.cancelled()` between steps; record finished steps with
    /// `ctx.checkpoint` and skip those `ctx.checkpoint_data` already has.
    fn run<'a>(&'a self, ctx: &'a JobContext)
        -> BoxFuture<'a, Result<serde_json::Value, JobError>>;
}

/// What a handler gets: its job, progress and checkpoints, and its cancellation token.
pub struct JobContext {
    queue: Arc<Queue>,
    lease: Lease,
    running: Arc<Running>,
    checkpoints: Mutex<BTreeMap<String, serde_json::Value>>,
    /// The highest percentage reported (by this attempt or an earlier one): the status line
    /// never goes back.
    floor: Mutex<u8>,
}

/// The highest percentage a running job reports: 100 is for a job that has ended.
pub const RUNNING_PERCENT_MAX: u8 = 99;

impl JobContext {
    /// The job as claimed (attempts already counts this one).
    pub fn job(&self) -> &Job {
        self.lease.job()
    }

    /// The learner who asked for it.
    pub fn user(&self) -> UserId {
        self.lease.user()
    }

    /// The notebook it works on.
    pub fn notebook(&self) -> Option<NotebookId> {
        self.lease.job().notebook_id
    }

    /// The job's parameters, typed.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.lease.job().params.clone())
            .map_err(|e| JobError::Permanent(format!("invalid job parameters: {e}")))
    }

    /// Fires when the job must stop (cancel, timeout, shutdown).
    pub fn cancelled(&self) -> &CancellationToken {
        self.running.token()
    }

    /// `Err(Cancelled)` once the token fired: call it between steps.
    pub fn check(&self) -> Result<(), JobError> {
        if self.running.token().is_cancelled() {
            Err(JobError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reports progress (committed, then pushed to subscribers): step `current` of `total`
    /// of `stage`, the whole job `current / total` done. See [`JobContext::progress_at`].
    pub async fn progress(&self, current: u32, total: u32, stage: &str) -> Result<(), JobError> {
        let percent = Progress::new(current, total, stage).percentage;
        self.progress_at(current, total, stage, percent).await
    }

    /// Reports progress: step `current` of `total` of `stage`, and `percent` of the whole
    /// job done. The percentage reported never goes back (a lower one reports the highest so
    /// far) and stays below 100 until the job has ended.
    pub async fn progress_at(
        &self,
        current: u32,
        total: u32,
        stage: &str,
        percent: u8,
    ) -> Result<(), JobError> {
        let progress = Progress::weighted(current, total, stage, self.at_least(percent));
        match self.queue.progress(&self.lease, progress).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(JobError::LeaseLost),
            Err(e) => Err(JobError::Transient(e.to_string())),
        }
    }

    /// The data of a step finished by an earlier attempt (or this one).
    pub fn checkpoint_data(&self, name: &str) -> Option<serde_json::Value> {
        self.checkpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The data of a finished step, typed; `None` when the step is not done (or its data
    /// is not what this build records, so the step is done again).
    pub fn checkpoint_as<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.checkpoint_data(name)
            .and_then(|v| serde_json::from_value(v).ok())
    }

    /// Records a finished step, so a resumed attempt skips it.
    pub async fn checkpoint(&self, name: &str, data: &impl Serialize) -> Result<(), JobError> {
        let value = serde_json::to_value(data)
            .map_err(|e| JobError::Permanent(format!("checkpoint {name}: {e}")))?;
        let held = self
            .queue
            .checkpoint(&self.lease, name.to_string(), value.clone())
            .await;
        self.recorded(name, value, held)
    }

    /// Records a finished step and the progress it makes ([`JobContext::checkpoint`], then
    /// [`JobContext::progress`], in one commit).
    pub async fn step_done(
        &self,
        name: &str,
        data: &impl Serialize,
        (current, total, stage): (u32, u32, &str),
    ) -> Result<(), JobError> {
        let percent = Progress::new(current, total, stage).percentage;
        self.step_done_at(name, data, (current, total, stage), percent)
            .await
    }

    /// [`JobContext::step_done`] with the whole job's percentage, as
    /// [`JobContext::progress_at`] takes it.
    pub async fn step_done_at(
        &self,
        name: &str,
        data: &impl Serialize,
        (current, total, stage): (u32, u32, &str),
        percent: u8,
    ) -> Result<(), JobError> {
        let value = serde_json::to_value(data)
            .map_err(|e| JobError::Permanent(format!("checkpoint {name}: {e}")))?;
        let progress = Progress::weighted(current, total, stage, self.at_least(percent));
        let held = self
            .queue
            .step_done(&self.lease, name.to_string(), value.clone(), progress)
            .await;
        self.recorded(name, value, held)
    }

    /// `percent`, raised to the highest reported so far and kept below 100.
    fn at_least(&self, percent: u8) -> u8 {
        let mut floor = self.floor.lock().unwrap_or_else(|p| p.into_inner());
        *floor = percent.min(RUNNING_PERCENT_MAX).max(*floor);
        *floor
    }

    fn recorded(
        &self,
        name: &str,
        value: serde_json::Value,
        held: Result<bool, mentor_shared::ApiError>,
    ) -> Result<(), JobError> {
        match held {
            Ok(true) => {
                self.checkpoints
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.to_string(), value);
                Ok(())
            }
            Ok(false) => Err(JobError::LeaseLost),
            Err(e) => Err(JobError::Transient(e.to_string())),
        }
    }
}

/// Starts the pool: `jobs.concurrency` workers and the periodic recovery, all tracked by
/// `tasks` and stopped by `shutdown`, the workers (and the handlers they run) on `runtime`.
/// Recovers jobs left by a previous run first.
pub async fn start(
    queue: Arc<Queue>,
    tasks: &TaskTracker,
    runtime: &tokio::runtime::Handle,
    shutdown: CancellationToken,
) {
    if let Err(e) = queue.recover(true).await {
        tracing::error!(error = %e, "start-up recovery failed");
    }
    for worker in 0..queue.config.concurrency {
        tasks.spawn_on(
            worker_loop(queue.clone(), worker, shutdown.clone()),
            runtime,
        );
    }
    tasks.spawn(recovery_loop(queue.clone(), shutdown.clone()));
    // Stop running handlers as soon as shutdown begins; their jobs are released.
    let q = queue.clone();
    tasks.spawn(async move {
        shutdown.cancelled().await;
        q.stop_all(StopReason::Shutdown);
        q.wake.notify_waiters();
    });
}

async fn recovery_loop(queue: Arc<Queue>, shutdown: CancellationToken) {
    let every = Duration::from_secs(queue.config.lease_secs.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        if let Err(e) = queue.recover(false).await {
            tracing::warn!(error = %e, "recovery failed");
        }
    }
}

async fn worker_loop(queue: Arc<Queue>, worker: u32, shutdown: CancellationToken) {
    // Whether the last claim said another job was ready: if not, wait to be woken instead of
    // asking the database again.
    let mut more = true;
    let mut next_ready: Option<Instant> = None;
    // A claim made together with the end of the previous job.
    let mut chained: Option<Claim> = None;
    loop {
        if shutdown.is_cancelled() {
            // A job claimed together with the last one goes back, its attempt not counted.
            if let Some(Claim::Job { lease, .. }) = chained.take() {
                if let Err(e) = queue.release(*lease).await {
                    tracing::error!(error = %e, "cannot give a job back at shutdown");
                }
            }
            return;
        }
        let claim = match chained.take() {
            Some(claim) => Ok(claim),
            None => {
                if !more {
                    let wait = async {
                        match next_ready {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        biased;
                        _ = shutdown.cancelled() => return,
                        _ = queue.wake.notified() => {}
                        _ = wait => {}
                    }
                }
                // A job given back at shutdown wakes the idle workers: they must not take it.
                if shutdown.is_cancelled() {
                    return;
                }
                queue.claim().await
            }
        };
        match claim {
            Ok(Claim::Job { lease, more: m }) => {
                more = m;
                next_ready = None;
                if m {
                    // Let an idle peer take the next one.
                    queue.wake.notify_one();
                }
                let claim_next = !shutdown.is_cancelled();
                chained = run_one(&queue, *lease, worker, claim_next).await;
            }
            Ok(Claim::Idle(next)) => {
                more = false;
                next_ready = next.map(|at| {
                    let ms = (at.0 - mentor_shared::time::Timestamp::now().0).max(0) as u64;
                    Instant::now() + Duration::from_millis(ms)
                });
            }
            Err(e) => {
                tracing::error!(error = %e, worker, "claim failed");
                more = false;
                next_ready = Some(Instant::now() + Duration::from_secs(1));
            }
        }
    }
}

enum Ended {
    Done(Result<serde_json::Value, JobError>),
    Stopped,
    LeaseLost,
}

/// Runs one attempt and records how it ended; returns the next job when it claimed one in
/// the same transaction.
async fn run_one(queue: &Arc<Queue>, lease: Lease, worker: u32, claim_next: bool) -> Option<Claim> {
    let job = lease.job().clone();
    let Some(handler) = queue.handler(job.kind) else {
        let message = t!(i18n::ui(), "err-no-handler", kind = job.kind.as_str());
        let finish = Finish::Fail {
            message,
            failure: FailureKind::Permanent,
            partial: None,
        };
        return record(queue.finish_and_claim(lease, finish, claim_next).await);
    };
    tracing::debug!(job = %job.id, kind = job.kind.as_str(), attempt = job.attempts, worker, "job started");
    let running = queue.register(job.id);
    // A cancel asked before this attempt (by a client of an earlier run) takes effect now.
    if job.cancel_requested {
        running.stop(StopReason::Cancelled);
    }
    let checkpoints = Mutex::new(lease.checkpoints.clone());
    // A resumed attempt goes on from where the last one's bar stood.
    let floor = job
        .progress
        .as_ref()
        .map_or(0, |p| p.percentage.min(RUNNING_PERCENT_MAX));
    let ctx = JobContext {
        queue: queue.clone(),
        lease,
        running: running.clone(),
        checkpoints,
        floor: Mutex::new(floor),
    };
    let ended = supervise(queue, &ctx, handler.as_ref()).await;
    queue.unregister(job.id, &running);
    let partial = partial(&ctx);
    let JobContext { lease, .. } = ctx;
    let l = i18n::ui();
    let finish = match ended {
        Ended::Done(Ok(result)) => Finish::Complete(result),
        Ended::Done(Err(JobError::Permanent(message))) => Finish::Fail {
            message,
            failure: FailureKind::Permanent,
            partial: None,
        },
        Ended::Done(Err(JobError::Transient(message))) => {
            queue.transient_finish(&lease, message, FailureKind::Exhausted, Duration::ZERO)
        }
        Ended::Done(Err(JobError::Throttled { message, wait })) => {
            queue.transient_finish(&lease, message, FailureKind::Exhausted, wait)
        }
        Ended::Done(Err(e @ (JobError::Preempted | JobError::Refit))) => {
            match e {
                JobError::Refit => tracing::info!(
                    job = %job.id,
                    "job step did not fit the model's context; again with fewer passages"
                ),
                _ => {
                    tracing::debug!(job = %job.id, "job step preempted by a chat; back to the queue")
                }
            }
            Finish::Requeue {
                run_at: mentor_shared::time::Timestamp::now(),
                message: None,
                refund: true,
            }
        }
        Ended::Done(Err(JobError::LeaseLost)) | Ended::LeaseLost => {
            tracing::warn!(job = %job.id, "lease lost; another worker owns the job now");
            return None;
        }
        Ended::Done(Err(JobError::Cancelled)) | Ended::Stopped => {
            match running.reason().unwrap_or(StopReason::Cancelled) {
                StopReason::Cancelled => Finish::Cancel,
                StopReason::Shutdown => Finish::Requeue {
                    run_at: mentor_shared::time::Timestamp::now(),
                    message: None,
                    refund: true,
                },
                StopReason::TimedOut => {
                    let message = t!(l, "job-failure-timeout", secs = queue.config.timeout_secs);
                    queue.transient_finish(&lease, message, FailureKind::TimedOut, Duration::ZERO)
                }
            }
        }
    };
    let mut finish = finish;
    if let Finish::Fail { partial: kept, .. } = &mut finish {
        if kept.is_none() {
            *kept = partial;
        }
    }
    let claim_next = claim_next && running.reason() != Some(StopReason::Shutdown);
    record(queue.finish_and_claim(lease, finish, claim_next).await)
}

/// What a failed job leaves on its artifact: the `outline` and `transcript` checkpoints'
/// text (a string, or an object's `text`), if it got that far.
fn partial(ctx: &JobContext) -> Option<serde_json::Value> {
    let text = |name: &str| {
        let v = ctx.checkpoint_data(name)?;
        v.as_str()
            .map(str::to_string)
            .or_else(|| v.get("text")?.as_str().map(str::to_string))
    };
    let kept = mentor_shared::artifacts::Partial {
        outline: text("outline"),
        transcript: text("transcript"),
    };
    if kept.outline.is_none() && kept.transcript.is_none() {
        return None;
    }
    serde_json::to_value(kept).ok()
}

fn record(outcome: Result<(Option<Job>, Option<Claim>), mentor_shared::ApiError>) -> Option<Claim> {
    match outcome {
        Ok((Some(job), next)) => {
            tracing::debug!(
                job = %job.id,
                status = job.status.as_str(),
                attempts = job.attempts,
                "job attempt ended"
            );
            if job.status.is_terminal() {
                tracing::info!(job = %job.id, kind = job.kind.as_str(), status = job.status.as_str(), attempts = job.attempts, "job finished");
            }
            next
        }
        Ok((None, next)) => {
            tracing::warn!("job changed hands before its attempt could be recorded");
            next
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record the end of a job attempt");
            None
        }
    }
}

/// Runs the handler under the lease's heartbeat, the timeout and the stop switch.
async fn supervise(queue: &Arc<Queue>, ctx: &JobContext, handler: &dyn JobHandler) -> Ended {
    let lease_ms = queue.config.lease_secs.max(1) * 1000;
    // (Not `interval`: its immediate first tick still waits for the timer wheel's next
    // millisecond, which would cap a worker at about a thousand jobs a second.)
    let period = Duration::from_millis(lease_ms / 3);
    let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
    let deadline = Instant::now() + Duration::from_secs(queue.config.timeout_secs);
    let mut run = AssertUnwindSafe(handler.run(ctx)).catch_unwind();
    let mut grace: Option<Instant> = None;
    loop {
        let stopping = async {
            match grace {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut run => {
                return match result {
                    Ok(r) => Ended::Done(r),
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        tracing::error!(job = %ctx.job().id, panic = %what, "job handler panicked");
                        Ended::Done(Err(JobError::Permanent(format!("internal error: {what}"))))
                    }
                };
            }
            _ = heartbeat.tick() => {
                match queue.heartbeat(&ctx.lease).await {
                    Ok(Some(cancel)) => if cancel { ctx.running.stop(StopReason::Cancelled) },
                    Ok(None) => return Ended::LeaseLost,
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
            _ = tokio::time::sleep_until(deadline), if grace.is_none() => {
                ctx.running.stop(StopReason::TimedOut);
            }
            _ = ctx.running.token().cancelled(), if grace.is_none() => {
                grace = Some(Instant::now() + CANCEL_GRACE);
            }
            _ = stopping => {
                tracing::warn!(job = %ctx.job().id, "handler ignored cancellation; dropped");
                return Ended::Stopped;
            }
        }
    }
}
