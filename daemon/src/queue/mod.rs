//! The durable job queue: jobs live in SQLite (WAL), workers claim them with a lease that a
//! heartbeat extends, and every committed change is published on the [`bus::EventBus`].
//!
//! - [`Queue::enqueue`] commits the job (and its artifact placeholder) and returns at once.
//! - [`Queue::claim`] hands a worker a [`Lease`]; everything the worker writes names the
//!   lease's fence, so a worker whose lease ran out and whose job was re-claimed cannot touch
//!   it any more. The lease's finishing methods consume it.
//! - [`Queue::recover`] puts jobs whose worker died back in the queue (or fails them after
//!   their last attempt); it runs at start-up and then every `jobs.lease_secs`.
//!
//! All SQLite work runs on the blocking pool (see [`crate::store::Store`]).

pub mod bus;
pub mod pool;
pub mod sql;
pub mod test_handler;
pub mod transitions;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mentor_shared::config::JobsConfig;
use mentor_shared::ids::{JobId, NotebookId, UserId};
use mentor_shared::jobs::{EventBody, FailureKind, Job, JobFilter, JobKind, Progress};
use mentor_shared::time::Timestamp;
use mentor_shared::{i18n, t, ApiError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use bus::EventBus;
use sql::{CancelOutcome, ClaimResult, Finish, JobRow, NewJob};

pub use pool::{JobContext, JobError, JobHandler};

/// Why a running job is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The learner cancelled it.
    Cancelled,
    /// The attempt ran past `jobs.timeout_secs`.
    TimedOut,
    /// The daemon is stopping: the job goes back to the queue.
    Shutdown,
}

/// A running job's stop switch.
pub struct Running {
    token: CancellationToken,
    reason: Mutex<Option<StopReason>>,
}

impl Running {
    fn new() -> Running {
        Running {
            token: CancellationToken::new(),
            reason: Mutex::new(None),
        }
    }

    /// Stops the job for `reason` (the first reason given wins).
    pub fn stop(&self, reason: StopReason) {
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            *r = Some(reason);
        }
        drop(r);
        self.token.cancel();
    }

    /// Why it was stopped, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token handlers watch.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// The queue.
pub struct Queue {
    store: Store,
    bus: Arc<EventBus>,
    config: JobsConfig,
    handlers: HashMap<JobKind, Arc<dyn JobHandler>>,
    wake: Notify,
    running: Mutex<RunningJobs>,
    stopping: std::sync::atomic::AtomicBool,
}

/// The stop switches of the jobs running in this daemon, and stops asked for a job whose
/// worker has claimed it but not yet registered its switch.
#[derive(Default)]
struct RunningJobs {
    jobs: HashMap<JobId, Arc<Running>>,
    early: HashMap<JobId, StopReason>,
}

/// Early stops remembered at most (a stop for a job that never registers is dropped then).
const MAX_EARLY_STOPS: usize = 1024;

/// A worker's hold on a claimed job. Finishing consumes it.
pub struct Lease {
    row: JobRow,
    checkpoints: BTreeMap<String, serde_json::Value>,
}

impl Lease {
    /// The job as claimed.
    pub fn job(&self) -> &Job {
        &self.row.job
    }

    /// The owner.
    pub fn user(&self) -> UserId {
        self.row.user
    }
}

/// The delay before retry number `attempt` (1 for the first retry): `base · 2^(attempt-1)`,
/// capped at `max`, minus a random jitter of up to half, so jobs that failed together spread
/// out.
pub fn backoff(config: &JobsConfig, attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = config
        .retry_base_ms
        .saturating_mul(1u64 << exp)
        .min(config.retry_max_ms);
    let jitter = jitter.clamp(0.0, 1.0);
    Duration::from_millis(full - (full as f64 * 0.5 * jitter) as u64)
}

/// The longest wait a model server's `Retry-After` can impose on a job before its next
/// attempt: an hour. A server asking for more is retried after an hour anyway (and, if it
/// still refuses, the job spends its attempts and fails saying how long it asked to wait).
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// The delay before retry number `attempt`: the [`backoff`], or what the server asked for
/// (`at_least`, at most [`RETRY_AFTER_MAX`]) when that is longer. Retrying sooner than a
/// server asked would only spend an attempt on another refusal.
pub fn retry_delay(config: &JobsConfig, attempt: u32, jitter: f64, at_least: Duration) -> Duration {
    backoff(config, attempt, jitter).max(at_least.min(RETRY_AFTER_MAX))
}

fn interrupted_message(attempts: u32, max: u32) -> String {
    t!(
        i18n::ui(),
        "job-failure-interrupted",
        attempts = attempts,
        max = max
    )
}

