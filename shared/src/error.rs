//! Errors at the protocol boundary. The daemon returns structured errors, not sentences: the
//! client renders them in its own language with [`ApiError::localize`], and scripts can match
//! on the `code` field of the JSON.

use serde::{Deserialize, Serialize};

use crate::i18n::Localizer;
use crate::t;

/// A notebook that matched an ambiguous reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotebookMatch {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// A common database failure, which the learner can do something about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageProblem {
    /// Another program held the database locked for longer than the daemon waits.
    Busy,
    /// The disk (or the file system) holding the database is full.
    Full,
}

/// The short reasons the daemon gives for a failed connection to the model server (in
/// `llm_unreachable` and in a cut stream's `llm_protocol`). They are part of the protocol, in
/// English; the client says them in its own language.
pub mod net_reason {
    /// Nothing listens on the port.
    pub const CONNECTION_REFUSED: &str = "connection refused";
    /// The server reset the connection.
    pub const CONNECTION_RESET: &str = "connection reset by the server";
    /// The connection was aborted.
    pub const CONNECTION_ABORTED: &str = "connection aborted";
    /// The server closed the connection (an unexpected end of file).
    pub const CLOSED: &str = "the server closed the connection";
    /// The system's timeout.
    pub const TIMED_OUT: &str = "timed out";
    /// No route to the host.
    pub const HOST_UNREACHABLE: &str = "host unreachable";
    /// No route to the network.
    pub const NETWORK_UNREACHABLE: &str = "network unreachable";
    /// The local address cannot be used.
    pub const ADDR_NOT_AVAILABLE: &str = "address not available";
    /// How a cut stream's reason starts (`llm_protocol`).
    pub const ENDED_EARLY: &str = "the stream ended early";
}

/// One of the [`net_reason`]s in the reader's language; any other reason as it is.
fn net_reason(l: &Localizer, reason: &str) -> String {
    use net_reason::*;
    match reason {
        CONNECTION_REFUSED => t!(l, "net-connection-refused"),
        CONNECTION_RESET => t!(l, "net-connection-reset"),
        CONNECTION_ABORTED => t!(l, "net-connection-aborted"),
        CLOSED => t!(l, "net-closed"),
        TIMED_OUT => t!(l, "net-timed-out"),
        HOST_UNREACHABLE => t!(l, "net-host-unreachable"),
        NETWORK_UNREACHABLE => t!(l, "net-network-unreachable"),
        ADDR_NOT_AVAILABLE => t!(l, "net-addr-not-available"),
        other => other.to_string(),
    }
}

