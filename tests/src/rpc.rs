//! A protocol client for tests and benchmarks: speaks to a running daemon over its socket the
//! way `mentor` does (handshake first), to drive many subscribers at once or to resume an
//! event cursor across a daemon restart.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
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
