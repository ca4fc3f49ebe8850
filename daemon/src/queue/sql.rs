//! The queue's SQL, synchronous, one function per operation. Each runs inside a transaction
//! the caller opened (`BEGIN IMMEDIATE` for writes), so a job's change, its artifact's change
//! and the snapshot returned for the event are one atomic unit.
//!
//! Writes by a worker carry the `fence` it got when it claimed the job: once the job was
//! re-claimed (its lease ran out), the old worker's writes match no row and are refused.

use std::collections::BTreeMap;

use mentor_shared::ids::{ArtifactId, JobId, NotebookId, UserId};
use mentor_shared::jobs::{
    Artifact, ArtifactStatus, FailureKind, Job, JobFilter, JobKind, JobStatus, Progress,
};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::transitions::Transition;
use crate::store::StoreResult;

/// The columns [`job_from_row`] reads, in order.
/// (The artifact's id is kept on the job row, so a job's snapshot is one row of one table,
/// which `UPDATE … RETURNING` hands back with the change.)
pub const JOB_COLUMNS: &str = "id, kind, status, notebook_id, artifact_id, topic, params, \
     progress_current, progress_total, progress_stage, result, error_message, failure, \
     attempts, max_attempts, run_at_ms, cancel_requested, created_ms, updated_ms, finished_ms, \
     fence, user_id, checkpointed, progress_percent";

/// A job row with what only the daemon needs besides the public record.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// The public record.
    pub job: Job,
    /// The claim counter: the attempt a worker holds.
    pub fence: i64,
    /// Owner.
    pub user: UserId,
    /// Whether any checkpoint was recorded.
    pub checkpointed: bool,
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn failure_name(f: FailureKind) -> &'static str {
    match f {
        FailureKind::Permanent => "permanent",
        FailureKind::Exhausted => "exhausted",
        FailureKind::Interrupted => "interrupted",
        FailureKind::TimedOut => "timed_out",
    }
}

fn failure_parse(s: &str) -> Option<FailureKind> {
    match s {
        "permanent" => Some(FailureKind::Permanent),
        "exhausted" => Some(FailureKind::Exhausted),
        "interrupted" => Some(FailureKind::Interrupted),
        "timed_out" => Some(FailureKind::TimedOut),
        _ => None,
    }
}

fn bad_column(index: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("invalid {what}").into(),
    )
}

/// Reads a row selected with [`JOB_COLUMNS`].
pub fn job_from_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let status: String = r.get(2)?;
    let notebook: Option<String> = r.get(3)?;
    let artifact: Option<String> = r.get(4)?;
    let current: Option<i64> = r.get(7)?;
    let total: Option<i64> = r.get(8)?;
    let stage: Option<String> = r.get(9)?;
    let failure: Option<String> = r.get(12)?;
    let percent: Option<i64> = r.get(23)?;
    let progress = match (current, total, stage) {
        (Some(c), Some(t), Some(s)) => Some(match percent {
            Some(p) => Progress::weighted(c as u32, t as u32, s, p.clamp(0, 100) as u8),
            None => Progress::new(c as u32, t as u32, s),
        }),
        _ => None,
    };
    let job = Job {
        id: JobId::parse(&id).map_err(|_| bad_column(0, "job id"))?,
        kind: JobKind::parse(&kind).ok_or_else(|| bad_column(1, "job kind"))?,
        status: JobStatus::parse(&status).ok_or_else(|| bad_column(2, "job status"))?,
        notebook_id: notebook.and_then(|n| NotebookId::parse(&n).ok()),
        artifact_id: artifact.and_then(|a| ArtifactId::parse(&a).ok()),
        topic: r.get(5)?,
        params: json(Some(r.get(6)?)).unwrap_or(serde_json::Value::Null),
        progress,
        result: json(r.get(10)?),
        error_message: r.get(11)?,
        failure: failure.as_deref().and_then(failure_parse),
        attempts: r.get::<_, i64>(13)? as u32,
        max_attempts: r.get::<_, i64>(14)? as u32,
        run_at: Timestamp(r.get(15)?),
        cancel_requested: r.get::<_, i64>(16)? != 0,
        created: Timestamp(r.get(17)?),
        updated: Timestamp(r.get(18)?),
        finished: r.get::<_, Option<i64>>(19)?.map(Timestamp),
    };
    Ok(JobRow {
        job,
        fence: r.get(20)?,
        user: UserId(r.get::<_, i64>(21)? as u32),
        checkpointed: r.get::<_, i64>(22)? != 0,
    })
}

