//! The wire protocol's data types. Everything a client and the daemon exchange is defined
//! here, serialized as JSON (see `docs/protocol.md`), so scripts in any language can speak it.

use serde::{Deserialize, Serialize};

use crate::ids::{NotebookId, ObjectiveId, SourceId};
use crate::time::Timestamp;

/// Bumped whenever a request or response changes shape. Client and daemon must agree.
pub const PROTOCOL_VERSION: u32 = 9;

/// What a client says when it connects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientHello {
    /// The client's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The client program's version, for logs.
    pub client_version: String,
}

/// The daemon's answer to a successful handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerHello {
    /// The daemon's protocol version.
    pub protocol: u32,
    /// The daemon program's version.
    pub daemon_version: String,
    /// The daemon's process id.
    pub pid: u32,
}

/// Which model answers (`llm_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmInfo {
    /// `llm.provider` as configured: `auto`, `openai` or `local`.
    pub configured: String,
    /// Which answers now: `openai` (the server) or `local`.
    pub provider: String,
    /// The model: the server's model name, or the local model's name (from its file, once
    /// loaded; its file name before).
    pub model: String,
    /// The server's URL, or the local model's file.
    pub location: String,
    /// The local model, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalModelInfo>,
}

/// The local model's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalModelInfo {
    /// Its file.
    pub path: String,
    /// Whether the file is there.
    pub installed: bool,
    /// `unloaded`, `loading`, `ready` or `failed`.
    pub state: String,
    /// While loading: how far, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// When ready: the model's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When failed: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What `mentor daemon status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Process id.
    pub pid: u32,
    /// Program version.
    pub version: String,
    /// Protocol version.
    pub protocol: u32,
    /// When the daemon started.
    pub started: Timestamp,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// The socket it listens on.
    pub socket: String,
    /// The database file.
    pub database: String,
    /// The log file.
    pub log_file: String,
    /// Open client connections.
    pub connections: u32,
    /// Notebooks stored.
    pub notebooks: u64,
    /// Sources stored.
    pub sources: u64,
}

/// A notebook as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotebookSummary {
    /// Id.
    pub id: NotebookId,
    /// Title.
    pub title: String,
    /// Number of sources.
    pub sources: u64,
    /// Objectives met.
    pub objectives_met: u32,
    /// Objectives in all.
    pub objectives_total: u32,
    /// Creation time.
    pub created: Timestamp,
    /// Last change.
    pub updated: Timestamp,
}

/// A notebook with its objectives and sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notebook {
    /// Id.
    pub id: NotebookId,
    /// Title.
    pub title: String,
    /// The notebook's own instructions to the teacher.
    pub module_prompt: String,
    /// Creation time.
    pub created: Timestamp,
    /// Last change.
    pub updated: Timestamp,
    /// Learning objectives, in order.
    pub objectives: Vec<Objective>,
    /// Sources, oldest first.
    pub sources: Vec<Source>,
}

/// A learning objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Id.
    pub id: ObjectiveId,
    /// 1-based position in the notebook's list.
    pub position: u32,
    /// What the learner should be able to do.
    pub text: String,
    /// Whether it has been met.
    pub met: bool,
    /// Why the teacher considered it met.
    pub evidence: Option<String>,
    /// When it was met.
    pub met_at: Option<Timestamp>,
    /// Creation time.
    pub created: Timestamp,
}

/// The format a source was extracted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// PDF.
    Pdf,
    /// HTML.
    Html,
}

impl SourceKind {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Text => "text",
            SourceKind::Markdown => "markdown",
            SourceKind::Pdf => "pdf",
            SourceKind::Html => "html",
        }
    }

    /// Parses [`SourceKind::as_str`]'s output.
    pub fn parse(s: &str) -> Option<SourceKind> {
        [
            SourceKind::Text,
            SourceKind::Markdown,
            SourceKind::Pdf,
            SourceKind::Html,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A source document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Id.
    pub id: SourceId,
    /// The notebook it belongs to.
    pub notebook_id: NotebookId,
    /// Title (from the document, else the file name or URL).
    pub title: String,
    /// Format.
    pub kind: SourceKind,
    /// The canonical file path or the URL it came from.
    pub origin: String,
    /// Size of the original, in bytes.
    pub bytes: u64,
    /// Characters of extracted text.
    pub chars: u64,
    /// Indexed chunks.
    pub chunks: u32,
    /// When it was added.
    pub created: Timestamp,
}

/// A source with its extracted text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceDetail {
    /// The source.
    pub source: Source,
    /// Its extracted text (at most [`MAX_SHOWN_TEXT`] bytes; see `truncated`).
    pub text: String,
    /// True when `text` was cut to fit in one reply.
    pub truncated: bool,
}

/// Largest source text sent in one reply: well under the default frame limit.
pub const MAX_SHOWN_TEXT: usize = 4 * 1024 * 1024;

/// One passage found by a source search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The source it comes from.
    pub source_id: SourceId,
    /// That source's title (for citing).
    pub source_title: String,
    /// Chunk number inside the source (0-based).
    pub chunk: u32,
    /// The passage, with matches wrapped in `**`.
    pub snippet: String,
    /// Relevance (higher is better).
    pub score: f64,
}

/// What deleting a notebook removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotebookDeleted {
    /// The notebook's id.
    pub id: NotebookId,
    /// Its title.
    pub title: String,
    /// Sources removed with it.
    pub sources: u64,
}
