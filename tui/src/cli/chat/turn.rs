//! Which turn answers us, and when the jobs it started are over.
//!
//! A learner's message is answered by a *turn*: the teacher's replies and tool calls, closed by
//! a `turn_ended` event. Events carry no turn id, so a client tells its turn from the one
//! streaming before it by their order in the stream: our turn starts after our own message's
//! event and, when `chat_send` said `queued`, after the end of the turn that was running then.
//! These are pure state machines fed with events in stream order, so they are tested without
//! a daemon.

use std::collections::{BTreeSet, HashMap, HashSet};

use mentor_shared::chat::{ChatSent, MessageState, NoticeKind, Role, TurnOutcome};
use mentor_shared::ids::{JobId, MessageId};
use mentor_shared::jobs::EventBody;

/// Follows the turn that answers one message.
#[derive(Debug, Clone)]
pub struct TurnWatch {
    message: MessageId,
    queued: bool,
    phase: Phase,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Our message's event has not come yet. `end_unfollowed`: a turn ended since the cursor
    /// and no reply has started after it (so if our message was queued, the turn it waited for
    /// has already ended).
    BeforeMessage { end_unfollowed: bool },
    /// Waiting for this many turn ends (2: the running turn's, then ours).
    Waiting { ends: u8 },
    /// Our turn ended.
    Ended(TurnOutcome),
}

impl TurnWatch {
    /// Watches for the answer to a message just sent.
    pub fn new(sent: &ChatSent) -> TurnWatch {
        TurnWatch {
            message: sent.message.id,
            queued: sent.queued,
            phase: Phase::BeforeMessage {
                end_unfollowed: false,
            },
        }
    }

    /// The message this watch answers.
    pub fn message(&self) -> MessageId {
        self.message
    }

    /// Takes the next event of the notebook's stream; true when it ended our turn.
    pub fn observe(&mut self, body: &EventBody) -> bool {
        match (&mut self.phase, body) {
            (Phase::BeforeMessage { end_unfollowed }, EventBody::TurnEnded { .. }) => {
                *end_unfollowed = true;
                false
            }
            (Phase::BeforeMessage { end_unfollowed }, EventBody::Message { message }) => {
                if message.id == self.message {
                    let ends = if self.queued && !*end_unfollowed {
                        2
                    } else {
                        1
                    };
                    self.phase = Phase::Waiting { ends };
                } else if message.role == Role::Assistant {
                    // A reply started: whatever ended before, a turn runs now.
                    *end_unfollowed = false;
                }
                false
            }
            (Phase::Waiting { ends }, EventBody::TurnEnded { outcome, .. }) => {
                if *ends > 1 {
                    *ends -= 1;
                    false
                } else {
                    self.phase = Phase::Ended(outcome.clone());
                    true
                }
            }
            _ => false,
        }
    }

    /// True once what streams answers our message: from our message on, after the turn that
    /// was running when it was sent (and still true after our turn ended).
    pub fn answering(&self) -> bool {
        matches!(self.phase, Phase::Waiting { ends: 1 } | Phase::Ended(_))
    }

    /// True once our message's own event has come.
    pub fn message_seen(&self) -> bool {
        !matches!(self.phase, Phase::BeforeMessage { .. })
    }

    /// How our turn ended, once it has.
    pub fn outcome(&self) -> Option<&TurnOutcome> {
        match &self.phase {
            Phase::Ended(o) => Some(o),
            _ => None,
        }
    }

    /// Ends the watch without its event (events were missed; the stored conversation says the
    /// teacher is idle). The outcome is that of the last reply after our message.
    pub fn settle(&mut self, after_ours: &[mentor_shared::chat::ChatMessage]) {
        if self.outcome().is_some() {
            return;
        }
        let last = after_ours.iter().rev().find(|m| m.role == Role::Assistant);
        let outcome = match last.map(|m| (m.state, m.error.clone())) {
            Some((MessageState::Stopped, _)) => TurnOutcome::Stopped,
            Some((MessageState::Failed, Some(error))) => TurnOutcome::Failed { error },
            _ => TurnOutcome::Completed,
        };
        self.phase = Phase::Ended(outcome);
    }
}

