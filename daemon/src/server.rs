//! The accept loop. Each connection is checked (same uid, via SO_PEERCRED), wrapped so that a
//! malformed or oversize frame, or one left half sent (see [`FrameClock`]), closes that
//! connection alone, and served by tarpc; every task is tracked so shutdown can let in-flight
//! requests finish. A connection has at most [`MAX_IN_FLIGHT`] requests in flight, so a client
//! that sends requests and never reads the answers costs a bounded amount of memory. Once a
//! connection's read side ends (the client left, or sent a bad frame), its waiting long-polls
//! return at once, so the connection closes without waiting for them.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Sink, Stream, StreamExt};
use mentor_shared::ids::UserId;
use mentor_shared::service::Mentor;
use mentor_shared::wire;
use tarpc::server::{BaseChannel, Channel};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::frame_clock::FrameClock;

use crate::rpc::Peer;
use crate::socket::my_uid;
use crate::state::Daemon;

/// Accepts connections until shutdown.
pub async fn accept_loop(daemon: Arc<Daemon>, listener: UnixListener) {
    let me = my_uid();
    loop {
        let accepted = tokio::select! {
            _ = daemon.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let uid = match stream.peer_cred() {
            Ok(cred) => cred.uid(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read peer credentials; connection refused");
                continue;
            }
        };
        if uid != me {
            tracing::warn!(peer_uid = uid, "connection from another user refused");
            drop(stream);
            continue;
        }
        let pid = stream.peer_cred().ok().and_then(|c| c.pid());
        serve_connection(daemon.clone(), stream, UserId(uid), pid);
    }
}

/// Requests one connection may have in flight (answered or not, until the answer is handed to
/// the socket). Beyond it, a request is answered at once with tarpc's "server throttled the
/// request" error while the connection can be written to; once it cannot (a client that does
/// not read its answers), the daemon reads nothing more from it. So such a client costs at
/// most this many answers' worth of memory, not one per request it sends. `mentor` has a few
/// requests in flight at most.
pub const MAX_IN_FLIGHT: usize = 16;

fn serve_connection(daemon: Arc<Daemon>, stream: UnixStream, user: UserId, pid: Option<i32>) {
    let max_frame = daemon.config.daemon.max_frame_bytes as usize;
    let frame_limit = std::time::Duration::from_millis(daemon.config.daemon.frame_timeout_ms);
    let label = format!("pid {}", pid.map_or_else(|| "?".into(), |p| p.to_string()));
    // Cancelled when the daemon shuts down or this connection's read side ends.
    let gone = daemon.shutdown.child_token();
    let transport = Guarded {
        // A request whose deadline is more than `wire::MAX_DEADLINE` away is a bad frame.
        inner: wire::transport(FrameClock::new(stream, frame_limit), max_frame),
        shutdown: Box::pin(daemon.shutdown.clone().cancelled_owned()),
        gone: gone.clone(),
        closed: false,
        peer: label.clone(),
    };
    let peer = Peer::new(daemon.clone(), user, gone);
    let tasks = daemon.tasks.clone();
    daemon.connections.fetch_add(1, Ordering::Relaxed);
    // Counted down however the connection's task ends.
    let counted = Counted(daemon.clone());
    tracing::debug!(peer = %label, "client connected");
    let tracker = daemon.tasks.clone();
    tracker.spawn(async move {
        let _counted = counted;
        BaseChannel::with_defaults(transport)
            .max_concurrent_requests(MAX_IN_FLIGHT)
            .execute(peer.serve())
            .for_each(|request| {
                tasks.spawn(request);
                async {}
            })
            .await;
        tracing::debug!(peer = %label, "client disconnected");
    });
}

/// One open connection in [`Daemon::connections`], until dropped.
struct Counted(Arc<Daemon>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A transport that ends its request stream (after in-flight responses are written) on the
/// first bad frame or when the daemon shuts down, and logs why. When its read side ends, for
/// whatever reason, it cancels `gone`, which ends the connection's long-polls.
struct Guarded<T> {
    inner: T,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    gone: CancellationToken,
    closed: bool,
    peer: String,
}

impl<T, I, E> Stream for Guarded<T>
where
    T: Stream<Item = Result<I, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = Result<I, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.closed {
            return Poll::Ready(None);
        }
        if self.shutdown.as_mut().poll(cx).is_ready() {
            return self.close();
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(peer = %self.peer, error = %e, "bad frame; closing this connection");
                self.close()
            }
            Poll::Ready(None) => self.close(),
            other => other,
        }
    }
}

impl<T> Guarded<T> {
    /// Ends the request stream and the connection's long-polls.
    fn close<I>(&mut self) -> Poll<Option<I>> {
        self.closed = true;
        self.gone.cancel();
        Poll::Ready(None)
    }
}

impl<T, S> Sink<S> for Guarded<T>
where
    T: Sink<S> + Unpin,
{
    type Error = T::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: S) -> Result<(), Self::Error> {
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
