//! What can go wrong on this side of the socket with an artifact: exporting it, playing it,
//! taking a quiz. Each problem is a localized sentence that says what to do next.

use mentor_shared::i18n::{self, Localizer};
use mentor_shared::t;

use crate::error::CliError;

/// A refusal or failure of `mentor artifacts export|play` or `mentor quiz take`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The export's destination exists and `--force` was not given.
    FileExists {
        /// The destination.
        path: String,
    },
    /// The destination is a directory.
    DestinationIsDirectory {
        /// The destination.
        path: String,
    },
    /// The destination's directory does not exist.
    DestinationMissing {
        /// The directory.
        dir: String,
    },
    /// Writing the destination failed.
    Write {
        /// The destination.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// The podcast's sound file is gone.
    AudioMissing {
        /// Where it should be.
        path: String,
    },
    /// The podcast has no sound: its speech engine was `none`.
    TranscriptOnly {
        /// The podcast.
        artifact: String,
    },
    /// The artifact's kind has no such export format.
    FormatUnavailable {
        /// The kind (`podcast`, …).
        kind: String,
        /// The format asked for.
        format: String,
        /// The formats it has, comma-separated.
        available: String,
    },
    /// The artifact's kind cannot be exported at all.
    NotExportable {
        /// The kind.
        kind: String,
    },
    /// The artifact's content has a shape this client does not know.
    Unreadable {
        /// The artifact.
        artifact: String,
        /// The parser's reason.
        reason: String,
    },
    /// No player was given or configured, and none of the usual ones is on PATH.
    NoPlayer {
        /// The programs looked for.
        tried: String,
    },
    /// The player could not be started.
    PlayerFailed {
        /// The player's program.
        player: String,
        /// The system's reason.
        reason: String,
    },
    /// The player ended with an error status.
    PlayerExit {
        /// The player's program.
        player: String,
        /// Its exit status.
        code: i32,
    },
    /// Input ended before the last answer of a quiz.
    QuizStopped {
        /// The quiz.
        artifact: String,
    },
}

impl Problem {
    /// The problem in the reader's language.
    pub fn localize(&self, l: &Localizer) -> String {
        match self {
            Problem::FileExists { path } => t!(l, "export-err-exists", path = path.as_str()),
            Problem::DestinationIsDirectory { path } => {
                t!(l, "export-err-is-directory", path = path.as_str())
            }
            Problem::DestinationMissing { dir } => {
                t!(l, "export-err-no-directory", dir = dir.as_str())
            }
            Problem::Write { path, reason } => t!(
                l,
                "export-err-write",
                path = path.as_str(),
                reason = reason.as_str()
            ),
            Problem::AudioMissing { path } => {
                t!(l, "artifact-err-audio-missing", path = path.as_str())
            }
            Problem::TranscriptOnly { artifact } => {
                t!(
                    l,
                    "artifact-err-transcript-only",
                    artifact = artifact.as_str()
                )
            }
            Problem::FormatUnavailable {
                kind,
                format,
                available,
            } => t!(
                l,
                "export-err-format",
                kind = kind.as_str(),
                format = format.as_str(),
                available = available.as_str()
            ),
            Problem::NotExportable { kind } => {
                t!(l, "export-err-not-exportable", kind = kind.as_str())
            }
            Problem::Unreadable { artifact, reason } => t!(
                l,
                "artifact-err-unreadable",
                artifact = artifact.as_str(),
                reason = reason.as_str()
            ),
            Problem::NoPlayer { tried } => t!(l, "play-err-no-player", tried = tried.as_str()),
            Problem::PlayerFailed { player, reason } => t!(
                l,
                "play-err-start",
                player = player.as_str(),
                reason = reason.as_str()
            ),
            Problem::PlayerExit { player, code } => {
                t!(l, "play-err-exit", player = player.as_str(), code = *code)
            }
            Problem::QuizStopped { artifact } => {
                t!(l, "quiz-err-stopped", artifact = artifact.as_str())
            }
        }
    }
}

/// `CliError` has no variant for these problems, so the problem is written to stderr here, as
/// `main` writes every other error, and the command ends with exit code 1 and nothing more.
impl From<Problem> for CliError {
    fn from(p: Problem) -> CliError {
        eprintln!("mentor: {}", p.localize(i18n::ui()));
        CliError::Quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};

    #[test]
    fn every_problem_reads_in_both_languages() {
        let all = [
            Problem::FileExists {
                path: "q.json".into(),
            },
            Problem::DestinationIsDirectory {
                path: "/tmp".into(),
            },
            Problem::DestinationMissing {
                dir: "/nope".into(),
            },
            Problem::Write {
                path: "/q.json".into(),
                reason: "denied".into(),
            },
            Problem::AudioMissing {
                path: "/a.wav".into(),
            },
            Problem::NotExportable {
                kind: "test".into(),
            },
            Problem::TranscriptOnly {
                artifact: "art:1".into(),
            },
            Problem::FormatUnavailable {
                kind: "quiz".into(),
                format: "wav".into(),
                available: "json, md".into(),
            },
            Problem::Unreadable {
                artifact: "art:1".into(),
                reason: "missing field".into(),
            },
            Problem::NoPlayer {
                tried: "mpv, aplay".into(),
            },
            Problem::PlayerFailed {
                player: "vlc".into(),
                reason: "not found".into(),
            },
            Problem::PlayerExit {
                player: "vlc".into(),
                code: 3,
            },
            Problem::QuizStopped {
                artifact: "art:1".into(),
            },
        ];
        for lang in Lang::ALL {
            let l = localizer(lang);
            for p in &all {
                let text = p.localize(l);
                assert!(!text.contains("-err-"), "{}: {text}", lang.tag());
            }
        }
        let en = Problem::FileExists {
            path: "q.json".into(),
        }
        .localize(localizer(Lang::EnUs));
        assert!(en.contains("--force"), "{en}");
        let fr = Problem::NoPlayer {
            tried: "mpv, aplay".into(),
        }
        .localize(localizer(Lang::FrFr));
        assert!(
            fr.contains("mpv, aplay") && fr.contains("[artifacts]"),
            "{fr}"
        );
    }
}