/// The jobs a turn started, until each has ended and the teacher has said so (and, for a
/// failure, walked the learner through the topic: the turn that follows its notice).
#[derive(Debug, Clone, Default)]
pub struct JobWaits {
    submitted: BTreeSet<JobId>,
    ended: HashMap<JobId, NoticeKind>,
    walkthrough: bool,
    /// Jobs whose final record came (on the jobs' own stream, which may lag the notice by
    /// its linger): the command ends once their last status line is out too.
    records_ended: HashSet<JobId>,
    /// Events were missed: final records may never come, so they are not waited for.
    records_missed: bool,
}

impl JobWaits {
    /// Takes the next event; `answering` is [`TurnWatch::answering`] after it.
    pub fn observe(&mut self, body: &EventBody, answering: bool) {
        match body {
            EventBody::Message { message } => {
                let Some(notice) = &message.notice else {
                    return;
                };
                match notice.kind {
                    NoticeKind::Submitted => {
                        if answering {
                            self.submitted.insert(notice.job_id);
                        }
                    }
                    kind => {
                        if self.submitted.contains(&notice.job_id) {
                            self.ended.insert(notice.job_id, kind);
                            if kind == NoticeKind::Failed {
                                self.walkthrough = true;
                            }
                        }
                    }
                }
            }
            EventBody::TurnEnded { .. } => self.walkthrough = false,
            EventBody::Job { job } if job.status.is_terminal() => {
                self.records_ended.insert(job.id);
            }
            _ => {}
        }
    }

    /// Events were missed (a reload): stop waiting for the jobs' final records.
    pub fn missed_events(&mut self) {
        self.records_missed = true;
    }

    /// True when every job started has ended and been announced (its final record shown),
    /// and no walkthrough is due.
    pub fn done(&self) -> bool {
        !self.walkthrough
            && self.submitted.iter().all(|j| {
                self.ended.contains_key(j)
                    && (self.records_missed || self.records_ended.contains(j))
            })
    }

