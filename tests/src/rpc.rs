//! A protocol client for tests and benchmarks: speaks to a running daemon over its socket the
//! way `mentor` does (handshake first), to drive many subscribers at once or to resume an
//! event cursor across a daemon restart.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mentor_shared::jobs::{Cursor, Event, EventFilter, EventsRequest};
use mentor_shared::paths::Dirs;
use mentor_shared::protocol::ClientHello;
use mentor_shared::service::MentorClient;
use mentor_shared::{wire, PROTOCOL_VERSION};
use tarpc::context;

/// A context whose deadline is `d` from now.
pub fn ctx(d: Duration) -> context::Context {
    let mut c = context::current();
    c.deadline = Instant::now() + d;
    c
}

/// Connects to the daemon of `dirs` and shakes hands.
pub async fn connect(dirs: &Dirs) -> Result<MentorClient> {
    let socket = dirs.socket();
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .with_context(|| format!("connect to {}", socket.display()))?;
    let transport = wire::transport(stream, wire::DEFAULT_MAX_FRAME);
    let client = MentorClient::new(tarpc::client::Config::default(), transport).spawn();
    let hello = ClientHello {
        protocol: PROTOCOL_VERSION,
        client_version: "mentor-tests".into(),
    };
    match client.hello(ctx(Duration::from_secs(10)), hello).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => bail!("handshake refused: {e}"),
        Err(e) => bail!("handshake failed: {e}"),
    }
}

/// Flattens a call's two layers of errors.
pub fn answer<T>(
    r: Result<Result<T, mentor_shared::ApiError>, tarpc::client::RpcError>,
) -> Result<T> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => bail!("daemon refused: {e}"),
        Err(e) => bail!("call failed: {e}"),
    }
}

/// The events from `cursor` on, up to and including the first one `stop` accepts (waiting
/// for more as they come), on the current-thread runtime `rt`. The cursor is left just after
/// that event: whatever followed it in the same batch comes with the next call. Panics when
/// `within` passes first, or when the daemon says events were missed.
#[track_caller]
pub fn events_until(
    rt: &tokio::runtime::Runtime,
    client: &MentorClient,
    cursor: &mut Cursor,
    within: Duration,
    mut stop: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "timed out; events so far: {out:#?}"
        );
        let request = EventsRequest {
            after: Some(*cursor),
            max_wait_ms: 2000,
            max_events: 1000,
            filter: EventFilter::default(),
            linger_ms: 0,
            coalesce_progress: false,
        };
        let batch = rt
            .block_on(async { answer(client.events_next(ctx(within), request).await) })
            .expect("events");
        assert!(!batch.reload, "events were missed");
        *cursor = batch.cursor;
        for event in batch.events {
            let done = stop(&event);
            let seq = event.seq;
            out.push(event);
            if done {
                cursor.seq = seq;
                return out;
            }
        }
    }
}

/// Where the event log ends now: a cursor to follow from.
pub async fn cursor_now(client: &MentorClient) -> Result<Cursor> {
    let now = EventsRequest {
        after: None,
        max_wait_ms: 0,
        max_events: 1,
        filter: EventFilter::default(),
        linger_ms: 0,
        coalesce_progress: false,
    };
    Ok(answer(client.events_next(ctx(Duration::from_secs(30)), now).await)?.cursor)
}

/// [`cursor_now`] on the runtime `rt`.
pub fn head(rt: &tokio::runtime::Runtime, client: &MentorClient) -> Cursor {
    rt.block_on(cursor_now(client)).expect("a cursor")
}
