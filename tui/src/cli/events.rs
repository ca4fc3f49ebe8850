//! Following the daemon's event stream: where a subscription starts, the long-poll, and
//! reconnecting when the daemon goes away. `mentor jobs watch`, `mentor generate --wait` and
//! `mentor chat` all listen through here, so they lose no event and recover alike.
//!
//! A subscriber takes the current cursor *before* it looks at the state (a job snapshot) or
//! acts (sends a chat message); everything that happens after is then an event after it.

use std::time::Duration;

use mentor_shared::i18n;
use mentor_shared::jobs::{Cursor, EventBatch, EventFilter, EventsRequest};
use mentor_shared::t;
use mentor_shared::ApiError;

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
    };
    Ok(call(c.rpc.events_next(ctx(10), request).await)?.cursor)
}

/// Waits for the next events after `cursor` (returns early the moment one is published).
pub async fn poll(c: &Client, cursor: Cursor, filter: &EventFilter) -> Result<EventBatch, Trouble> {
    let request = EventsRequest {
        after: Some(cursor),
        max_wait_ms: POLL_WAIT_MS,
        max_events: POLL_MAX_EVENTS,
        filter: filter.clone(),
    };
    call(c.rpc.events_next(ctx(POLL_DEADLINE_SECS), request).await)
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
