//! Job status changes told once, as lines: for screen readers and logs, where a progress bar
//! redrawn in place is noise. Each status change is said once, and each stage once per job
//! (`Recording voices 3/12` does not come back for 4/12).

use std::collections::{HashMap, HashSet};

use mentor_shared::i18n::Localizer;
use mentor_shared::ids::JobId;
use mentor_shared::jobs::{Job, JobStatus, Progress};
use mentor_shared::t;

use crate::cli::jobs::{failure_name, kind_name, stage_text};

/// The stage of a job waiting for a worker: its status already says so.
const QUEUED_STAGE: &str = "stage-queued";

/// What has been said about each job.
#[derive(Debug, Default)]
pub struct JobAnnouncer {
    said: HashMap<JobId, Said>,
}

#[derive(Debug, Default)]
struct Said {
    status: Option<JobStatus>,
    stages: HashSet<String>,
}

impl JobAnnouncer {
    /// The line to say about a job's new record, if it brings news.
    pub fn line(&mut self, l: &Localizer, job: &Job) -> Option<String> {
        let said = self.said.entry(job.id).or_default();
        let new_status = said.status != Some(job.status);
        said.status = Some(job.status);
        let stage = job.progress.as_ref().filter(|p| {
            !p.stage.is_empty() && p.stage != QUEUED_STAGE && !job.status.is_terminal()
        });
        let new_stage: Option<&Progress> = stage.filter(|p| said.stages.insert(p.stage.clone()));
        let subject = subject(l, job);
        match (new_status, new_stage) {
            (true, None) => Some(status_words(l, job, &subject)),
            (true, Some(p)) => Some(format!(
                "{} · {}",
                status_words(l, job, &subject),
                stage_text(l, p)
            )),
            (false, Some(p)) => Some(t!(
                l,
                "chat-job-stage",
                job = subject,
                stage = stage_text(l, p)
            )),
            (false, None) => None,
        }
    }
}

/// "Podcast about “Cells”", or the kind alone for a job on the whole notebook.
pub fn subject(l: &Localizer, job: &Job) -> String {
    let kind = kind_name(l, job.kind);
    let topic = job.topic.trim();
    if topic.is_empty() {
        kind
    } else {
        t!(l, "chat-job-about", kind = kind, topic = topic)
    }
}

fn status_words(l: &Localizer, job: &Job, subject: &str) -> String {
    let kind = job.kind.as_str();
    match job.status {
        JobStatus::Pending => t!(l, "chat-job-pending", job = subject),
        JobStatus::Processing => t!(l, "chat-job-processing", job = subject),
        JobStatus::Completed => t!(l, "chat-job-completed", job = subject, kind = kind),
        JobStatus::Cancelled => t!(l, "chat-job-cancelled", job = subject, kind = kind),
        JobStatus::Error => {
            let reason = match (&job.error_message, job.failure) {
                (Some(m), _) if !m.trim().is_empty() => m.trim().to_string(),
                (_, Some(f)) => failure_name(l, f),
                _ => t!(l, "job-line-no-reason"),
            };
            t!(l, "chat-job-failed", job = subject, reason = reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::ids::NotebookId;
    use mentor_shared::jobs::JobKind;
    use mentor_shared::time::Timestamp;

    fn job(status: JobStatus, progress: Option<Progress>) -> Job {
        Job {
            id: JobId::new(),
            kind: JobKind::Podcast,
            status,
            notebook_id: Some(NotebookId::new()),
            artifact_id: None,
            topic: "Cells".into(),
            params: serde_json::Value::Null,
            progress,
            result: None,
            error_message: None,
            failure: None,
            attempts: 1,
            max_attempts: 3,
            run_at: Timestamp(0),
            cancel_requested: false,
            created: Timestamp(0),
            updated: Timestamp(0),
            finished: None,
        }
    }

    #[test]
    fn each_status_and_each_stage_is_said_once() {
        let l = localizer(Lang::EnUs);
        let mut a = JobAnnouncer::default();
        let mut j = job(JobStatus::Pending, Some(Progress::new(0, 0, QUEUED_STAGE)));
        assert_eq!(
            a.line(l, &j).as_deref(),
            Some("Podcast about “Cells”: queued")
        );
        assert_eq!(a.line(l, &j), None, "the same record twice");
        j.status = JobStatus::Processing;
        j.progress = Some(Progress::new(1, 5, "stage-test-step"));
        assert_eq!(
            a.line(l, &j).as_deref(),
            Some("Podcast about “Cells”: in progress · Step 1/5")
        );
        // Progress within a stage is not news.
        j.progress = Some(Progress::new(2, 5, "stage-test-step"));
        assert_eq!(a.line(l, &j), None);
        j.progress = Some(Progress::new(0, 0, "stage-from-the-future"));
        assert_eq!(
            a.line(l, &j).as_deref(),
            Some("Podcast about “Cells”: stage-from-the-future")
        );
        j.status = JobStatus::Error;
        j.error_message = Some("espeak-ng is missing".into());
        assert_eq!(
            a.line(l, &j).as_deref(),
            Some("Podcast about “Cells”: failed: espeak-ng is missing")
        );
        assert_eq!(a.line(l, &j), None);
    }

    #[test]
    fn a_job_first_seen_midway_is_told_with_its_stage_in_french() {
        let l = localizer(Lang::FrFr);
        let mut a = JobAnnouncer::default();
        let mut j = job(
            JobStatus::Processing,
            Some(Progress::new(2, 5, "stage-test-step")),
        );
        j.topic = String::new();
        assert_eq!(
            a.line(l, &j).as_deref(),
            Some("Podcast : en cours · Étape 2/5")
        );
        j.status = JobStatus::Completed;
        j.progress = None;
        assert_eq!(a.line(l, &j).as_deref(), Some("Podcast : prêt"));
        let mut guide = job(JobStatus::Cancelled, None);
        guide.kind = JobKind::StudyGuide;
        assert_eq!(
            a.line(l, &guide).as_deref(),
            Some("Fiche de révision sur « Cells » : annulée")
        );
    }
}
