//! The job state machine, in one table.
//!
//! Every change of a job's status is a [`Transition`]. [`Transition::apply`] is the only place
//! that says which status a transition may start from and where it leads; the SQL guards
//! (`WHERE status IN (…)`) are generated from it, so the database refuses exactly what the
//! table refuses. Workers hold a [`super::Lease`], whose finishing methods consume it: a worker
//! cannot complete a job twice, or complete it after failing it.

use mentor_shared::jobs::JobStatus;

/// A change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// A worker takes a ready job.
    Claim,
    /// The handler finished.
    Complete,
    /// The job failed for good (permanent error, attempts exhausted, interrupted, timed out).
    Fail,
    /// The attempt ended without finishing and the job waits for another (transient error
    /// with backoff, lease expired, daemon stopping).
    Requeue,
    /// Cancelled: at once when pending, by the worker when running.
    Cancel,
    /// The learner asks again for a failed or cancelled job.
    Retry,
}

/// A transition the table forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} job cannot {transition:?}")]
pub struct Illegal {
    /// Where the job was.
    pub from: JobStatus,
    /// What was attempted.
    pub transition: Transition,
}

impl Transition {
    /// Every transition.
    pub const ALL: [Transition; 6] = [
        Transition::Claim,
        Transition::Complete,
        Transition::Fail,
        Transition::Requeue,
        Transition::Cancel,
        Transition::Retry,
    ];

    /// Where the transition leads from `from`, or why it may not happen.
    pub fn apply(self, from: JobStatus) -> Result<JobStatus, Illegal> {
        use JobStatus::*;
        use Transition::*;
        let to = match (self, from) {
            (Claim, Pending) => Processing,
            (Complete, Processing) => Completed,
            (Fail, Processing) => Error,
            (Requeue, Processing) => Pending,
            (Cancel, Pending | Processing) => Cancelled,
            (Retry, Error | Cancelled) => Pending,
            _ => {
                return Err(Illegal {
                    from,
                    transition: self,
                })
            }
        };
        Ok(to)
    }

    /// The statuses this transition may start from.
    pub fn sources(self) -> Vec<JobStatus> {
        JobStatus::ALL
            .into_iter()
            .filter(|s| self.apply(*s).is_ok())
            .collect()
    }

    /// The status it leads to (the same from every legal source).
    pub fn target(self) -> JobStatus {
        self.sources()
            .first()
            .and_then(|s| self.apply(*s).ok())
            .unwrap_or(JobStatus::Pending)
    }

    /// `status IN ('a', 'b')`: the SQL guard for this transition.
    pub fn guard(self) -> String {
        let list: Vec<String> = self
            .sources()
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("status IN ({})", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_documented_lifecycle() {
        use JobStatus::*;
        let legal: Vec<(Transition, JobStatus, JobStatus)> = Transition::ALL
            .into_iter()
            .flat_map(|t| {
                JobStatus::ALL
                    .into_iter()
                    .filter_map(move |s| t.apply(s).ok().map(|to| (t, s, to)))
            })
            .collect();
        assert_eq!(
            legal,
            vec![
                (Transition::Claim, Pending, Processing),
                (Transition::Complete, Processing, Completed),
                (Transition::Fail, Processing, Error),
                (Transition::Requeue, Processing, Pending),
                (Transition::Cancel, Pending, Cancelled),
                (Transition::Cancel, Processing, Cancelled),
                (Transition::Retry, Error, Pending),
                (Transition::Retry, Cancelled, Pending),
            ]
        );
        // Nothing leaves a terminal state except an explicit retry.
        for s in [Completed, Error, Cancelled] {
            for t in Transition::ALL {
                if t != Transition::Retry {
                    assert!(t.apply(s).is_err(), "{t:?} from {s:?}");
                }
            }
        }
        assert!(Transition::Retry.apply(Completed).is_err());
    }

    #[test]
    fn guards_match_the_table() {
        assert_eq!(
            Transition::Cancel.guard(),
            "status IN ('pending', 'processing')"
        );
        assert_eq!(Transition::Claim.guard(), "status IN ('pending')");
        assert_eq!(Transition::Retry.target(), JobStatus::Pending);
        assert_eq!(Transition::Complete.target(), JobStatus::Completed);
    }
}
