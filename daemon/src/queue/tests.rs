//! The queue against a real SQLite file: the state machine through the database, leases,
//! fencing, recovery, retries, cancel, timeout, artifacts, and a thousand jobs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mentor_shared::config::JobsConfig;
use mentor_shared::ids::{JobId, NotebookId, UserId};
use mentor_shared::jobs::{
    ArtifactStatus, EventBody, EventFilter, FailureKind, JobKind, JobSpec, JobStatus, TestFailure,
    TestScript,
};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::params;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::bus::{EventBus, Wait};
use super::sql::{self, ClaimResult, Finish, NewJob};
use super::test_handler::TestHandler;
use super::transitions::Transition;
use super::{backoff, pool, retry_delay, Claim, Queue, RETRY_AFTER_MAX};
use crate::store::{notebooks, Store};

const ME: UserId = UserId(1000);

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    queue: Arc<Queue>,
    notebook: NotebookId,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

fn config() -> JobsConfig {
    JobsConfig {
        concurrency: 2,
        max_attempts: 3,
        timeout_secs: 60,
        lease_secs: 30,
        retry_base_ms: 10,
        retry_max_ms: 40,
        ..JobsConfig::default()
    }
}

async fn fixture(config: JobsConfig) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mentor.db");
    let store = Store::open(&path).expect("open");
    let notebook = store
        .write(|tx| notebooks::create(tx, ME, "Biology", ""))
        .await
        .expect("notebook");
    let queue = Arc::new(Queue::new(
        store.clone(),
        Arc::new(EventBus::new()),
        config,
        vec![Arc::new(TestHandler::new(None))],
    ));
    Fixture {
        _dir: dir,
        store,
        queue,
        notebook,
        tasks: TaskTracker::new(),
        shutdown: CancellationToken::new(),
    }
}

impl Fixture {
    fn new_job(&self, script: TestScript) -> NewJob {
        let artifact = script.artifact;
        NewJob {
            user: ME,
            notebook: Some(self.notebook),
            kind: JobKind::Test,
            topic: "photosynthesis".into(),
            params: serde_json::json!({ "spec": JobSpec::Test(script), "language": "en-US" }),
            max_attempts: self.queue.config.max_attempts,
            artifact_title: artifact.then(|| "photosynthesis".to_string()),
            notify_chat: false,
        }
    }

    async fn enqueue(&self, script: TestScript) -> JobId {
        self.queue
            .enqueue(self.new_job(script))
            .await
            .expect("enqueue")
            .id
    }

    async fn start_pool(&self) {
        pool::start(
            self.queue.clone(),
            &self.tasks,
            &tokio::runtime::Handle::current(),
            self.shutdown.clone(),
        )
        .await;
    }

    async fn job(&self, id: JobId) -> mentor_shared::jobs::Job {
        self.queue.get(ME, id.to_string()).await.expect("job")
    }

    /// Waits, by push, until the job is in a terminal state.
    async fn wait_end(&self, id: JobId, limit: Duration) -> mentor_shared::jobs::Job {
        let bus = self.queue.bus().clone();
        let filter = EventFilter {
            job: Some(id),
            notebook: None,
            ..EventFilter::default()
        };
        let mut cursor = bus.fetch(ME, None, &filter, 1).cursor;
        let deadline = Instant::now() + limit;
        loop {
            let job = self.job(id).await;
            if job.status.is_terminal() {
                return job;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "job {id} still {:?}", job.status);
            let batch = bus
                .next(
                    ME,
                    Some(cursor),
                    &filter,
                    Wait::new(100, left),
                    &self.shutdown,
                )
                .await;
            cursor = batch.cursor;
        }
    }

    async fn artifact_status(&self, id: JobId) -> Option<ArtifactStatus> {
        self.store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT status FROM artifacts WHERE job_id = ?1",
                    params![id.ulid()],
                    |r| r.get::<_, String>(0),
                )
                .ok()
                .and_then(|s| ArtifactStatus::parse(&s)))
            })
            .await
            .expect("read")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