impl Queue {
    /// A queue over `store`, publishing on `bus`, running `handlers`.
    pub fn new(
        store: Store,
        bus: Arc<EventBus>,
        config: JobsConfig,
        handlers: Vec<Arc<dyn JobHandler>>,
    ) -> Queue {
        Queue {
            store,
            bus,
            config,
            handlers: handlers.into_iter().map(|h| (h.kind(), h)).collect(),
            wake: Notify::new(),
            running: Mutex::new(RunningJobs::default()),
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    /// The event bus.
    pub fn bus(&self) -> &Arc<EventBus> {
        &self.bus
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The handler for a kind.
    pub fn handler(&self, kind: JobKind) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(&kind).cloned()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, RunningJobs> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits `f`'s change and publishes the jobs it returns, in commit order.
    pub(crate) async fn write_publish<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> crate::store::StoreResult<(T, Vec<JobRow>)>
            + Send
            + 'static,
    {
        let bus = self.bus.clone();
        let (value, _) = self
            .store
            .write_then(f, move |(_, rows): &(T, Vec<JobRow>)| {
                for row in rows {
                    bus.publish(
                        row.user,
                        EventBody::Job {
                            job: row.job.clone(),
                        },
                    );
                }
            })
            .await?;
        Ok(value)
    }

    /// Adds a job (and its artifact placeholder) and returns at once; a worker is woken.
    pub async fn enqueue(&self, new: NewJob) -> Result<Job, ApiError> {
        if !self.handlers.contains_key(&new.kind) {
            return Err(ApiError::NoHandler {
                kind: new.kind.as_str().into(),
            });
        }
        let job = self
            .write_publish(move |tx| {
                let row = sql::insert(tx, &new, Timestamp::now())?;
                Ok((row.job.clone(), vec![row]))
            })
            .await?;
        self.wake.notify_one();
        Ok(job)
    }

    /// One of the user's jobs.
    pub async fn get(&self, user: UserId, reference: String) -> Result<Job, ApiError> {
        let id = sql::parse_id(&reference)?;
        self.store
            .read(move |c| Ok(sql::get(c, user, id)?.job))
            .await
    }

    /// The user's jobs, newest first.
    pub async fn list(
        &self,
        user: UserId,
        filter: JobFilter,
        notebook: Option<NotebookId>,
    ) -> Result<Vec<Job>, ApiError> {
        self.store
            .read(move |c| sql::list(c, user, &filter, notebook))
            .await
    }

    /// Cancels a job: a pending one at once, a running one by its worker within a second.
    pub async fn cancel(&self, user: UserId, reference: String) -> Result<Job, ApiError> {
        let id = sql::parse_id(&reference)?;
        let outcome = self
            .write_publish(move |tx| {
                Ok(match sql::cancel(tx, user, id, Timestamp::now())? {
                    CancelOutcome::Cancelled(row) => {
                        (CancelOutcome::Cancelled(row.clone()), vec![row])
                    }
                    CancelOutcome::Requested(row) => {
                        (CancelOutcome::Requested(row.clone()), vec![row])
                    }
                })
            })
            .await?;
        match outcome {
            CancelOutcome::Cancelled(row) => Ok(row.job),
            CancelOutcome::Requested(row) => {
                self.stop(row.job.id, StopReason::Cancelled);
                Ok(row.job)
            }
        }
    }

    /// Stops a running job of this daemon (no effect if none runs with that id).
    pub fn stop(&self, id: JobId, reason: StopReason) {
        let mut running = self.running();
        match running.jobs.get(&id) {
            Some(r) => r.stop(reason),
            // Claimed but not yet running: the switch is thrown as soon as it exists.
            None => {
                if running.early.len() >= MAX_EARLY_STOPS {
                    running.early.clear();
                }
                running.early.insert(id, reason);
            }
        }
    }

    /// Stops every running job (the daemon is stopping).
    pub fn stop_all(&self, reason: StopReason) {
        if reason == StopReason::Shutdown {
            // Jobs claimed from now on stop as soon as they register.
            self.stopping
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        for r in self.running().jobs.values() {
            r.stop(reason);
        }
    }

    /// Puts a failed or cancelled job back in the queue.
    pub async fn retry(&self, user: UserId, reference: String) -> Result<Job, ApiError> {
        let id = sql::parse_id(&reference)?;
        let job = self
            .write_publish(move |tx| {
                let row = sql::retry(tx, user, id, Timestamp::now())?;
                Ok((row.job.clone(), vec![row]))
            })
            .await?;
        self.wake.notify_one();
        Ok(job)
    }

    /// Takes the next ready job, or says when one will be ready.
    pub async fn claim(&self) -> Result<Claim, ApiError> {
        let lease_ms = (self.config.lease_secs * 1000) as i64;
        let result = self
            .write_publish(move |tx| {
                let result = sql::claim(tx, Timestamp::now(), lease_ms)?;
                let rows = match &result {
                    ClaimResult::Job { claimed, .. } => vec![claimed.row.clone()],
                    ClaimResult::Idle(_) => Vec::new(),
                };
                Ok((result, rows))
            })
            .await?;
        Ok(Claim::from(result))
    }

    /// Extends a lease. `Ok(None)` when the worker lost the job; else whether cancellation
    /// was asked (by a client of an earlier daemon run, say).
    pub async fn heartbeat(&self, lease: &Lease) -> Result<Option<bool>, ApiError> {
        let (id, fence) = (lease.row.job.id, lease.row.fence);
        let until = Timestamp(Timestamp::now().0 + (self.config.lease_secs * 1000) as i64);
        self.store
            .write(move |tx| sql::heartbeat(tx, id, fence, until))
            .await
    }

    /// Records progress (fenced). False when the worker lost the job.
    pub async fn progress(&self, lease: &Lease, progress: Progress) -> Result<bool, ApiError> {
        let (id, fence) = (lease.row.job.id, lease.row.fence);
        self.write_publish(move |tx| {
            let row = sql::progress(tx, id, fence, &progress, Timestamp::now())?;
            let held = row.is_some();
            Ok((held, row.into_iter().collect()))
        })
        .await
    }

    /// Records a finished step (fenced). False when the worker lost the job.
    pub async fn checkpoint(
        &self,
        lease: &Lease,
        name: String,
        data: serde_json::Value,
    ) -> Result<bool, ApiError> {
        let (id, fence, attempt) = (lease.row.job.id, lease.row.fence, lease.row.job.attempts);
        self.store
            .write(move |tx| {
                sql::checkpoint(tx, id, fence, attempt, &name, &data, Timestamp::now())
            })
            .await
    }

    /// Records a finished step and the progress it makes, in one transaction (fenced): one
    /// commit and one event instead of two commits. False when the worker lost the job.
    pub async fn step_done(
        &self,
        lease: &Lease,
        name: String,
        data: serde_json::Value,
        progress: Progress,
    ) -> Result<bool, ApiError> {
        let (id, fence, attempt) = (lease.row.job.id, lease.row.fence, lease.row.job.attempts);
        self.write_publish(move |tx| {
            let now = Timestamp::now();
            if !sql::checkpoint(tx, id, fence, attempt, &name, &data, now)? {
                return Ok((false, Vec::new()));
            }
            let row = sql::progress(tx, id, fence, &progress, now)?;
            Ok((row.is_some(), row.into_iter().collect()))
        })
        .await
    }

    /// Ends an attempt and, when `claim_next`, claims the next ready job in the same
    /// transaction (one commit instead of two per job for a busy worker).
    pub(crate) async fn finish_and_claim(
        &self,
        lease: Lease,
        finish: Finish,
        claim_next: bool,
    ) -> Result<(Option<Job>, Option<Claim>), ApiError> {
        let (id, fence) = (lease.row.job.id, lease.row.fence);
        let requeued = matches!(finish, Finish::Requeue { .. });
        let lease_ms = (self.config.lease_secs * 1000) as i64;
        let (job, next) = self
            .write_publish(move |tx| {
                let now = Timestamp::now();
                let row = sql::finish(tx, id, Some(fence), &finish, now)?;
                let job = row.as_ref().map(|r| r.job.clone());
                let mut rows: Vec<JobRow> = row.into_iter().collect();
                let next = if claim_next {
                    let result = sql::claim(tx, now, lease_ms)?;
                    if let ClaimResult::Job { claimed, .. } = &result {
                        rows.push(claimed.row.clone());
                    }
                    Some(result)
                } else {
                    None
                };
                Ok(((job, next), rows))
            })
            .await?;
        if requeued && job.is_some() {
            self.wake.notify_one();
        }
        Ok((job, next.map(Claim::from)))
    }

    async fn finish(&self, lease: Lease, finish: Finish) -> Result<Option<Job>, ApiError> {
        Ok(self.finish_and_claim(lease, finish, false).await?.0)
    }

    /// Completes the job with the handler's result; the artifact becomes ready.
    pub async fn complete(
        &self,
        lease: Lease,
        result: serde_json::Value,
    ) -> Result<Option<Job>, ApiError> {
        self.finish(lease, Finish::Complete(result)).await
    }

    /// Fails the job for good; the artifact is marked failed (keeping `partial`).
    pub async fn fail(
        &self,
        lease: Lease,
        message: String,
        failure: FailureKind,
        partial: Option<serde_json::Value>,
    ) -> Result<Option<Job>, ApiError> {
        self.finish(
            lease,
            Finish::Fail {
                message,
                failure,
                partial,
            },
        )
        .await
    }

    /// How an attempt that failed transiently ends: back in the queue after a backoff (and not
    /// before `at_least`, see [`retry_delay`]), or failed when no attempt is left.
    pub(crate) fn transient_finish(
        &self,
        lease: &Lease,
        message: String,
        failure: FailureKind,
        at_least: Duration,
    ) -> Finish {
        let attempts = lease.row.job.attempts;
        if attempts >= lease.row.job.max_attempts {
            let message = match failure {
                FailureKind::TimedOut => message,
                _ => t!(
                    i18n::ui(),
                    "job-failure-exhausted",
                    attempts = attempts,
                    reason = message.as_str()
                ),
            };
            return Finish::Fail {
                message,
                failure,
                partial: None,
            };
        }
        let delay = retry_delay(&self.config, attempts, fastrand::f64(), at_least);
        Finish::Requeue {
            run_at: Timestamp(Timestamp::now().0 + delay.as_millis() as i64),
            message: Some(message),
            refund: false,
        }
    }

    /// Ends the attempt after a transient failure: back in the queue after a backoff, or
    /// failed when no attempt is left.
    pub async fn retry_later(
        &self,
        lease: Lease,
        message: String,
        failure: FailureKind,
    ) -> Result<Option<Job>, ApiError> {
        let finish = self.transient_finish(&lease, message, failure, Duration::ZERO);
        self.finish(lease, finish).await
    }

    /// Gives the job back without counting the attempt (the daemon is stopping).
    pub async fn release(&self, lease: Lease) -> Result<Option<Job>, ApiError> {
        self.finish(
            lease,
            Finish::Requeue {
                run_at: Timestamp::now(),
                message: None,
                refund: true,
            },
        )
        .await
    }

    /// Cancels the job as asked; the artifact is marked cancelled.
    pub async fn cancelled(&self, lease: Lease) -> Result<Option<Job>, ApiError> {
        self.finish(lease, Finish::Cancel).await
    }

    /// Recovers jobs whose worker is gone: all processing jobs when `all` (at start-up), else
    /// those whose lease ran out. Returns how many.
    pub async fn recover(&self, all: bool) -> Result<usize, ApiError> {
        let rows = self
            .write_publish(move |tx| {
                let rows = sql::recover(tx, all, Timestamp::now(), &interrupted_message)?;
                Ok((rows.len(), rows))
            })
            .await?;
        if rows > 0 {
            tracing::info!(jobs = rows, "recovered jobs from a stopped worker");
            self.wake.notify_waiters();
            self.wake.notify_one();
        }
        Ok(rows)
    }

    /// Registers a running job's stop switch.
    fn register(&self, id: JobId) -> Arc<Running> {
        let running = Arc::new(Running::new());
        let early = {
            let mut all = self.running();
            all.jobs.insert(id, running.clone());
            all.early.remove(&id)
        };
        if let Some(reason) = early {
            running.stop(reason);
        }
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            running.stop(StopReason::Shutdown);
        }
        running
    }

    /// Removes a job's switch, unless the job was claimed again since (a newer switch).
    fn unregister(&self, id: JobId, switch: &Arc<Running>) {
        let mut all = self.running();
        if all.jobs.get(&id).is_some_and(|r| Arc::ptr_eq(r, switch)) {
            all.jobs.remove(&id);
        }
        all.early.remove(&id);
    }
}

/// What [`Queue::claim`] found.
pub enum Claim {
    /// A job; `more` when another is ready too.
    Job {
        /// The worker's hold on it.
        lease: Box<Lease>,
        /// Another job is ready.
        more: bool,
    },
    /// Nothing ready; the earliest pending job becomes ready then.
    Idle(Option<Timestamp>),
}

impl From<ClaimResult> for Claim {
    fn from(result: ClaimResult) -> Claim {
        match result {
            ClaimResult::Job { claimed, more } => {
                let claimed = *claimed;
                Claim::Job {
                    lease: Box::new(Lease {
                        row: claimed.row,
                        checkpoints: claimed.checkpoints,
                    }),
                    more,
                }
            }
            ClaimResult::Idle(next) => Claim::Idle(next),
        }
    }
}

#[cfg(test)]
mod tests;