/// One job by id, whoever owns it.
pub fn get_row(conn: &Connection, id: JobId) -> StoreResult<Option<JobRow>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![id.ulid()], job_from_row)
        .optional()?)
}

/// Parses a job id typed by a user.
pub fn parse_id(reference: &str) -> Result<JobId, ApiError> {
    JobId::parse(reference).map_err(|_| ApiError::JobNotFound {
        reference: reference.trim().to_string(),
    })
}

/// One of the user's jobs.
pub fn get(conn: &Connection, user: UserId, id: JobId) -> StoreResult<JobRow> {
    match get_row(conn, id)? {
        Some(row) if row.user == user => Ok(row),
        _ => Err(ApiError::JobNotFound {
            reference: id.to_string(),
        }
        .into()),
    }
}

/// What a new job is.
pub struct NewJob {
    /// Owner.
    pub user: UserId,
    /// Notebook it works on.
    pub notebook: Option<NotebookId>,
    /// Kind.
    pub kind: JobKind,
    /// Topic.
    pub topic: String,
    /// Parameters (JSON).
    pub params: serde_json::Value,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Artifact placeholder title, when the job makes one.
    pub artifact_title: Option<String>,
    /// The notebook's conversation asked for it and must hear how it ends.
    pub notify_chat: bool,
}

/// Inserts a pending job and, when it makes one, its artifact placeholder ("generating").
pub fn insert(conn: &Connection, new: &NewJob, now: Timestamp) -> StoreResult<JobRow> {
    let id = JobId::new();
    let artifact_id = match (&new.artifact_title, new.notebook) {
        (Some(_), Some(_)) => Some(ArtifactId::new()),
        _ => None,
    };
    conn.prepare_cached(
        "INSERT INTO jobs (id, user_id, notebook_id, artifact_id, kind, topic, params, status,
                           max_attempts, run_at_ms, created_ms, updated_ms, chat_notify)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?9, ?9, ?10)",
    )?
    .execute(params![
        id.ulid(),
        new.user.0,
        new.notebook.map(|n| n.ulid()),
        artifact_id.map(|a| a.ulid()),
        new.kind.as_str(),
        new.topic,
        new.params.to_string(),
        new.max_attempts,
        now.0,
        new.notify_chat as i64,
    ])?;
    if let (Some(title), Some(notebook), Some(artifact)) =
        (&new.artifact_title, new.notebook, artifact_id)
    {
        conn.prepare_cached(
            "INSERT INTO artifacts (id, user_id, notebook_id, job_id, kind, title, status,
                                    created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'generating', ?7, ?7)",
        )?
        .execute(params![
            artifact.ulid(),
            new.user.0,
            notebook.ulid(),
            id.ulid(),
            new.kind.as_str(),
            title,
            now.0,
        ])?;
    }
    // The record as inserted (no need to read it back).
    Ok(JobRow {
        job: Job {
            id,
            kind: new.kind,
            status: JobStatus::Pending,
            notebook_id: new.notebook,
            artifact_id,
            topic: new.topic.clone(),
            params: new.params.clone(),
            progress: None,
            result: None,
            error_message: None,
            failure: None,
            attempts: 0,
            max_attempts: new.max_attempts,
            run_at: now,
            cancel_requested: false,
            created: now,
            updated: now,
            finished: None,
        },
        fence: 0,
        user: new.user,
        checkpointed: false,
    })
}

/// The user's jobs, newest first.
pub fn list(
    conn: &Connection,
    user: UserId,
    filter: &JobFilter,
    notebook: Option<NotebookId>,
) -> StoreResult<Vec<Job>> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 10_000);
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE user_id = ?1
           AND (?2 IS NULL OR status = ?2)
           AND (?3 IS NULL OR kind = ?3)
           AND (?4 IS NULL OR notebook_id = ?4)
         ORDER BY created_ms DESC, rowid DESC
         LIMIT ?5"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            user.0,
            filter.status.map(|s| s.as_str()),
            filter.kind.map(|k| k.as_str()),
            notebook.map(|n| n.ulid()),
            limit,
        ],
        job_from_row,
    )?;
    let mut jobs = Vec::new();
    for row in rows {
        jobs.push(row?.job);
    }
    Ok(jobs)
}

/// A claimed job: the row as it is now, with the checkpoints already recorded.
pub struct Claimed {
    /// The job (status processing, attempts counted).
    pub row: JobRow,
    /// Finished steps from earlier attempts.
    pub checkpoints: BTreeMap<String, serde_json::Value>,
}

