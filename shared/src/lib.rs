//! mentor-shared: the protocol between `mentor` and `mentord` — data types, the tarpc service,
//! the wire framing, where files live, the configuration and localization. No business logic.

pub mod artifacts;
pub mod chat;
pub mod config;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod jobs;
pub mod paths;
pub mod protocol;
pub mod service;
pub mod time;
pub mod wire;

pub use error::ApiError;
pub use protocol::PROTOCOL_VERSION;
