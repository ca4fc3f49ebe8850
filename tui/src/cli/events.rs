//! Following the daemon's event stream: where a subscription starts, the long-poll, and
//! reconnecting when the daemon goes away. `mentor jobs watch`, `mentor generate --wait` and
//! `mentor chat` all listen through here, so they lose no event and recover alike.
//!
//! A subscriber takes the current cursor *before* it looks at the state (a job snapshot) or
//! acts (sends a chat message); everything that happens after is then an event after it.

use std::time::Duration;

use mentor_shared::i18n;
use mentor_shared::ids::NotebookId;
use mentor_shared::jobs::{
    Cursor, EventBatch, EventFilter, EventKinds, EventsRequest, JOBS_LINGER_MS,
};
use mentor_shared::t;
use mentor_shared::ApiError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Env;
use crate::client::{self, ctx, Client};
use crate::error::CliError;

/// How long one long-poll may wait for an event, in milliseconds.
const POLL_WAIT_MS: u64 = 30_000;
/// The request deadline of a long-poll: its wait plus room for the answer.
const POLL_DEADLINE_SECS: u64 = POLL_WAIT_MS / 1000 + 10;
/// Most events taken per poll.
const POLL_MAX_EVENTS: u32 = 1000;
/// Connections lost in a row (without one successful poll between them) before giving up.
const MAX_LOSSES: u32 = 5;
/// Connection attempts after a loss before giving up.
const RECONNECT_ATTEMPTS: u32 = 8;

/// Why a listening session ended early.
pub enum Trouble {
    /// The connection broke (the daemon stopped or restarted): reconnect and go on.
    Lost(String),
    /// The daemon refused, or the output failed: stop with this error.
    Failed(CliError),
}

impl From<CliError> for Trouble {
    fn from(e: CliError) -> Self {
        Trouble::Failed(e)
    }
}

/// Tells a broken connection from the daemon's own refusal.
pub fn call<T>(r: Result<Result<T, ApiError>, tarpc::client::RpcError>) -> Result<T, Trouble> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Trouble::Failed(CliError::Api(e))),
        Err(e) => Err(Trouble::Lost(e.to_string())),
    }
}

/// The current end of the event stream: where a new subscription starts.
pub async fn current_cursor(c: &Client) -> Result<Cursor, Trouble> {
    let request = EventsRequest {
        after: None,
        max_wait_ms: 0,
        max_events: 1,
        filter: EventFilter::default(),
        linger_ms: 0,
        coalesce_progress: false,
    };
    Ok(call(c.rpc.events_next(ctx(10), request).await)?.cursor)
}

/// Waits for the next events after `cursor` (returns early the moment one is published).
pub async fn poll(c: &Client, cursor: Cursor, filter: &EventFilter) -> Result<EventBatch, Trouble> {
    poll_lingering(c, cursor, filter, 0).await
}

/// [`poll`], the answer lingering `linger_ms` after the first event for more.
async fn poll_lingering(
    c: &Client,
    cursor: Cursor,
    filter: &EventFilter,
    linger_ms: u64,
) -> Result<EventBatch, Trouble> {
    let request = EventsRequest {
        after: Some(cursor),
        max_wait_ms: POLL_WAIT_MS,
        max_events: POLL_MAX_EVENTS,
        filter: filter.clone(),
        linger_ms,
        // A status line needs the last record of each job, not every step.
        coalesce_progress: linger_ms > 0,
    };
    call(c.rpc.events_next(ctx(POLL_DEADLINE_SECS), request).await)
}

/// A notebook's events as a conversation follows them: two long-polls from the same cursor,
/// the conversation's on the caller's connection, answered the moment an event comes, and the
/// jobs' on a connection of its own, lingering [`JOBS_LINGER_MS`]. A job reporting progress
/// every few milliseconds then costs a few round trips a second, and never puts the teacher's
/// next token behind the encoding of its events. Batches come as each poll answers; sequence
/// numbers order the two streams if a caller needs it.
pub struct NotebookEvents {
    rx: mpsc::UnboundedReceiver<Result<EventBatch, Trouble>>,
    tasks: [JoinHandle<()>; 2],
}

impl NotebookEvents {
    /// Starts following `notebook`'s events after `cursor`; `env` opens the jobs' connection.
    pub async fn start(
        env: &Env,
        c: &Client,
        cursor: Cursor,
        notebook: NotebookId,
    ) -> Result<NotebookEvents, Trouble> {
        let jobs = match client::connect_existing(&env.dirs).await {
            Ok(Some(jobs)) => jobs,
            Ok(None) => return Err(Trouble::Lost(t!(i18n::ui(), "err-connection-closed"))),
            Err(CliError::Connection(reason)) => return Err(Trouble::Lost(reason)),
            Err(e) => return Err(Trouble::Failed(e)),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let follow = |c: Client, kinds: EventKinds, linger_ms: u64| {
            let tx = tx.clone();
            let filter = EventFilter {
                job: None,
                notebook: Some(notebook),
                kinds,
            };
            tokio::spawn(async move {
                let mut cursor = cursor;
                loop {
                    let batch = poll_lingering(&c, cursor, &filter, linger_ms).await;
                    let lost = batch.is_err();
                    if let Ok(b) = &batch {
                        cursor = b.cursor;
                    }
                    if tx.send(batch).is_err() || lost {
                        return;
                    }
                }
            })
        };
        let tasks = [
            follow(c.clone(), EventKinds::Conversation, 0),
            follow(jobs, EventKinds::Jobs, JOBS_LINGER_MS),
        ];
        Ok(NotebookEvents { rx, tasks })
    }

    /// The next batch from either stream.
    pub async fn next(&mut self) -> Result<EventBatch, Trouble> {
        match self.rx.recv().await {
            Some(batch) => batch,
            None => Err(Trouble::Lost(t!(i18n::ui(), "err-connection-closed"))),
        }
    }
}

impl Drop for NotebookEvents {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Reconnects after a lost connection, starting the daemon when it is gone. `note` says
/// what happens (on stderr, or wherever the caller keeps its notes).
pub async fn recover(
    env: &Env,
    note: &mut dyn FnMut(&str),
    losses: &mut u32,
    reason: String,
) -> Result<Client, CliError> {
    let l = i18n::ui();
    *losses += 1;
    if *losses > MAX_LOSSES {
        return Err(CliError::Connection(reason));
    }
    note(&t!(l, "jobs-watch-connection-lost"));
    let mut delay = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client::connect(&env.dirs).await {
            Ok(c) => {
                note(&t!(l, "jobs-watch-reconnected", pid = c.server.pid));
                return Ok(c);
            }
            // The old daemon may still be closing, or a new one still starting.
            Err(CliError::Connection(_) | CliError::Io { .. }) if attempt < RECONNECT_ATTEMPTS => {}
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