fn script(steps: u32, step_ms: u64) -> TestScript {
    TestScript {
        steps,
        step_ms,
        ..TestScript::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transition_is_refused_or_allowed_by_the_table() {
    let f = fixture(config()).await;
    for from in JobStatus::ALL {
        for t in Transition::ALL {
            let new = f.new_job(TestScript {
                artifact: true,
                ..script(1, 0)
            });
            let (id, allowed, after) = f
                .store
                .write(move |tx| {
                    let row = sql::insert(tx, &new, Timestamp::now())?;
                    let id = row.job.id;
                    // Put the job in `from` directly, as if it had got there.
                    tx.execute(
                        "UPDATE jobs SET status = ?2, fence = 7, attempts = 1,
                                         run_at_ms = 0 WHERE id = ?1",
                        params![id.ulid(), from.as_str()],
                    )?;
                    // Only this job is claimable: others are parked in the future.
                    tx.execute(
                        "UPDATE jobs SET run_at_ms = 9e15 WHERE id <> ?1 AND status = 'pending'",
                        params![id.ulid()],
                    )?;
                    let now = Timestamp::now();
                    let allowed = match t {
                        Transition::Claim => {
                            matches!(sql::claim(tx, now, 1000)?, ClaimResult::Job { .. })
                        }
                        Transition::Retry => sql::retry(tx, ME, id, now).is_ok(),
                        Transition::Cancel => sql::cancel(tx, ME, id, now).is_ok(),
                        Transition::Complete => sql::finish(
                            tx,
                            id,
                            Some(7),
                            &Finish::Complete(serde_json::json!({})),
                            now,
                        )?
                        .is_some(),
                        Transition::Fail => sql::finish(
                            tx,
                            id,
                            Some(7),
                            &Finish::Fail {
                                message: "x".into(),
                                failure: FailureKind::Permanent,
                                partial: None,
                            },
                            now,
                        )?
                        .is_some(),
                        Transition::Requeue => sql::finish(
                            tx,
                            id,
                            Some(7),
                            &Finish::Requeue {
                                run_at: now,
                                message: None,
                                refund: false,
                            },
                            now,
                        )?
                        .is_some(),
                    };
                    let after = sql::get(tx, ME, id)?.job;
                    Ok((id, allowed, after))
                })
                .await
                .expect("transition");
            let expected = t.apply(from);
            assert_eq!(allowed, expected.is_ok(), "{t:?} from {from:?}");
            match expected {
                // A running job's cancel is a request its worker carries out.
                Ok(_) if t == Transition::Cancel && from == JobStatus::Processing => {
                    assert_eq!(after.status, JobStatus::Processing);
                    assert!(after.cancel_requested);
                }
                Ok(to) => {
                    assert_eq!(after.status, to, "{t:?} from {from:?}");
                    let art = f.artifact_status(id).await;
                    assert_eq!(
                        art,
                        Some(ArtifactStatus::for_job(to)),
                        "{t:?} from {from:?}"
                    );
                }
                Err(_) => assert_eq!(after.status, from, "{t:?} from {from:?} changed it"),
            }
        }
    }
    // The database itself refuses a status outside the lifecycle.
    let bad = f
        .store
        .write(|tx| Ok(tx.execute("UPDATE jobs SET status = 'done'", []).is_err()))
        .await
        .expect("write");
    assert!(bad);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_recovered_and_the_stale_worker_is_fenced_off() {
    let f = fixture(JobsConfig {
        max_attempts: 2,
        ..config()
    })
    .await;
    let id = f.enqueue(script(3, 0)).await;
    let Claim::Job { lease: first, .. } = f.queue.claim().await.expect("claim") else {
        panic!("nothing claimed");
    };
    assert_eq!(first.job().attempts, 1);
    // The first worker records one step, then goes silent: no heartbeat.
    assert!(f
        .queue
        .checkpoint(&first, "step-0".into(), serde_json::json!(1))
        .await
        .expect("checkpoint"));
    // Before the lease runs out, nothing is recovered.
    assert_eq!(f.queue.recover(false).await.expect("recover"), 0);
    // After it ran out, the job is back in the queue with its checkpoint.
    let later = Timestamp(Timestamp::now().0 + 31_000);
    let recovered = f
        .store
        .write(move |tx| sql::recover(tx, false, later, &|_, _| "interrupted".into()))
        .await
        .expect("recover");
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].job.status, JobStatus::Pending);
    // (Claimed at the same simulated time, since it was re-queued then.)
    let claimed = f
        .store
        .write(move |tx| sql::claim(tx, later, 30_000))
        .await
        .expect("claim");
    let ClaimResult::Job { claimed, .. } = claimed else {
        panic!("not re-claimed");
    };
    let second = super::Lease {
        row: claimed.row,
        checkpoints: claimed.checkpoints,
    };
    assert_eq!(second.job().attempts, 2);
    assert!(second.checkpoints.contains_key("step-0"));
    // The stale worker can no longer write anything.
    assert!(!f
        .queue
        .checkpoint(&first, "step-1".into(), serde_json::json!(1))
        .await
        .expect("checkpoint"));
    assert!(!f
        .queue
        .progress(&first, mentor_shared::jobs::Progress::new(2, 3, "x"))
        .await
        .expect("progress"));
    assert!(!f
        .queue
        .step_done(
            &first,
            "step-2".into(),
            serde_json::json!(2),
            mentor_shared::jobs::Progress::new(3, 3, "x")
        )
        .await
        .expect("step"));
    let names = f
        .store
        .read(move |c| sql::checkpoints(c, id))
        .await
        .expect("checkpoints");
    assert_eq!(names.keys().collect::<Vec<_>>(), ["step-0"]);
    // The current worker's step and progress land together.
    assert!(f
        .queue
        .step_done(
            &second,
            "step-1".into(),
            serde_json::json!(1),
            mentor_shared::jobs::Progress::new(2, 3, "x")
        )
        .await
        .expect("step"));
    let job = f.job(id).await;
    assert_eq!(job.progress.map(|p| p.current), Some(2));
    let names = f
        .store
        .read(move |c| sql::checkpoints(c, id))
        .await
        .expect("checkpoints");
    assert_eq!(names.keys().collect::<Vec<_>>(), ["step-0", "step-1"]);
    assert_eq!(f.queue.heartbeat(&first).await.expect("heartbeat"), None);
    assert!(f
        .queue
        .complete(*first, serde_json::json!({"stale": true}))
        .await
        .expect("complete")
        .is_none());
    assert_eq!(f.job(id).await.status, JobStatus::Processing);
    // The current holder finishes it.
    let done = f
        .queue
        .complete(second, serde_json::json!({"ok": true}))
        .await
        .expect("complete")
        .expect("held");
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.result, Some(serde_json::json!({"ok": true})));

    // After the last attempt, an expired lease fails the job as interrupted.
    let id = f.enqueue(script(1, 0)).await;
    for round in 1..=2 {
        let at = Timestamp(Timestamp::now().0 + round * 40_000);
        let claimed = f
            .store
            .write(move |tx| sql::claim(tx, at, 30_000))
            .await
            .expect("claim");
        assert!(matches!(claimed, ClaimResult::Job { .. }), "round {round}");
        let later = Timestamp(at.0 + 31_000);
        f.store
            .write(move |tx| sql::recover(tx, false, later, &|a, m| format!("interrupted {a}/{m}")))
            .await
            .expect("recover");
    }
    let job = f.job(id).await;
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.failure, Some(FailureKind::Interrupted));
    assert_eq!(job.error_message.as_deref(), Some("interrupted 2/2"));
    f.stop().await;
}

