//! What every part of the running daemon shares: configuration, directories, the store, the
//! shutdown signal and a few counters.

use std::sync::atomic::AtomicU32;
use std::time::Instant;

use mentor_shared::config::Config;
use mentor_shared::paths::Dirs;
use mentor_shared::time::Timestamp;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use std::sync::Arc;

use crate::chat::Chat;
use crate::llm::Llm;
use crate::queue::Queue;
use crate::sources::Limits;
use crate::store::Store;

/// The running daemon.
pub struct Daemon {
    /// Effective configuration.
    pub config: Config,
    /// Directories in use.
    pub dirs: Dirs,
    /// The database.
    pub store: Store,
    /// Protocol version this daemon speaks.
    pub protocol: u32,
    /// Wall-clock start time.
    pub started: Timestamp,
    /// Monotonic start time (for uptime).
    pub started_at: Instant,
    /// Open client connections.
    pub connections: AtomicU32,
    /// Cancelled when the daemon must stop.
    pub shutdown: CancellationToken,
    /// Every connection and request task, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// HTTP client for fetching URLs.
    pub http: reqwest::Client,
    /// Source ingestion limits.
    pub limits: Limits,
    /// The job queue (and its event bus).
    pub queue: Arc<Queue>,
    /// The model server.
    pub llm: Llm,
    /// The conversations.
    pub chat: Chat,
}