/// What a claim found.
pub enum ClaimResult {
    /// A job to run; `more` says whether another is ready right now.
    Job {
        /// The job.
        claimed: Box<Claimed>,
        /// Another job is ready.
        more: bool,
    },
    /// Nothing ready; the earliest pending job becomes ready at this time.
    Idle(Option<Timestamp>),
}

/// Takes the oldest ready job: one `UPDATE … RETURNING` that moves it to processing, counts
/// the attempt, bumps the fence and sets the lease.
pub fn claim(conn: &Connection, now: Timestamp, lease_ms: i64) -> StoreResult<ClaimResult> {
    let sql = format!(
        "UPDATE jobs SET status = 'processing', attempts = attempts + 1, fence = fence + 1,
                         lease_until_ms = ?2, updated_ms = ?1, error_message = NULL
         WHERE id = (SELECT id FROM jobs WHERE status = 'pending' AND run_at_ms <= ?1
                     ORDER BY run_at_ms, rowid LIMIT 1)
           AND {}
         RETURNING {JOB_COLUMNS}",
        Transition::Claim.guard()
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row(params![now.0, now.0 + lease_ms], job_from_row)
        .optional()?;
    let Some(row) = row else {
        let next: Option<i64> = conn
            .prepare_cached("SELECT MIN(run_at_ms) FROM jobs WHERE status = 'pending'")?
            .query_row([], |r| r.get(0))?;
        return Ok(ClaimResult::Idle(next.map(Timestamp)));
    };
    let checkpoints = if row.checkpointed {
        checkpoints(conn, row.job.id)?
    } else {
        BTreeMap::new()
    };
    let more: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'pending' AND run_at_ms <= ?1)",
        )?
        .query_row(params![now.0], |r| r.get(0))?;
    Ok(ClaimResult::Job {
        claimed: Box::new(Claimed { row, checkpoints }),
        more,
    })
}

/// A job's recorded checkpoints.
pub fn checkpoints(
    conn: &Connection,
    id: JobId,
) -> StoreResult<BTreeMap<String, serde_json::Value>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, data FROM job_checkpoints WHERE job_id = ?1")?;
    let rows = stmt.query_map(params![id.ulid()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (name, data) = row?;
        out.insert(
            name,
            serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        );
    }
    Ok(out)
}

/// Extends the lease. `None` when the worker lost the job; else whether cancellation was
/// requested (by another connection, or before a restart).
pub fn heartbeat(
    conn: &Connection,
    id: JobId,
    fence: i64,
    until: Timestamp,
) -> StoreResult<Option<bool>> {
    Ok(conn
        .prepare_cached(
            "UPDATE jobs SET lease_until_ms = ?3
             WHERE id = ?1 AND status = 'processing' AND fence = ?2
             RETURNING cancel_requested",
        )?
        .query_row(params![id.ulid(), fence, until.0], |r| {
            r.get::<_, i64>(0).map(|c| c != 0)
        })
        .optional()?)
}

/// Records progress; `None` when the worker lost the job.
pub fn progress(
    conn: &Connection,
    id: JobId,
    fence: i64,
    progress: &Progress,
    now: Timestamp,
) -> StoreResult<Option<JobRow>> {
    let sql = format!(
        "UPDATE jobs SET progress_current = ?3, progress_total = ?4, progress_stage = ?5,
                         progress_percent = ?7, updated_ms = ?6
         WHERE id = ?1 AND status = 'processing' AND fence = ?2
         RETURNING {JOB_COLUMNS}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![
                id.ulid(),
                fence,
                progress.current,
                progress.total,
                progress.stage,
                now.0,
                progress.percentage
            ],
            job_from_row,
        )
        .optional()?)
}

/// Records a finished step; false when the worker lost the job.
pub fn checkpoint(
    conn: &Connection,
    id: JobId,
    fence: i64,
    attempt: u32,
    name: &str,
    data: &serde_json::Value,
    now: Timestamp,
) -> StoreResult<bool> {
    let held = conn
        .prepare_cached(
            "UPDATE jobs SET checkpointed = 1
             WHERE id = ?1 AND status = 'processing' AND fence = ?2",
        )?
        .execute(params![id.ulid(), fence])?;
    if held == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO job_checkpoints (job_id, name, data, attempt, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (job_id, name) DO UPDATE SET data = excluded.data,
             attempt = excluded.attempt, created_ms = excluded.created_ms",
    )?
    .execute(params![id.ulid(), name, data.to_string(), attempt, now.0])?;
    Ok(true)
}