#[test]
fn backoff_doubles_up_to_the_cap_with_jitter() {
    let c = JobsConfig {
        retry_base_ms: 1000,
        retry_max_ms: 5000,
        ..config()
    };
    assert_eq!(backoff(&c, 1, 0.0), Duration::from_millis(1000));
    assert_eq!(backoff(&c, 2, 0.0), Duration::from_millis(2000));
    assert_eq!(backoff(&c, 3, 0.0), Duration::from_millis(4000));
    assert_eq!(backoff(&c, 4, 0.0), Duration::from_millis(5000));
    assert_eq!(backoff(&c, 40, 0.0), Duration::from_millis(5000));
    assert_eq!(backoff(&c, 2, 1.0), Duration::from_millis(1000));
    assert_eq!(backoff(&c, 2, 0.5), Duration::from_millis(1500));
}

#[test]
fn a_servers_retry_after_lengthens_the_backoff_never_shortens_it() {
    let c = JobsConfig {
        retry_base_ms: 1000,
        retry_max_ms: 5000,
        ..config()
    };
    let secs = Duration::from_secs;
    // Shorter than the backoff: the backoff.
    assert_eq!(retry_delay(&c, 2, 0.0, secs(1)), secs(2));
    assert_eq!(retry_delay(&c, 2, 0.0, Duration::ZERO), secs(2));
    // Longer: what the server asked, with no jitter taken off.
    assert_eq!(retry_delay(&c, 1, 1.0, secs(20)), secs(20));
    // A day: an hour.
    assert_eq!(retry_delay(&c, 1, 0.0, secs(86_400)), RETRY_AFTER_MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_back_off_then_resume_from_checkpoints() {
    let f = fixture(JobsConfig {
        retry_base_ms: 300,
        retry_max_ms: 300,
        ..config()
    })
    .await;
    let id = f
        .enqueue(TestScript {
            fail: Some(TestFailure::Transient),
            fail_times: 2,
            ..script(3, 0)
        })
        .await;
    // Watch the job's events to time the retries.
    let bus = f.queue.bus().clone();
    let filter = EventFilter {
        job: Some(id),
        notebook: None,
        ..EventFilter::default()
    };
    let mut cursor = bus.fetch(ME, None, &filter, 1).cursor;
    f.start_pool().await;
    let mut requeued_at = Vec::new();
    let mut claimed_at = Vec::new();
    let final_job = loop {
        let batch = bus
            .next(
                ME,
                Some(cursor),
                &filter,
                Wait::new(100, Duration::from_secs(10)),
                &f.shutdown,
            )
            .await;
        assert!(!batch.events.is_empty(), "no event in 10 s");
        cursor = batch.cursor;
        let mut end = None;
        for e in batch.events {
            let EventBody::Job { job } = e.body else {
                continue;
            };
            match job.status {
                JobStatus::Pending if job.attempts > 0 => requeued_at.push((e.at_us, job.run_at)),
                JobStatus::Processing if job.attempts as usize > claimed_at.len() => {
                    claimed_at.push(e.at_us)
                }
                s if s.is_terminal() => end = Some(job),
                _ => {}
            }
        }
        if let Some(job) = end {
            break job;
        }
    };
    assert_eq!(final_job.status, JobStatus::Completed, "{final_job:?}");
    assert_eq!(final_job.attempts, 3);
    // The steps ran once: later attempts skipped them.
    let result = final_job.result.expect("result");
    assert_eq!(result["skipped"], 3, "{result}");
    assert_eq!(requeued_at.len(), 2);
    assert_eq!(claimed_at.len(), 3);
    for (i, (at_us, run_at)) in requeued_at.iter().enumerate() {
        // The delay is between half and all of 300 ms (jitter), and the retry waits for it.
        let delay_ms = run_at.0 - at_us / 1000;
        assert!((140..=310).contains(&delay_ms), "delay {delay_ms} ms");
        let waited_ms = (claimed_at[i + 1] - at_us) / 1000;
        assert!(
            waited_ms >= delay_ms - 5,
            "retried after {waited_ms} ms, before {delay_ms}"
        );
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_end_at_once_and_keep_the_artifact_record() {
    let f = fixture(config()).await;
    f.start_pool().await;
    let id = f
        .enqueue(TestScript {
            fail: Some(TestFailure::Permanent),
            artifact: true,
            ..script(1, 0)
        })
        .await;
    let job = f.wait_end(id, Duration::from_secs(10)).await;
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.failure, Some(FailureKind::Permanent));
    assert_eq!(f.artifact_status(id).await, Some(ArtifactStatus::Failed));

    let id = f
        .enqueue(TestScript {
            artifact: true,
            ..script(1, 0)
        })
        .await;
    let job = f.wait_end(id, Duration::from_secs(10)).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(f.artifact_status(id).await, Some(ArtifactStatus::Ready));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_pending_jobs_at_once_and_running_ones_within_a_second() {
    let f = fixture(JobsConfig {
        concurrency: 1,
        ..config()
    })
    .await;
    f.start_pool().await;
    // One that listens to its token, one that does not: both end within a second.
    for ignore_cancel in [false, true] {
        let running = f
            .enqueue(TestScript {
                ignore_cancel,
                artifact: true,
                ..script(100, 100)
            })
            .await;
        let pending = f
            .enqueue(TestScript {
                artifact: true,
                ..script(1, 0)
            })
            .await;
        // Wait until the first one runs (by push).
        let bus = f.queue.bus().clone();
        let filter = EventFilter {
            job: Some(running),
            notebook: None,
            ..EventFilter::default()
        };
        let mut cursor = bus.fetch(ME, None, &filter, 1).cursor;
        while f.job(running).await.progress.is_none() {
            cursor = bus
                .next(
                    ME,
                    Some(cursor),
                    &filter,
                    Wait::new(10, Duration::from_secs(5)),
                    &f.shutdown,
                )
                .await
                .cursor;
        }
        let job = f
            .queue
            .cancel(ME, pending.to_string())
            .await
            .expect("cancel");
        assert_eq!(job.status, JobStatus::Cancelled);
        assert_eq!(
            f.artifact_status(pending).await,
            Some(ArtifactStatus::Cancelled)
        );

        let asked = Instant::now();
        let job = f
            .queue
            .cancel(ME, running.to_string())
            .await
            .expect("cancel");
        assert_eq!(job.status, JobStatus::Processing);
        assert!(job.cancel_requested);
        let job = f.wait_end(running, Duration::from_secs(3)).await;
        let took = asked.elapsed();
        assert_eq!(job.status, JobStatus::Cancelled);
        assert!(took < Duration::from_secs(1), "cancel took {took:?}");
        assert_eq!(
            f.artifact_status(running).await,
            Some(ArtifactStatus::Cancelled)
        );
        // A finished job cannot be cancelled.
        let again = f.queue.cancel(ME, running.to_string()).await;
        assert!(matches!(again, Err(ApiError::JobState { .. })), "{again:?}");
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_timeout_is_stopped_and_retried_then_failed() {
    let f = fixture(JobsConfig {
        timeout_secs: 1,
        max_attempts: 2,
        ..config()
    })
    .await;
    f.start_pool().await;
    let started = Instant::now();
    let id = f.enqueue(script(1, 60_000)).await;
    let job = f.wait_end(id, Duration::from_secs(10)).await;
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.failure, Some(FailureKind::TimedOut));
    assert_eq!(job.attempts, 2);
    assert!(started.elapsed() < Duration::from_secs(5));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_requeues_a_failed_job_keeping_its_finished_steps() {
    let f = fixture(config()).await;
    f.start_pool().await;
    let id = f
        .enqueue(TestScript {
            fail: Some(TestFailure::Permanent),
            fail_times: 1,
            artifact: true,
            ..script(2, 0)
        })
        .await;
    assert_eq!(
        f.wait_end(id, Duration::from_secs(10)).await.status,
        JobStatus::Error
    );
    let again = f.queue.retry(ME, id.to_string()).await.expect("retry");
    assert_eq!(again.status, JobStatus::Pending);
    assert_eq!(again.attempts, 0);
    let job = f.wait_end(id, Duration::from_secs(10)).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.result.expect("result")["skipped"], 2);
    assert_eq!(f.artifact_status(id).await, Some(ArtifactStatus::Ready));
    // Completed jobs are not retried.
    let r = f.queue.retry(ME, id.to_string()).await;
    assert!(matches!(r, Err(ApiError::JobState { .. })), "{r:?}");
    // Ids with or without the prefix, unknown ids.
    assert!(f.queue.get(ME, id.ulid()).await.is_ok());
    assert!(f.queue.get(ME, id.ulid().to_lowercase()).await.is_ok());
    let missing = f.queue.get(ME, JobId::new().to_string()).await;
    assert!(matches!(missing, Err(ApiError::JobNotFound { .. })));
    let other = f.queue.get(UserId(1), id.to_string()).await;
    assert!(matches!(other, Err(ApiError::JobNotFound { .. })));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_running_jobs_back_without_spending_an_attempt() {
    let f = fixture(config()).await;
    f.start_pool().await;
    let id = f.enqueue(script(100, 50)).await;
    while f.job(id).await.status != JobStatus::Processing {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = f.store.clone();
    f.stop().await;
    let job = store
        .read(move |c| Ok(sql::get(c, ME, id)?.job))
        .await
        .expect("read");
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.attempts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_jobs_with_random_cancels_all_end_once() {
    let f = fixture(config()).await;
    f.start_pool().await;
    let mut ids = Vec::new();
    for _ in 0..1000 {
        ids.push(f.enqueue(script(1, 0)).await);
    }
    let mut cancelled = 0;
    let mut too_late = 0;
    for _ in 0..100 {
        let id = ids[fastrand::usize(..ids.len())];
        match f.queue.cancel(ME, id.to_string()).await {
            Ok(_) => cancelled += 1,
            Err(ApiError::JobState { .. }) => too_late += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(cancelled + too_late, 100);
    for id in &ids {
        f.wait_end(*id, Duration::from_secs(60)).await;
    }
    let counts: Vec<(String, i64)> = f
        .store
        .read(|c| {
            let mut stmt =
                c.prepare("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .expect("counts");
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 1000, "{counts:?}");
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    assert_eq!(
        count("pending") + count("processing") + count("error"),
        0,
        "{counts:?}"
    );
    // Each cancel of a distinct job took effect once; repeats were refused.
    assert!(
        count("cancelled") >= 1 && count("cancelled") <= cancelled,
        "{counts:?}"
    );
    assert_eq!(count("completed") + count("cancelled"), 1000);
    f.stop().await;
}
