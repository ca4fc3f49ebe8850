//! The job status lines pinned to the bottom of the screen: which jobs have a line, for how
//! long, and in what order. Pure state: the clock is passed in, so the 5-second rule is tested
//! without waiting.
//!
//! A finished (ready) or cancelled job keeps its line for exactly [`LINGER`] after the client
//! saw it end; a failed job keeps its line until the learner dismisses it, so no failure is
//! missed.

use std::time::{Duration, Instant};

use mentor_shared::ids::JobId;
use mentor_shared::jobs::{Job, JobStatus};
use mentor_shared::time::Timestamp;

/// How long a ready or cancelled line stays.
pub const LINGER: Duration = Duration::from_secs(5);
/// Lines shown at most; the rest are counted in a "+N more" line.
pub const MAX_SHOWN: usize = 3;

/// One job's line.
#[derive(Debug, Clone)]
pub struct JobLine {
    /// The job as last reported.
    pub job: Job,
    /// When the job started, on this client's clock (for the elapsed time).
    pub since: Instant,
    /// When this client saw the job end.
    pub ended: Option<Instant>,
}

impl JobLine {
    /// Time the job has been running (frozen once it ended).
    pub fn elapsed(&self, now: Instant) -> Duration {
        self.ended
            .unwrap_or(now)
            .saturating_duration_since(self.since)
    }

    /// Whether the line still shows at `now`.
    fn shows(&self, now: Instant) -> bool {
        match (self.job.status, self.ended) {
            (JobStatus::Completed | JobStatus::Cancelled, Some(ended)) => now < ended + LINGER,
            _ => true,
        }
    }
}

/// Every job line of the notebook, in the order the jobs were first seen.
#[derive(Debug, Clone, Default)]
pub struct JobLines {
    lines: Vec<JobLine>,
}

/// What the status area shows at one moment.
#[derive(Debug)]
pub struct Shown<'a> {
    /// The lines drawn, oldest first.
    pub lines: Vec<&'a JobLine>,
    /// Lines not drawn ("+N more").
    pub more: usize,
}

impl JobLines {
    /// Takes a job's new record. `wall` is the daemon-clock time that corresponds to `now`, to
    /// place the job's start on this client's clock. A job that ended before the client knew
    /// of it gets no line (the conversation's notice tells of it).
    pub fn update(&mut self, job: Job, now: Instant, wall: Timestamp) {
        if let Some(line) = self.lines.iter_mut().find(|l| l.job.id == job.id) {
            if job.status.is_terminal() && line.ended.is_none() {
                line.ended = Some(now);
            } else if !job.status.is_terminal() {
                // Retried: running again.
                line.ended = None;
            }
            line.job = job;
            return;
        }
        if job.status.is_terminal() {
            return;
        }
        let since = now.checked_sub(job.created.age(wall)).unwrap_or(now);
        self.lines.push(JobLine {
            job,
            since,
            ended: None,
        });
    }

    /// Forgets lines whose time is up.
    pub fn expire(&mut self, now: Instant) {
        self.lines.retain(|l| l.shows(now));
    }