/// How a worker's attempt ends.
#[derive(Debug, Clone)]
pub enum Finish {
    /// Done, with the handler's result (also the artifact's content).
    Complete(serde_json::Value),
    /// Failed for good. `partial` is saved on the artifact (e.g. a transcript whose speech
    /// failed).
    Fail {
        /// Why, in the daemon's language.
        message: String,
        /// The nature of the failure.
        failure: FailureKind,
        /// What the handler made before failing.
        partial: Option<serde_json::Value>,
    },
    /// Back to the queue, eligible at `run_at`. `refund` gives the attempt back (the daemon
    /// stopped; the job did not fail).
    Requeue {
        /// When it may run again.
        run_at: Timestamp,
        /// Why the attempt ended, shown while the job waits.
        message: Option<String>,
        /// Do not count this attempt.
        refund: bool,
    },
    /// Cancelled as the learner asked.
    Cancel,
}

impl Finish {
    fn transition(&self) -> Transition {
        match self {
            Finish::Complete(_) => Transition::Complete,
            Finish::Fail { .. } => Transition::Fail,
            Finish::Requeue { .. } => Transition::Requeue,
            Finish::Cancel => Transition::Cancel,
        }
    }
}

/// Ends an attempt, fenced: `None` when the worker no longer holds the job. The artifact
/// follows in the same transaction.
pub fn finish(
    conn: &Connection,
    id: JobId,
    fence: Option<i64>,
    finish: &Finish,
    now: Timestamp,
) -> StoreResult<Option<JobRow>> {
    let t = finish.transition();
    let to = t.target();
    // Only processing jobs are finished here; a fence (when given) names the holder.
    let guard = format!(
        "id = ?1 AND status = 'processing' AND {} AND (?2 IS NULL OR fence = ?2)",
        t.guard()
    );
    let terminal = to.is_terminal();
    let finished_ms = terminal.then_some(now.0);
    let row = match finish {
        Finish::Complete(result) => conn
            .prepare_cached(&format!(
                "UPDATE jobs SET status = ?3, result = ?4, error_message = NULL, failure = NULL,
                                 lease_until_ms = NULL, updated_ms = ?5, finished_ms = ?6,
                                 progress_current = progress_total,
                                 progress_percent = CASE WHEN progress_total IS NULL
                                                         THEN NULL ELSE 100 END
                 WHERE {guard}
                 RETURNING {JOB_COLUMNS}"
            ))?
            .query_row(
                params![
                    id.ulid(),
                    fence,
                    to.as_str(),
                    result.to_string(),
                    now.0,
                    finished_ms
                ],
                job_from_row,
            )
            .optional()?,
        Finish::Fail {
            message, failure, ..
        } => conn
            .prepare_cached(&format!(
                "UPDATE jobs SET status = ?3, error_message = ?4, failure = ?5,
                                 lease_until_ms = NULL, updated_ms = ?6, finished_ms = ?7
                 WHERE {guard}
                 RETURNING {JOB_COLUMNS}"
            ))?
            .query_row(
                params![
                    id.ulid(),
                    fence,
                    to.as_str(),
                    message,
                    failure_name(*failure),
                    now.0,
                    finished_ms
                ],
                job_from_row,
            )
            .optional()?,
        Finish::Requeue {
            run_at,
            message,
            refund,
        } => conn
            .prepare_cached(&format!(
                "UPDATE jobs SET status = ?3, run_at_ms = ?4, error_message = ?5,
                                 attempts = attempts - ?6, lease_until_ms = NULL,
                                 updated_ms = ?7
                 WHERE {guard}
                 RETURNING {JOB_COLUMNS}"
            ))?
            .query_row(
                params![
                    id.ulid(),
                    fence,
                    to.as_str(),
                    run_at.0,
                    message,
                    i64::from(*refund),
                    now.0
                ],
                job_from_row,
            )
            .optional()?,
        Finish::Cancel => conn
            .prepare_cached(&format!(
                "UPDATE jobs SET status = ?3, lease_until_ms = NULL, updated_ms = ?4,
                                 finished_ms = ?5
                 WHERE {guard}
                 RETURNING {JOB_COLUMNS}"
            ))?
            .query_row(
                params![id.ulid(), fence, to.as_str(), now.0, finished_ms],
                job_from_row,
            )
            .optional()?,
    };
    let Some(row) = row else {
        return Ok(None);
    };
    if row.job.artifact_id.is_none() {
        return Ok(Some(row));
    }
    let data = match finish {
        Finish::Complete(result) => Some(result.to_string()),
        Finish::Fail {
            partial: Some(p), ..
        } => Some(p.to_string()),
        _ => None,
    };
    set_artifact_status(conn, id, ArtifactStatus::for_job(to), data.as_deref(), now)?;
    Ok(Some(row))
}

