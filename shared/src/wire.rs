//! The wire format: a Unix stream socket carrying frames of a 4-byte big-endian length
//! followed by that many bytes of JSON (tarpc's request/response envelopes). Both sides frame
//! with [`codec`], so the frame limit and codec cannot drift apart: clients through
//! [`transport`], the daemon with the same JSON plus a check of each request's deadline (in its
//! `server.rs`).

use tarpc::serde_transport::Transport;
use tarpc::tokio_serde::formats::Json;
use tarpc::tokio_util::codec::length_delimited::LengthDelimitedCodec;
use tarpc::tokio_util::codec::Framed;
use tokio::net::UnixStream;

/// Default largest frame (8 MiB): far above any legitimate request, small enough that a
/// hostile length prefix cannot make the daemon allocate much.
pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

/// The length-delimited codec with the given frame limit.
pub fn codec(max_frame: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .big_endian()
        .max_frame_length(max_frame)
        .new_codec()
}

/// A JSON tarpc transport over a connected Unix stream.
pub fn transport<Item, SinkItem>(
    stream: UnixStream,
    max_frame: usize,
) -> Transport<UnixStream, Item, SinkItem, Json<Item, SinkItem>>
where
    Item: for<'de> serde::Deserialize<'de>,
    SinkItem: serde::Serialize,
{
    tarpc::serde_transport::new(Framed::new(stream, codec(max_frame)), Json::default())
}
