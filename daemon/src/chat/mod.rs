//! The conversation with the teacher.
//!
//! One session per (user, notebook), created on demand: a small actor task that owns the
//! order of its conversation. A learner's message is stored and acknowledged at once; the
//! reply runs as a turn on its own task (stream, tool calls, more rounds), pushing every
//! token and tool result to the event bus. Messages that arrive while a reply streams wait
//! for the next turn. When a job the conversation asked for ends, the daemon's own notice
//! ("Your podcast is ready…") is stored and pushed — right after the reply that is streaming,
//! if any — and a failure starts a walkthrough turn.

pub mod history;
pub mod prompt;
mod session;
mod shortcut;
pub mod tools;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mentor_shared::chat::{ChatHistory, ChatSent};
use mentor_shared::ids::{NotebookId, UserId};
use mentor_shared::jobs::{EventBody, JobStatus};
use mentor_shared::ApiError;

use crate::queue::bus::Internal;
use crate::state::Daemon;
use crate::store::conversations;
use session::{Command, Session};

/// Every session of the daemon.
#[derive(Default)]
pub struct Chat {
    sessions: Mutex<HashMap<(UserId, NotebookId), Session>>,
}

impl Chat {
    /// No session yet.
    pub fn new() -> Chat {
        Chat::default()
    }

    fn session(&self, daemon: &Arc<Daemon>, user: UserId, notebook: NotebookId) -> Session {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .entry((user, notebook))
            .or_insert_with(|| Session::spawn(daemon.clone(), user, notebook))
            .clone()
    }

    /// Stores the learner's message and starts (or queues) the reply.
    pub async fn send(
        &self,
        daemon: &Arc<Daemon>,
        user: UserId,
        notebook: NotebookId,
        text: String,
    ) -> Result<ChatSent, ApiError> {
        let text = conversations::clean_message(&text)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.session(daemon, user, notebook)
            .command(Command::Send { text, reply })?;
        answer.await.map_err(|_| ApiError::ShuttingDown)?
    }

    /// Stops the streaming reply; true if there was one.
    pub async fn cancel(
        &self,
        daemon: &Arc<Daemon>,
        user: UserId,
        notebook: NotebookId,
    ) -> Result<bool, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.session(daemon, user, notebook)
            .command(Command::Cancel { reply })?;
        answer.await.map_err(|_| ApiError::ShuttingDown)
    }

    /// The conversation as the learner sees it.
    pub async fn history(
        &self,
        daemon: &Arc<Daemon>,
        user: UserId,
        notebook: NotebookId,
        limit: u32,
    ) -> Result<ChatHistory, ApiError> {
        let busy = {
            let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            sessions.get(&(user, notebook)).is_some_and(|s| s.is_busy())
        };
        let (messages, earlier) = daemon
            .store
            .read(move |c| conversations::history(c, notebook, limit))
            .await?;
        Ok(ChatHistory {
            notebook_id: notebook,
            messages,
            busy,
            earlier,
        })
    }

    fn job_ended(&self, daemon: &Arc<Daemon>, user: UserId, notebook: NotebookId) {
        // A session that is gone (shutdown) is told at the next start instead.
        let _ = self
            .session(daemon, user, notebook)
            .command(Command::JobsEnded);
    }

    /// Forgets a notebook's session (after the notebook was deleted).
    pub fn forget(&self, user: UserId, notebook: NotebookId) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(session) = sessions.remove(&(user, notebook)) {
            let _ = session.command(Command::Close);
        }
    }
}

/// Starts the daemon's announcer: it watches the event bus for jobs that end and tells the
/// conversation that asked for them. Jobs that ended while the daemon was down (or while the
/// announcer fell behind the bus) are found in the database.
pub async fn start(daemon: &Arc<Daemon>) -> Result<(), ApiError> {
    daemon.store.write(conversations::stop_interrupted).await?;
    let daemon = daemon.clone();
    let tasks = daemon.tasks.clone();
    tasks.spawn(async move {
        // The cursor is taken before the first rescan, so nothing falls between the two.
        let bus = daemon.queue.bus().clone();
        let mut after = Some(bus.last_seq());
        rescan(&daemon).await;
        while let Some(news) = bus.next_job_ends(&mut after, &daemon.shutdown).await {
            match news {
                Internal::Missed => rescan(&daemon).await,
                Internal::Events(events) => {
                    for (user, event) in events {
                        if let EventBody::Job { job } = &event.body {
                            let ended = matches!(
                                job.status,
                                JobStatus::Completed | JobStatus::Error | JobStatus::Cancelled
                            );
                            if let (true, Some(notebook)) = (ended, job.notebook_id) {
                                daemon.chat.job_ended(&daemon, user, notebook);
                            }
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

async fn rescan(daemon: &Arc<Daemon>) {
    match daemon
        .store
        .read(|c| conversations::ended_unannounced(c, None))
        .await
    {
        Ok(rows) => {
            for row in rows {
                if let Some(notebook) = row.job.notebook_id {
                    daemon.chat.job_ended(daemon, row.user, notebook);
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot look for jobs to announce"),
    }
}