/// Sets the status of a job's artifact, with its data when given. A ready artifact takes
/// the title its generator wrote ("Inside the cell") in place of the topic it was named
/// after while generating.
fn set_artifact_status(
    conn: &Connection,
    job: JobId,
    status: ArtifactStatus,
    data: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let title = data
        .filter(|_| status == ArtifactStatus::Ready)
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|d| d.get("title")?.as_str().map(|t| t.trim().to_string()))
        .filter(|t| !t.is_empty());
    conn.prepare_cached(
        "UPDATE artifacts SET status = ?2, data = COALESCE(?3, data), updated_ms = ?4,
                title = COALESCE(?5, title)
         WHERE job_id = ?1",
    )?
    .execute(params![job.ulid(), status.as_str(), data, now.0, title])?;
    Ok(())
}

/// What a cancel request did.
pub enum CancelOutcome {
    /// The job was pending: it is cancelled now.
    Cancelled(JobRow),
    /// The job runs: cancellation is requested; its worker ends it.
    Requested(JobRow),
}

/// Cancels a pending job at once, or flags a running one for its worker.
pub fn cancel(
    conn: &Connection,
    user: UserId,
    id: JobId,
    now: Timestamp,
) -> StoreResult<CancelOutcome> {
    let row = get(conn, user, id)?;
    match row.job.status {
        JobStatus::Pending => {
            conn.prepare_cached(&format!(
                "UPDATE jobs SET status = 'cancelled', updated_ms = ?2, finished_ms = ?2
                 WHERE id = ?1 AND {}",
                Transition::Cancel.guard()
            ))?
            .execute(params![id.ulid(), now.0])?;
            set_artifact_status(conn, id, ArtifactStatus::Cancelled, None, now)?;
            Ok(CancelOutcome::Cancelled(get(conn, user, id)?))
        }
        JobStatus::Processing => {
            conn.prepare_cached(
                "UPDATE jobs SET cancel_requested = 1, updated_ms = ?2
                 WHERE id = ?1 AND status = 'processing'",
            )?
            .execute(params![id.ulid(), now.0])?;
            Ok(CancelOutcome::Requested(get(conn, user, id)?))
        }
        status => Err(ApiError::JobState {
            job: id.to_string(),
            status: status.as_str().into(),
            action: "cancel".into(),
        }
        .into()),
    }
}

/// Puts a failed or cancelled job back in the queue with fresh attempts, keeping its
/// checkpoints (finished steps are not redone). A conversation that asked for it will hear
/// how the new run ends.
pub fn retry(conn: &Connection, user: UserId, id: JobId, now: Timestamp) -> StoreResult<JobRow> {
    let row = get(conn, user, id)?;
    if Transition::Retry.apply(row.job.status).is_err() {
        return Err(ApiError::JobState {
            job: id.to_string(),
            status: row.job.status.as_str().into(),
            action: "retry".into(),
        }
        .into());
    }
    conn.prepare_cached(&format!(
        "UPDATE jobs SET status = 'pending', attempts = 0, run_at_ms = ?2, cancel_requested = 0,
                         error_message = NULL, failure = NULL, result = NULL,
                         progress_current = NULL, progress_total = NULL, progress_stage = NULL,
                         progress_percent = NULL, updated_ms = ?2, finished_ms = NULL,
                         chat_notify = CASE WHEN chat_notify = 2 THEN 1 ELSE chat_notify END
         WHERE id = ?1 AND {}",
        Transition::Retry.guard()
    ))?
    .execute(params![id.ulid(), now.0])?;
    set_artifact_status(conn, id, ArtifactStatus::Generating, None, now)?;
    get(conn, user, id)
}

