//! A connection that stops in the middle of a frame is closed. [`FrameClock`] sits between the
//! socket and the length-delimited codec, follows the frames' length prefixes as the bytes go
//! by, and fails the read once a frame has been arriving for longer than its time limit
//! (`daemon.frame_timeout_ms`). A client writes each frame at once, so an honest frame arrives
//! in milliseconds; without the clock, a client sending half a frame and then nothing would
//! hold its connection, and up to a frame's worth of buffer, forever.
//!
//! The limit runs from a frame's first byte, not from the last byte received, so sending a
//! byte now and then does not keep a frame open either. A connection that sends nothing at
//! all between frames is not timed: it holds no buffer, and `mentor` keeps its connection idle
//! between requests.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A socket whose frames must each arrive within a time limit.
pub struct FrameClock<S> {
    inner: S,
    limit: Duration,
    /// The length prefix read so far of the frame in progress.
    header: [u8; 4],
    header_len: usize,
    /// Payload bytes still to come for the frame in progress.
    body_left: u64,
    /// When the frame in progress began, and the timer for its limit once one was needed.
    started: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<S> FrameClock<S> {
    /// Wraps `inner`; each frame must be complete within `limit` of its first byte.
    pub fn new(inner: S, limit: Duration) -> FrameClock<S> {
        FrameClock {
            inner,
            limit,
            header: [0; 4],
            header_len: 0,
            body_left: 0,
            started: None,
            timer: None,
        }
    }

    /// Whether a frame has begun and not yet ended.
    fn mid_frame(&self) -> bool {
        self.started.is_some()
    }

    /// Follows the frames through bytes just read.
    fn track(&mut self, mut bytes: &[u8]) {
        while let Some((&first, rest)) = bytes.split_first() {
            if self.body_left > 0 {
                let n = bytes
                    .len()
                    .min(usize::try_from(self.body_left).unwrap_or(usize::MAX));
                self.body_left -= n as u64;
                bytes = &bytes[n..];
                if self.body_left == 0 {
                    self.frame_ended();
                }
                continue;
            }
            if self.header_len == 0 {
                self.started = Some(Instant::now());
                self.timer = None;
            }
            self.header[self.header_len] = first;
            self.header_len += 1;
            bytes = rest;
            if self.header_len == self.header.len() {
                self.header_len = 0;
                self.body_left = u32::from_be_bytes(self.header).into();
                if self.body_left == 0 {
                    self.frame_ended();
                }
            }
        }
    }

    fn frame_ended(&mut self) {
        self.started = None;
        self.timer = None;
    }

    /// Ready with an error once the frame in progress has outlived its limit.
    fn poll_limit(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(started) = self.started else {
            return Poll::Pending;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(started + self.limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client stopped in the middle of a frame ({} ms without the rest; \
                     see daemon.frame_timeout_ms)",
                    self.limit.as_millis()
                ),
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameClock<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.track(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.mid_frame() => match this.poll_limit(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameClock<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMIT: Duration = Duration::from_millis(200);

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut bytes = u32::try_from(payload.len())
            .expect("small payload")
            .to_be_bytes()
            .to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn frames_are_followed_however_the_bytes_are_cut() {
        let mut stream = frame(b"hello");
        stream.extend(frame(b""));
        stream.extend(frame(&[7; 300]));
        for cut in 1..stream.len() {
            let mut clock = FrameClock::new((), LIMIT);
            clock.track(&stream[..cut]);
            let boundary = [0, 9, 13].contains(&cut) || cut == stream.len();
            assert_eq!(clock.mid_frame(), !boundary, "cut at {cut}");
            clock.track(&stream[cut..]);
            assert!(!clock.mid_frame(), "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn a_half_frame_times_out_and_whole_frames_do_not() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let mut server = FrameClock::new(server, LIMIT);
        let mut client = client;
        let mut buf = vec![0; 1024];

        // Whole frames, then silence between them: never timed out.
        client.write_all(&frame(b"one")).await.expect("write");
        let n = server.read(&mut buf).await.expect("read");
        assert_eq!(n, 7);
        let idle = tokio::time::timeout(LIMIT * 3, server.read(&mut buf)).await;
        assert!(
            idle.is_err(),
            "an idle connection between frames stays open"
        );

        // Half a frame, then a byte now and then: the limit runs from the frame's first byte.
        let half = frame(b"a longer payload");
        client.write_all(&half[..6]).await.expect("write");
        assert_eq!(server.read(&mut buf).await.expect("read"), 6);
        tokio::time::sleep(LIMIT / 2).await;
        client.write_all(&half[6..7]).await.expect("write");
        assert_eq!(server.read(&mut buf).await.expect("read"), 1);
        let err = tokio::time::timeout(LIMIT * 20, server.read(&mut buf))
            .await
            .expect("the half frame is timed out")
            .expect_err("a read error");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("daemon.frame_timeout_ms"), "{err}");
    }
}
