//! Errors the client shows. Each one is a localized sentence that says what to do next; the
//! exit code is 1 (clap's usage errors exit with 2 on their own).

use mentor_shared::config::ConfigError;
use mentor_shared::i18n::Localizer;
use mentor_shared::{t, ApiError};

/// Everything a `mentor` command can fail with.
#[derive(Debug)]
pub enum CliError {
    /// The daemon refused the request.
    Api(ApiError),
    /// The configuration file is invalid (boxed: it is large, and every result carries it).
    Config(Box<ConfigError>),
    /// The connection broke during a request.
    Connection(String),
    /// `mentord` could not be found next to `mentor` or on PATH.
    MentordNotFound,
    /// The daemon process exited during start-up.
    DaemonStartFailed {
        /// What it printed.
        detail: String,
    },
    /// The daemon did not answer in time after being started.
    DaemonStartTimeout {
        /// Where its log is.
        log: String,
    },
    /// The socket exists but we may not use it.
    SocketPermission {
        /// The socket.
        path: String,
    },
    /// A local file operation failed.
    Io {
        /// The path.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// A path that cannot be sent (not UTF-8).
    PathNotUtf8 {
        /// The path, lossily shown.
        path: String,
    },
    /// A destructive command run without a terminal and without `--yes`.
    ConfirmationNeeded,
    /// The learner answered no.
    Aborted,
    /// The directories could not be resolved.
    NoHome(String),
    /// A command needs a notebook and there is none.
    NoNotebooks,
    /// The teacher's reply was stopped (from another client) before it finished.
    ReplyStopped,
    /// The command already said everything; exit 1 without a message.
    Quiet,
    /// The terminal chat was asked for without a terminal.
    NotATerminal,
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        CliError::Api(e)
    }
}

impl CliError {
    /// The error in the reader's language.
    pub fn localize(&self, l: &Localizer) -> String {
        match self {
            CliError::Api(e) => e.localize(l),
            CliError::Config(e) => e.localize(l),
            CliError::Connection(reason) => {
                t!(l, "err-connection-lost", reason = reason.as_str())
            }
            CliError::MentordNotFound => t!(l, "err-mentord-not-found"),
            CliError::DaemonStartFailed { detail } => {
                t!(l, "err-daemon-start-failed", detail = detail.as_str())
            }
            CliError::DaemonStartTimeout { log } => {
                t!(l, "err-daemon-start-timeout", log = log.as_str())
            }
            CliError::SocketPermission { path } => {
                t!(l, "err-socket-permission", path = path.as_str())
            }
            CliError::Io { path, reason } => {
                t!(l, "err-io", path = path.as_str(), reason = reason.as_str())
            }
            CliError::PathNotUtf8 { path } => t!(l, "err-path-not-utf8", path = path.as_str()),
            CliError::ConfirmationNeeded => t!(l, "err-confirmation-needed"),
            CliError::Aborted => t!(l, "err-aborted"),
            CliError::NoHome(detail) => t!(l, "err-no-home", detail = detail.as_str()),
            CliError::NoNotebooks => t!(l, "err-no-notebooks"),
            CliError::ReplyStopped => t!(l, "err-reply-stopped"),
            CliError::Quiet => String::new(),
            CliError::NotATerminal => t!(l, "err-not-a-terminal"),
        }
    }
}