/// Recovers jobs left processing by a dead or stuck worker: every processing job when `all`
/// (at start-up, no worker of this daemon can hold one), else those whose lease ran out.
/// Each goes back to pending (its checkpoints kept), or ends as cancelled when cancellation
/// had been asked, or fails as interrupted after its last attempt.
pub fn recover(
    conn: &Connection,
    all: bool,
    now: Timestamp,
    interrupted: &dyn Fn(u32, u32) -> String,
) -> StoreResult<Vec<JobRow>> {
    let ids: Vec<(String, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, fence FROM jobs
             WHERE status = 'processing' AND (?1 OR lease_until_ms IS NULL OR lease_until_ms < ?2)",
        )?;
        let rows = stmt.query_map(params![all, now.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut recovered = Vec::new();
    for (id, fence) in ids {
        let Ok(id) = JobId::parse(&id) else { continue };
        let Some(row) = get_row(conn, id)? else {
            continue;
        };
        let finish = if row.job.cancel_requested {
            Finish::Cancel
        } else if row.job.attempts >= row.job.max_attempts {
            Finish::Fail {
                message: interrupted(row.job.attempts, row.job.max_attempts),
                failure: FailureKind::Interrupted,
                partial: None,
            }
        } else {
            Finish::Requeue {
                run_at: now,
                message: None,
                refund: false,
            }
        };
        if let Some(row) = self::finish(conn, id, Some(fence), &finish, now)? {
            recovered.push(row);
        }
    }
    Ok(recovered)
}

/// Reads an artifact row.
fn artifact_from_row(r: &Row<'_>) -> rusqlite::Result<(Artifact, UserId)> {
    let id: String = r.get(0)?;
    let notebook: String = r.get(1)?;
    let job: String = r.get(2)?;
    let kind: String = r.get(3)?;
    let status: String = r.get(5)?;
    Ok((
        Artifact {
            id: ArtifactId::parse(&id).map_err(|_| bad_column(0, "artifact id"))?,
            notebook_id: NotebookId::parse(&notebook).map_err(|_| bad_column(1, "notebook id"))?,
            job_id: JobId::parse(&job).map_err(|_| bad_column(2, "job id"))?,
            kind: JobKind::parse(&kind).ok_or_else(|| bad_column(3, "kind"))?,
            title: r.get(4)?,
            status: ArtifactStatus::parse(&status).ok_or_else(|| bad_column(5, "status"))?,
            data: json(r.get(6)?),
            created: Timestamp(r.get(7)?),
            updated: Timestamp(r.get(8)?),
        },
        UserId(r.get::<_, i64>(9)? as u32),
    ))
}

const ARTIFACT_COLUMNS: &str =
    "id, notebook_id, job_id, kind, title, status, data, created_ms, updated_ms, user_id";

/// One of the user's artifacts.
pub fn artifact(conn: &Connection, user: UserId, reference: &str) -> StoreResult<Artifact> {
    let not_found = || ApiError::ArtifactNotFound {
        reference: reference.trim().to_string(),
    };
    let id = ArtifactId::parse(reference).map_err(|_| not_found())?;
    let found = conn
        .prepare_cached(&format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts WHERE id = ?1"
        ))?
        .query_row(params![id.ulid()], artifact_from_row)
        .optional()?;
    match found {
        Some((a, owner)) if owner == user => Ok(a),
        _ => Err(not_found().into()),
    }
}

/// A notebook's artifacts, newest first.
pub fn artifacts(conn: &Connection, notebook: NotebookId) -> StoreResult<Vec<Artifact>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ARTIFACT_COLUMNS} FROM artifacts WHERE notebook_id = ?1
         ORDER BY created_ms DESC, id DESC"
    ))?;
    let rows = stmt.query_map(params![notebook.ulid()], artifact_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.0);
    }
    Ok(out)
}

/// Cancels every pending or running job of a notebook (it is about to be deleted); returns
/// them as they are now, for the events that tell their watchers.
pub fn cancel_notebook(
    conn: &Connection,
    notebook: NotebookId,
    now: Timestamp,
) -> StoreResult<Vec<JobRow>> {
    let sql = format!(
        "UPDATE jobs SET status = 'cancelled', lease_until_ms = NULL, updated_ms = ?2,
                         finished_ms = ?2
         WHERE notebook_id = ?1 AND {}
         RETURNING {JOB_COLUMNS}",
        Transition::Cancel.guard()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![notebook.ulid(), now.0], job_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of a notebook's running jobs (their handlers must be stopped when it is deleted).
pub fn running_in_notebook(conn: &Connection, notebook: NotebookId) -> StoreResult<Vec<JobId>> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM jobs WHERE notebook_id = ?1 AND status = 'processing'")?;
    let rows = stmt.query_map(params![notebook.ulid()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        if let Ok(id) = JobId::parse(&row?) {
            out.push(id);
        }
    }
    Ok(out)
}