    /// The lines at `now`: the newest [`MAX_SHOWN`], failures first among them so none
    /// hides behind "+N more".
    pub fn shown(&self, now: Instant) -> Shown<'_> {
        let live: Vec<&JobLine> = self.lines.iter().filter(|l| l.shows(now)).collect();
        let failed: Vec<&JobLine> = live
            .iter()
            .copied()
            .filter(|l| l.job.status == JobStatus::Error)
            .collect();
        let others: Vec<&JobLine> = live
            .iter()
            .copied()
            .filter(|l| l.job.status != JobStatus::Error)
            .collect();
        let mut picked: Vec<&JobLine> = failed.iter().rev().take(MAX_SHOWN).copied().collect();
        let room = MAX_SHOWN - picked.len();
        picked.extend(others.iter().rev().take(room).copied());
        // Back to the order they were first seen, so lines do not jump around.
        picked.sort_by_key(|l| live.iter().position(|x| x.job.id == l.job.id));
        Shown {
            more: live.len() - picked.len(),
            lines: picked,
        }
    }

    /// Dismisses the newest failed line; its id, if there was one.
    pub fn dismiss_failed(&mut self) -> Option<JobId> {
        let at = self
            .lines
            .iter()
            .rposition(|l| l.job.status == JobStatus::Error)?;
        Some(self.lines.remove(at).job.id)
    }

    /// The newest line whose job still runs (the one cancel acts on).
    pub fn newest_running(&self) -> Option<&JobLine> {
        self.lines
            .iter()
            .rev()
            .find(|l| !l.job.status.is_terminal())
    }

    /// Whether a spinner is turning (some job runs).
    pub fn animating(&self) -> bool {
        self.lines.iter().any(|l| !l.job.status.is_terminal())
    }

    /// The next moment a line disappears by itself.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.lines
            .iter()
            .filter(|l| matches!(l.job.status, JobStatus::Completed | JobStatus::Cancelled))
            .filter_map(|l| l.ended.map(|e| e + LINGER))
            .min()
    }

    /// The line of a job, if it has one.
    pub fn get(&self, id: JobId) -> Option<&JobLine> {
        self.lines.iter().find(|l| l.job.id == id)
    }

    /// Whether there are no lines at all.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mentor_shared::jobs::{JobKind, Progress};

    /// A job record as the daemon sends it.
    pub fn job(kind: JobKind, status: JobStatus, progress: Option<(u32, u32)>) -> Job {
        let now = Timestamp::now();
        Job {
            id: JobId::new(),
            kind,
            status,
            notebook_id: None,
            artifact_id: None,
            topic: "photosynthesis".into(),
            params: serde_json::Value::Null,
            progress: progress.map(|(current, total)| Progress {
                current,
                total,
                percentage: (current * 100).checked_div(total).unwrap_or(0) as u8,
                stage: "stage-test-step".into(),
            }),
            result: None,
            error_message: None,
            failure: None,
            attempts: 1,
            max_attempts: 3,
            run_at: now,
            cancel_requested: false,
            created: now,
            updated: now,
            finished: None,
        }
    }

    fn ended(mut j: Job, status: JobStatus) -> Job {
        j.status = status;
        j
    }

    #[test]
    fn a_ready_line_goes_after_exactly_five_seconds_and_not_before() {
        let t0 = Instant::now();
        let mut lines = JobLines::default();
        let running = job(JobKind::Podcast, JobStatus::Processing, Some((1, 4)));
        lines.update(running.clone(), t0, Timestamp::now());
        let t1 = t0 + Duration::from_secs(7);
        lines.update(ended(running, JobStatus::Completed), t1, Timestamp::now());
        for at in [0, 1000, 4000, 4999] {
            let now = t1 + Duration::from_millis(at);
            lines.expire(now);
            assert_eq!(lines.shown(now).lines.len(), 1, "gone early, at {at} ms");
        }
        assert_eq!(lines.next_expiry(), Some(t1 + LINGER));
        let now = t1 + LINGER;
        assert_eq!(lines.shown(now).lines.len(), 0);
        lines.expire(now);
        assert!(lines.is_empty());
    }

    #[test]
    fn a_failed_line_never_goes_by_itself_only_when_dismissed() {
        let t0 = Instant::now();
        let mut lines = JobLines::default();
        let running = job(JobKind::Quiz, JobStatus::Processing, None);
        let id = running.id;
        lines.update(running.clone(), t0, Timestamp::now());
        lines.update(ended(running, JobStatus::Error), t0, Timestamp::now());
        let much_later = t0 + Duration::from_secs(24 * 3600);
        lines.expire(much_later);
        assert_eq!(lines.shown(much_later).lines.len(), 1);
        assert_eq!(lines.next_expiry(), None);
        assert_eq!(lines.dismiss_failed(), Some(id));
        assert!(lines.is_empty());
        assert_eq!(lines.dismiss_failed(), None);
    }

    #[test]
    fn a_cancelled_line_goes_after_five_seconds_too() {
        let t0 = Instant::now();
        let mut lines = JobLines::default();
        let running = job(JobKind::Podcast, JobStatus::Pending, None);
        lines.update(running.clone(), t0, Timestamp::now());
        lines.update(ended(running, JobStatus::Cancelled), t0, Timestamp::now());
        assert_eq!(lines.shown(t0 + Duration::from_millis(4999)).lines.len(), 1);
        assert_eq!(lines.shown(t0 + LINGER).lines.len(), 0);
    }

    #[test]
    fn a_job_that_ended_unseen_gets_no_line() {
        let mut lines = JobLines::default();
        let done = job(JobKind::Podcast, JobStatus::Completed, None);
        lines.update(done, Instant::now(), Timestamp::now());
        assert!(lines.is_empty());
    }

    #[test]
    fn at_most_three_lines_with_failures_kept_in_view() {
        let t0 = Instant::now();
        let mut lines = JobLines::default();
        let first = job(JobKind::Podcast, JobStatus::Processing, None);
        lines.update(first.clone(), t0, Timestamp::now());
        for _ in 0..4 {
            lines.update(
                job(JobKind::Quiz, JobStatus::Processing, None),
                t0,
                Timestamp::now(),
            );
        }
        let shown = lines.shown(t0);
        assert_eq!((shown.lines.len(), shown.more), (3, 2));
        assert!(shown.lines.iter().all(|l| l.job.id != first.id));
        // The oldest fails: it comes into view.
        lines.update(ended(first.clone(), JobStatus::Error), t0, Timestamp::now());
        let shown = lines.shown(t0);
        assert_eq!(shown.lines[0].job.id, first.id);
        assert_eq!(shown.more, 2);
    }

    #[test]
    fn elapsed_counts_from_the_jobs_creation_and_stops_at_its_end() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut lines = JobLines::default();
        let mut running = job(JobKind::Podcast, JobStatus::Processing, None);
        let wall = Timestamp::now();
        running.created = Timestamp(wall.millis() - 12_000);
        lines.update(running.clone(), t0, wall);
        let line = lines.get(running.id).expect("line");
        assert_eq!(line.elapsed(t0).as_secs(), 12);
        assert_eq!(line.elapsed(t0 + Duration::from_secs(3)).as_secs(), 15);
        lines.update(ended(running.clone(), JobStatus::Completed), t0, wall);
        let line = lines.get(running.id).expect("line");
        assert_eq!(line.elapsed(t0 + Duration::from_secs(3)).as_secs(), 12);
    }
}