/// Everything a request can fail with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ApiError {
    /// Client and daemon speak different protocol versions.
    #[error("protocol version mismatch (client {client}, daemon {daemon})")]
    VersionMismatch {
        /// The client's version.
        client: u32,
        /// The daemon's version.
        daemon: u32,
    },
    /// A request came before the version handshake.
    #[error("handshake required")]
    HandshakeRequired,
    /// The daemon is stopping.
    #[error("daemon shutting down")]
    ShuttingDown,
    /// No notebook has that id or title.
    #[error("notebook not found: {reference}")]
    NotebookNotFound {
        /// What the user typed.
        reference: String,
    },
    /// Several notebooks have that title.
    #[error("ambiguous notebook: {reference}")]
    NotebookAmbiguous {
        /// What the user typed.
        reference: String,
        /// The notebooks it matches.
        matches: Vec<NotebookMatch>,
    },
    /// An objective reference that matches nothing.
    #[error("objective not found: {reference}")]
    ObjectiveNotFound {
        /// What the user typed.
        reference: String,
    },
    /// A source id that matches nothing.
    #[error("source not found: {reference}")]
    SourceNotFound {
        /// What the user typed.
        reference: String,
    },
    /// A text field that must not be empty.
    #[error("{field} must not be empty")]
    EmptyField {
        /// Which field.
        field: String,
    },
    /// A text field that is too long.
    #[error("{field} is too long (max {max} characters)")]
    FieldTooLong {
        /// Which field.
        field: String,
        /// The limit.
        max: u64,
    },
    /// A file that does not exist.
    #[error("no such file: {path}")]
    FileMissing {
        /// The path.
        path: String,
    },
    /// A directory given where a file was expected.
    #[error("is a directory: {path}")]
    FileIsDirectory {
        /// The path.
        path: String,
    },
    /// A file that could not be read.
    #[error("cannot read {path}: {reason}")]
    FileUnreadable {
        /// The path.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// A file or download larger than `sources.max_bytes`.
    #[error("{origin} is too large ({size} bytes, limit {limit})")]
    SourceTooLarge {
        /// Path or URL.
        origin: String,
        /// Its size in bytes.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A format Mentor cannot read.
    #[error("unsupported type: {origin} ({detail})")]
    SourceUnsupported {
        /// Path or URL.
        origin: String,
        /// The extension or content type.
        detail: String,
    },
    /// Binary content where text was expected.
    #[error("binary file: {origin}")]
    SourceBinary {
        /// Path or URL.
        origin: String,
    },
    /// Text that is not valid UTF-8.
    #[error("not UTF-8: {origin}")]
    SourceNotUtf8 {
        /// Path or URL.
        origin: String,
        /// Byte offset of the first invalid byte.
        offset: u64,
    },
    /// No text after extraction.
    #[error("no text in {origin}")]
    SourceEmpty {
        /// Path or URL.
        origin: String,
    },
    /// A PDF that could not be parsed.
    #[error("unreadable PDF {origin}: {reason}")]
    SourcePdf {
        /// Path or URL.
        origin: String,
        /// The parser's reason.
        reason: String,
    },
    /// The same file or URL is already in the notebook.
    #[error("already added: {origin}")]
    SourceDuplicate {
        /// Path or URL.
        origin: String,
        /// The existing source.
        existing: String,
    },
    /// A URL that is not a valid http(s) URL.
    #[error("invalid URL: {url}")]
    UrlInvalid {
        /// The URL.
        url: String,
    },
    /// A URL that could not be fetched.
    #[error("cannot reach {url}: {reason}")]
    UrlUnreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A URL that answered with an HTTP error.
    #[error("{url} answered HTTP {status}")]
    UrlStatus {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// A search query with nothing to search for.
    #[error("empty search query")]
    EmptyQuery,
    /// A job id that matches nothing.
    #[error("job not found: {reference}")]
    JobNotFound {
        /// What the user typed.
        reference: String,
    },
    /// An artifact id that matches nothing.
    #[error("artifact not found: {reference}")]
    ArtifactNotFound {
        /// What the user typed.
        reference: String,
    },
    /// The artifact is of another kind than the request needs.
    #[error("{artifact} is a {kind}, not a {expected}")]
    ArtifactWrongKind {
        /// The artifact's id.
        artifact: String,
        /// Its kind (`podcast`, …).
        kind: String,
        /// The kind the request needs.
        expected: String,
    },
    /// The artifact has no content to use: still generating, failed or cancelled.
    #[error("{artifact} is {status}")]
    ArtifactNotReady {
        /// The artifact's id.
        artifact: String,
        /// Its status (`generating`, `failed`, `cancelled`).
        status: String,
        /// The job that makes it.
        job: String,
    },
    /// A quiz attempt with more or fewer answers than the quiz has questions.
    #[error("{given} answers for {expected} questions")]
    QuizAnswerCount {
        /// Questions in the quiz.
        expected: u32,
        /// Answers given.
        given: u32,
    },
    /// A quiz answer that is not one of the four options (0–3).
    #[error("answer {answer} to question {question} is not an option (0-3)")]
    QuizAnswerOutOfRange {
        /// The question, 1-based.
        question: u32,
        /// The answer given.
        answer: u64,
    },
    /// No handler is installed for a job kind.
    #[error("no handler for {kind} jobs")]
    NoHandler {
        /// The kind (`podcast`, …).
        kind: String,
    },
    /// The job is in a state where that action means nothing.
    #[error("job {job} is {status}: cannot {action}")]
    JobState {
        /// The job.
        job: String,
        /// Its status (`completed`, …).
        status: String,
        /// `cancel` or `retry`.
        action: String,
    },
    /// A job option out of range.
    #[error("invalid {field}: {problem}")]
    InvalidOption {
        /// Which option.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The model server could not be reached.
    #[error("cannot reach the model server at {url}: {reason}")]
    LlmUnreachable {
        /// The URL tried.
        url: String,
        /// The system's reason.
        reason: String,
    },
    /// The model server was too slow.
    #[error("the model server at {url} timed out ({phase}, {secs} s)")]
    LlmTimeout {
        /// The URL tried.
        url: String,
        /// `connect`, `first_token` or `idle`.
        phase: String,
        /// The configured limit in seconds.
        secs: u64,
    },
    /// The model server answered with an HTTP error.
    #[error("the model server at {url} answered HTTP {status}: {message}")]
    LlmStatus {
        /// The URL tried.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's own error message.
        message: String,
        /// How long the server asked to wait before trying again (its `Retry-After`, in
        /// seconds), when it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// The model server sent something that is not an OpenAI-compatible stream.
    #[error("the model server at {url} sent an invalid answer: {reason}")]
    LlmProtocol {
        /// The URL tried.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The model's structured answer stayed invalid after a repair attempt.
    #[error("the model's answer is not valid: {reason}")]
    LlmOutput {
        /// The validation error.
        reason: String,
    },
    /// A job's model request was cancelled so that a chat waiting for its place could go
    /// first. Never a failure of its own: the job's step goes back to the queue, its attempt
    /// not counted.
    #[error("model request preempted by a chat")]
    LlmPreempted,
    /// A chat reply kept repeating itself (the same sentence, or a long run of words, again
    /// and again), so Mentor stopped it; the reply keeps what came before the loop.
    #[error("the reply kept repeating itself and was stopped")]
    ReplyLooped,
    /// The local model file is not there.
    #[error("no local model at {path}")]
    LocalModelMissing {
        /// Where it was looked for.
        path: String,
    },
    /// The local model cannot be used: not a GGUF file, damaged, or llama.cpp failed.
    #[error("the local model {path} cannot be used: {reason}")]
    LocalModel {
        /// The model file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A prompt template (an override in the config directory) is broken.
    #[error("prompt template {file}: {reason}")]
    PromptTemplate {
        /// The template file.
        file: String,
        /// The template engine's message.
        reason: String,
    },
    /// The database failed.
    #[error("storage error: {message}")]
    Storage {
        /// Details for the log and the user.
        message: String,
        /// What the learner can do about it, when the failure is a common one (the database
        /// locked by another program, the disk full); absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem: Option<StorageProblem>,
    },
    /// The teacher was still calling tools when its last round was over.
    #[error("the model kept calling tools after {rounds} rounds")]
    ToolRounds {
        /// The limit (`chat.max_tool_rounds`).
        rounds: u32,
    },
    /// Anything else that went wrong inside the daemon.
    #[error("internal error: {message}")]
    Internal {
        /// Details.
        message: String,
    },
}

impl ApiError {
    /// The error as a sentence in the reader's language, saying what to do next.
    pub fn localize(&self, l: &Localizer) -> String {
        match self {
            ApiError::VersionMismatch { client, daemon } => t!(
                l,
                "err-version-mismatch",
                client = *client,
                daemon = *daemon
            ),
            ApiError::HandshakeRequired => t!(l, "err-handshake-required"),
            ApiError::ShuttingDown => t!(l, "err-shutting-down"),
            ApiError::NotebookNotFound { reference } => {
                t!(l, "err-notebook-not-found", reference = reference.as_str())
            }
            ApiError::NotebookAmbiguous { reference, matches } => {
                let list: Vec<String> = matches
                    .iter()
                    .map(|m| format!("  {}  {}", m.id, m.title))
                    .collect();
                t!(
                    l,
                    "err-notebook-ambiguous",
                    reference = reference.as_str(),
                    matches = list.join("\n")
                )
            }
            ApiError::ObjectiveNotFound { reference } => {
                t!(l, "err-objective-not-found", reference = reference.as_str())
            }
            ApiError::SourceNotFound { reference } => {
                t!(l, "err-source-not-found", reference = reference.as_str())
            }
            ApiError::EmptyField { field } => {
                let field = field_name(l, field);
                t!(l, "err-empty-field", field = field)
            }
            ApiError::FieldTooLong { field, max } => {
                let field = field_name(l, field);
                t!(l, "err-field-too-long", field = field, max = *max)
            }
            ApiError::FileMissing { path } => t!(l, "err-file-missing", path = path.as_str()),
            ApiError::FileIsDirectory { path } => {
                t!(l, "err-file-is-directory", path = path.as_str())
            }
            ApiError::FileUnreadable { path, reason } => t!(
                l,
                "err-file-unreadable",
                path = path.as_str(),
                reason = reason.as_str()
            ),
            ApiError::SourceTooLarge {
                origin,
                size,
                limit,
            } => t!(
                l,
                "err-source-too-large",
                origin = origin.as_str(),
                size = human_bytes(*size),
                limit = human_bytes(*limit)
            ),
            ApiError::SourceUnsupported { origin, detail } => t!(
                l,
                "err-source-unsupported",
                origin = origin.as_str(),
                detail = detail.as_str()
            ),
            ApiError::SourceBinary { origin } => {
                t!(l, "err-source-binary", origin = origin.as_str())
            }
            ApiError::SourceNotUtf8 { origin, offset } => t!(
                l,
                "err-source-not-utf8",
                origin = origin.as_str(),
                offset = *offset
            ),
            ApiError::SourceEmpty { origin } => t!(l, "err-source-empty", origin = origin.as_str()),
            ApiError::SourcePdf { origin, reason } => t!(
                l,
                "err-source-pdf",
                origin = origin.as_str(),
                reason = reason.as_str()
            ),
            ApiError::SourceDuplicate { origin, existing } => t!(
                l,
                "err-source-duplicate",
                origin = origin.as_str(),
                existing = existing.as_str()
            ),
            ApiError::UrlInvalid { url } => t!(l, "err-url-invalid", url = url.as_str()),
            ApiError::UrlUnreachable { url, reason } => t!(
                l,
                "err-url-unreachable",
                url = url.as_str(),
                reason = reason.as_str()
            ),
            ApiError::UrlStatus { url, status } => {
                t!(l, "err-url-status", url = url.as_str(), status = *status)
            }
            ApiError::EmptyQuery => t!(l, "err-empty-query"),
            ApiError::JobNotFound { reference } => {
                t!(l, "err-job-not-found", reference = reference.as_str())
            }
            ApiError::ArtifactNotFound { reference } => {
                t!(l, "err-artifact-not-found", reference = reference.as_str())
            }
            ApiError::ArtifactWrongKind {
                artifact,
                kind,
                expected,
            } => t!(
                l,
                "err-artifact-wrong-kind",
                artifact = artifact.as_str(),
                kind = kind.as_str(),
                expected = expected.as_str()
            ),
            ApiError::ArtifactNotReady {
                artifact,
                status,
                job,
            } => t!(
                l,
                "err-artifact-not-ready",
                artifact = artifact.as_str(),
                status = status.as_str(),
                job = job.as_str()
            ),
            ApiError::QuizAnswerCount { expected, given } => t!(
                l,
                "err-quiz-answer-count",
                expected = *expected,
                given = *given
            ),
            ApiError::QuizAnswerOutOfRange { question, answer } => t!(
                l,
                "err-quiz-answer-out-of-range",
                question = *question,
                answer = *answer
            ),
            ApiError::NoHandler { kind } => t!(l, "err-no-handler", kind = kind.as_str()),
            ApiError::JobState {
                job,
                status,
                action,
            } => {
                let status = job_status_name(l, status);
                if action == "cancel" {
                    t!(
                        l,
                        "err-job-not-cancellable",
                        job = job.as_str(),
                        status = status
                    )
                } else {
                    t!(
                        l,
                        "err-job-not-retryable",
                        job = job.as_str(),
                        status = status
                    )
                }
            }
            ApiError::InvalidOption { field, problem } => t!(
                l,
                "err-invalid-option",
                field = field.as_str(),
                problem = problem.as_str()
            ),
            ApiError::LlmUnreachable { url, reason } => t!(
                l,
                "err-llm-unreachable",
                url = url.as_str(),
                reason = net_reason(l, reason)
            ),
            ApiError::LlmTimeout { url, phase, secs } => match phase.as_str() {
                "connect" => t!(
                    l,
                    "err-llm-timeout-connect",
                    url = url.as_str(),
                    secs = *secs
                ),
                "first_token" => t!(
                    l,
                    "err-llm-timeout-first-token",
                    url = url.as_str(),
                    secs = *secs
                ),
                _ => t!(l, "err-llm-timeout-idle", url = url.as_str(), secs = *secs),
            },
            ApiError::LlmStatus {
                url,
                status,
                message,
                retry_after_secs,
            } => {
                let hint = match (status, retry_after_secs) {
                    (401 | 403, _) => t!(l, "err-llm-hint-auth"),
                    (404, _) => t!(l, "err-llm-hint-model"),
                    (429 | 503, Some(secs)) => t!(l, "err-llm-hint-retry-after", secs = *secs),
                    (429, None) => t!(l, "err-llm-hint-busy"),
                    (500..=599, _) => t!(l, "err-llm-hint-server"),
                    _ => String::new(),
                };
                // The server's words end their sentence before the hint starts another.
                let message = message.trim_end();
                let message = if hint.is_empty() || message.ends_with(['.', '!', '?', '…']) {
                    message.to_string()
                } else {
                    format!("{message}.")
                };
                t!(
                    l,
                    "err-llm-status",
                    url = url.as_str(),
                    status = *status,
                    message = message,
                    hint = hint
                )
            }
            ApiError::LlmProtocol { url, reason } => {
                match reason.strip_prefix(net_reason::ENDED_EARLY) {
                    // A cut, not a server that speaks another protocol.
                    Some(rest) => {
                        let why = rest.trim().trim_start_matches('(').trim_end_matches(')');
                        let why = if why.trim().is_empty() {
                            t!(l, "net-ended-early")
                        } else {
                            net_reason(l, why.trim())
                        };
                        t!(l, "err-llm-cut", url = url.as_str(), reason = why)
                    }
                    None => t!(
                        l,
                        "err-llm-protocol",
                        url = url.as_str(),
                        reason = reason.as_str()
                    ),
                }
            }
            ApiError::LlmOutput { reason } => t!(l, "err-llm-output", reason = reason.as_str()),
            ApiError::LlmPreempted => t!(l, "err-llm-preempted"),
            ApiError::ReplyLooped => t!(l, "err-reply-looped"),
            ApiError::LocalModelMissing { path } => {
                t!(l, "err-local-model-missing", path = path.as_str())
            }
            ApiError::LocalModel { path, reason } => t!(
                l,
                "err-local-model",
                path = path.as_str(),
                reason = reason.as_str()
            ),
            ApiError::PromptTemplate { file, reason } => t!(
                l,
                "err-prompt-template",
                file = file.as_str(),
                reason = reason.as_str()
            ),
            ApiError::Storage {
                problem: Some(StorageProblem::Busy),
                ..
            } => t!(l, "err-storage-busy"),
            ApiError::Storage {
                problem: Some(StorageProblem::Full),
                ..
            } => t!(l, "err-storage-full"),
            ApiError::Storage {
                message,
                problem: None,
            } => t!(l, "err-storage", message = message.as_str()),
            ApiError::ToolRounds { rounds } => t!(l, "err-tool-rounds", rounds = *rounds),
            ApiError::Internal { message } => t!(l, "err-internal", message = message.as_str()),
        }
    }
}

/// A job status in the reader's language.
pub fn job_status_name(l: &Localizer, status: &str) -> String {
    match status {
        "pending" => t!(l, "job-status-pending"),
        "processing" => t!(l, "job-status-processing"),
        "completed" => t!(l, "job-status-completed"),
        "error" => t!(l, "job-status-error"),
        "cancelled" => t!(l, "job-status-cancelled"),
        other => other.to_string(),
    }
}

fn field_name(l: &Localizer, field: &str) -> String {
    match field {
        "title" => t!(l, "field-title"),
        "objective" => t!(l, "field-objective"),
        "module_prompt" => t!(l, "field-module-prompt"),
        "url" => t!(l, "field-url"),
        "paths" => t!(l, "field-paths"),
        "questions" => t!(l, "field-questions"),
        "topic" => t!(l, "field-topic"),
        "language" => t!(l, "field-language"),
        "message" => t!(l, "field-message"),
        "name" => t!(l, "field-name"),
        "level" => t!(l, "field-level"),
        other => other.to_string(),
    }
}

/// Formats a byte count for people (`512 B`, `1.5 MiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_fields_are_optional_on_the_wire() {
        let plain = ApiError::Storage {
            message: "disk I/O error".into(),
            problem: None,
        };
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "storage", "message": "disk I/O error"})
        );
        let busy: ApiError = serde_json::from_value(serde_json::json!(
            {"code": "storage", "message": "database is locked", "problem": "busy"}
        ))
        .unwrap();
        assert!(matches!(
            busy,
            ApiError::Storage {
                problem: Some(StorageProblem::Busy),
                ..
            }
        ));
        let status: ApiError = serde_json::from_value(serde_json::json!(
            {"code": "llm_status", "url": "u", "status": 429, "message": "slow down"}
        ))
        .unwrap();
        assert!(matches!(
            status,
            ApiError::LlmStatus {
                retry_after_secs: None,
                ..
            }
        ));
        let rounds = serde_json::to_value(ApiError::ToolRounds { rounds: 6 }).unwrap();
        assert_eq!(
            rounds,
            serde_json::json!({"code": "tool_rounds", "rounds": 6})
        );
    }

    #[test]
    fn errors_serialize_with_a_code() {
        let e = ApiError::NotebookNotFound {
            reference: "Bio".into(),
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "notebook_not_found");
        assert_eq!(json["reference"], "Bio");
        let back: ApiError = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn artifact_refusals_say_what_to_do_in_both_languages() {
        use crate::i18n::{localizer, Lang};
        let wrong = ApiError::ArtifactWrongKind {
            artifact: "art:1".into(),
            kind: "podcast".into(),
            expected: "quiz".into(),
        };
        assert_eq!(
            serde_json::to_value(&wrong).unwrap()["code"],
            "artifact_wrong_kind"
        );
        let en = wrong.localize(localizer(Lang::EnUs));
        assert!(en.contains("a podcast, not a quiz"), "{en}");
        let fr = wrong.localize(localizer(Lang::FrFr));
        assert!(fr.contains("un podcast, pas un quiz"), "{fr}");
        let generating = ApiError::ArtifactNotReady {
            artifact: "art:1".into(),
            status: "generating".into(),
            job: "job:2".into(),
        };
        let en = generating.localize(localizer(Lang::EnUs));
        assert!(en.contains("mentor jobs watch job:2"), "{en}");
        let failed = ApiError::ArtifactNotReady {
            artifact: "art:1".into(),
            status: "failed".into(),
            job: "job:2".into(),
        };
        let fr = failed.localize(localizer(Lang::FrFr));
        assert!(fr.contains("mentor jobs retry job:2"), "{fr}");
        let count = ApiError::QuizAnswerCount {
            expected: 3,
            given: 2,
        };
        assert!(count.localize(localizer(Lang::EnUs)).contains('3'));
    }

    #[test]
    fn bytes_read_naturally() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(20 * 1024 * 1024), "20.0 MiB");
    }
}
