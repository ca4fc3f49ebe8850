//! The wire format: a Unix stream socket carrying frames of a 4-byte big-endian length
//! followed by that many bytes of JSON (tarpc's request/response envelopes). Both sides frame
//! with [`codec`], so the frame limit and codec cannot drift apart: clients through
//! [`transport`], the daemon with the same JSON plus a check of each request's deadline (in its
//! `server.rs`).

use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tarpc::serde_transport::Transport;
use tarpc::tokio_serde::{Deserializer, Serializer};
use tarpc::tokio_util::codec::length_delimited::LengthDelimitedCodec;
use tarpc::tokio_util::codec::Framed;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::bytes::{Bytes, BytesMut};

/// Default largest frame (8 MiB): far above any legitimate request, small enough that a
/// hostile length prefix cannot make the daemon allocate much.
pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

/// The longest deadline a request may carry (a year; clients ask for seconds or minutes).
pub const MAX_DEADLINE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The length-delimited codec with the given frame limit.
pub fn codec(max_frame: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .big_endian()
        .max_frame_length(max_frame)
        .new_codec()
}

/// tarpc's JSON format (as `tokio_serde`'s `Json`), with one check before decoding: a request
/// whose deadline is more than [`MAX_DEADLINE`] away is refused. tarpc adds the deadline to the
/// clock while decoding, which panics when the sum overflows (`"secs": 18446744073709551615`).
pub struct Format<Item, SinkItem> {
    ghost: PhantomData<(Item, SinkItem)>,
}

impl<Item, SinkItem> Default for Format<Item, SinkItem> {
    fn default() -> Self {
        Format { ghost: PhantomData }
    }
}

impl<Item, SinkItem> Deserializer<Item> for Format<Item, SinkItem>
where
    Item: for<'de> Deserialize<'de>,
{
    type Error = serde_json::Error;

    fn deserialize(self: Pin<&mut Self>, src: &BytesMut) -> Result<Item, Self::Error> {
        check_deadline(src)?;
        serde_json::from_slice(src)
    }
}

impl<Item, SinkItem> Serializer<SinkItem> for Format<Item, SinkItem>
where
    SinkItem: Serialize,
{
    type Error = serde_json::Error;

    fn serialize(self: Pin<&mut Self>, item: &SinkItem) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(item).map(Bytes::from)
    }
}

/// Refuses a request (`{"Request": {"context": {"deadline": …}}}`) whose deadline is too far.
/// Anything else, well-formed or not, is left to the real decoding.
fn check_deadline(src: &[u8]) -> Result<(), serde_json::Error> {
    #[derive(Deserialize)]
    struct Message {
        #[serde(rename = "Request")]
        request: Option<Request>,
    }
    #[derive(Deserialize)]
    struct Request {
        context: Option<Context>,
    }
    #[derive(Deserialize)]
    struct Context {
        deadline: Option<Duration>,
    }
    if let Ok(Message {
        request:
            Some(Request {
                context:
                    Some(Context {
                        deadline: Some(deadline),
                    }),
            }),
    }) = serde_json::from_slice(src)
    {
        if deadline > MAX_DEADLINE {
            return Err(serde::de::Error::custom(format!(
                "the request's deadline is {} s away; at most {} s is accepted",
                deadline.as_secs(),
                MAX_DEADLINE.as_secs()
            )));
        }
    }
    Ok(())
}

/// A JSON tarpc transport over a connected Unix stream (or, in the daemon, the stream wrapped
/// so that a frame left half sent is timed out).
pub fn transport<S, Item, SinkItem>(
    stream: S,
    max_frame: usize,
) -> Transport<S, Item, SinkItem, Format<Item, SinkItem>>
where
    S: AsyncRead + AsyncWrite,
    Item: for<'de> serde::Deserialize<'de>,
    SinkItem: serde::Serialize,
{
    tarpc::serde_transport::new(Framed::new(stream, codec(max_frame)), Format::default())
}

#[cfg(test)]
mod fuzz;