    /// True when a job failed or was cancelled.
    pub fn any_unsuccessful(&self) -> bool {
        self.ended.values().any(|k| *k != NoticeKind::Ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::chat::{ChatMessage, Notice};
    use mentor_shared::ids::NotebookId;
    use mentor_shared::jobs::{JobKind, JobStatus};
    use mentor_shared::time::Timestamp;
    use mentor_shared::ApiError;

    fn msg(nb: NotebookId, role: Role, state: MessageState) -> ChatMessage {
        ChatMessage {
            id: MessageId::new(),
            notebook_id: nb,
            role,
            text: String::new(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
            tool_error: false,
            notice: None,
            state,
            error: None,
            created: Timestamp(0),
        }
    }

    fn message(m: &ChatMessage) -> EventBody {
        EventBody::Message { message: m.clone() }
    }

    fn ended(nb: NotebookId, outcome: TurnOutcome) -> EventBody {
        EventBody::TurnEnded {
            notebook_id: nb,
            outcome,
        }
    }

    fn reply_start(nb: NotebookId) -> EventBody {
        message(&msg(nb, Role::Assistant, MessageState::Streaming))
    }

    fn notice(nb: NotebookId, kind: NoticeKind, job: JobId) -> EventBody {
        let mut m = msg(nb, Role::Notice, MessageState::Complete);
        m.notice = Some(Notice {
            kind,
            job_id: job,
            job_kind: JobKind::Quiz,
            artifact_id: None,
            reason: None,
        });
        message(&m)
    }

    fn watch(nb: NotebookId, queued: bool) -> (TurnWatch, ChatMessage) {
        let mine = msg(nb, Role::User, MessageState::Complete);
        let sent = ChatSent {
            message: mine.clone(),
            queued,
        };
        (TurnWatch::new(&sent), mine)
    }

    #[test]
    fn an_idle_teacher_answers_with_the_next_turn() {
        let nb = NotebookId::new();
        let (mut w, mine) = watch(nb, false);
        // The end of an earlier turn, between the cursor and our message, is not ours.
        assert!(!w.observe(&ended(nb, TurnOutcome::Stopped)));
        assert!(!w.answering());
        assert!(!w.observe(&message(&mine)));
        assert!(w.answering() && w.message_seen());
        assert!(!w.observe(&reply_start(nb)));
        assert!(w.observe(&ended(nb, TurnOutcome::Completed)));
        assert_eq!(w.outcome(), Some(&TurnOutcome::Completed));
        // Later turns (a walkthrough) change nothing.
        assert!(!w.observe(&ended(nb, TurnOutcome::Stopped)));
        assert_eq!(w.outcome(), Some(&TurnOutcome::Completed));
    }

    #[test]
    fn a_queued_message_is_answered_after_the_running_turn() {
        let nb = NotebookId::new();
        let (mut w, mine) = watch(nb, true);
        w.observe(&message(&mine));
        assert!(!w.answering(), "the running turn is not ours");
        assert!(!w.observe(&ended(nb, TurnOutcome::Completed)));
        assert!(w.answering());
        w.observe(&reply_start(nb));
        let failed = TurnOutcome::Failed {
            error: ApiError::ShuttingDown,
        };
        assert!(w.observe(&ended(nb, failed.clone())));
        assert_eq!(w.outcome(), Some(&failed));
    }

    #[test]
    fn a_queued_message_whose_running_turn_ended_just_before_it() {
        let nb = NotebookId::new();
        let (mut w, mine) = watch(nb, true);
        // The running turn ended before our message was stored, but after the daemon had
        // decided to queue it: the next end is ours.
        w.observe(&ended(nb, TurnOutcome::Completed));
        w.observe(&message(&mine));
        assert!(w.answering());
        assert!(w.observe(&ended(nb, TurnOutcome::Completed)));
    }

    #[test]
    fn a_turn_that_started_after_an_end_is_the_one_we_wait_for() {
        let nb = NotebookId::new();
        let (mut w, mine) = watch(nb, true);
        w.observe(&ended(nb, TurnOutcome::Completed));
        w.observe(&reply_start(nb));
        w.observe(&message(&mine));
        assert!(!w.observe(&ended(nb, TurnOutcome::Completed)));
        assert!(w.observe(&ended(nb, TurnOutcome::Completed)));
    }

    #[test]
    fn settling_from_history_takes_the_last_reply() {
        let nb = NotebookId::new();
        let (mut w, mine) = watch(nb, false);
        w.observe(&message(&mine));
        let mut stopped = msg(nb, Role::Assistant, MessageState::Stopped);
        stopped.text = "Half".into();
        w.settle(&[msg(nb, Role::Notice, MessageState::Complete), stopped]);
        assert_eq!(w.outcome(), Some(&TurnOutcome::Stopped));
    }

    #[test]
    fn job_waits_last_until_every_notice_and_the_walkthrough() {
        let nb = NotebookId::new();
        let (quiz, podcast) = (JobId::new(), JobId::new());
        let mut waits = JobWaits::default();
        assert!(waits.done());
        // A job announced before our turn is not ours.
        waits.observe(&notice(nb, NoticeKind::Submitted, JobId::new()), false);
        assert!(waits.done());
        waits.observe(&notice(nb, NoticeKind::Submitted, quiz), true);
        waits.observe(&notice(nb, NoticeKind::Submitted, podcast), true);
        waits.observe(&ended(nb, TurnOutcome::Completed), true);
        assert!(!waits.done());
        waits.observe(&notice(nb, NoticeKind::Ready, quiz), true);
        assert!(!waits.done());
        // The final records come on the jobs' stream, before or after the notices.
        waits.observe(&record(quiz, JobStatus::Completed), true);
        waits.observe(&record(podcast, JobStatus::Processing), true);
        waits.observe(&notice(nb, NoticeKind::Failed, podcast), true);
        assert!(!waits.done(), "the walkthrough turn is still due");
        assert!(waits.any_unsuccessful());
        waits.observe(&reply_start(nb), true);
        waits.observe(&ended(nb, TurnOutcome::Completed), true);
        assert!(!waits.done(), "the podcast's final record has not come");
        let mut missed = waits.clone();
        waits.observe(&record(podcast, JobStatus::Error), true);
        assert!(waits.done());
        missed.missed_events();
        assert!(missed.done());
    }

    fn record(id: JobId, status: JobStatus) -> EventBody {
        EventBody::Job {
            job: mentor_shared::jobs::Job {
                id,
                kind: JobKind::Quiz,
                status,
                notebook_id: None,
                artifact_id: None,
                topic: String::new(),
                params: serde_json::Value::Null,
                progress: None,
                result: None,
                error_message: None,
                failure: None,
                attempts: 1,
                max_attempts: 1,
                run_at: Timestamp(0),
                cancel_requested: false,
                created: Timestamp(0),
                updated: Timestamp(0),
                finished: None,
            },
        }
    }
}
