//! Text to speech for podcasts: one [`Speech`] speaks one clip at a time into a WAV file, with
//! the engine the configuration names — espeak-ng (a local program, [`espeak`]), an
//! OpenAI-compatible `/v1/audio/speech` server ([`openai`]), or none (transcripts only).
//!
//! What every engine guarantees: a clip's file appears whole or not at all (it is written next
//! to its place as `.part`, then renamed), and after an error or a cancellation no file is
//! left. An engine is stopped after `tts.timeout_secs` and at once on cancellation; a program
//! is never run through a shell, and its text goes in on stdin, never as an argument. Errors
//! say whether trying again may help ([`TtsError::is_transient`]) and what to do
//! ([`TtsError::localize`]).
//!
//! Reading and combining the clips is [`wav`]'s job.

mod espeak;
mod openai;
pub mod wav;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mentor_shared::config::TtsConfig;
use mentor_shared::i18n::{Lang, Localizer};
use mentor_shared::t;
use tokio_util::sync::CancellationToken;

/// Why a clip could not be spoken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtsError {
    /// The program is not installed (not found on PATH / at the path). Permanent.
    #[error("the speech program `{program}` was not found")]
    Missing {
        /// The program as configured.
        program: String,
    },
    /// The engine ran and failed: exit status and the end of its stderr (≤ 500 chars).
    /// Permanent for espeak-ng, for openai HTTP 4xx (except 408/429).
    #[error("speech synthesis failed: {detail}")]
    Failed {
        /// What went wrong, in the engine's words.
        detail: String,
    },
    /// The speech program exited with an error (or was killed by a signal). Permanent.
    #[error("the speech program `{program}` stopped with exit code {code:?} (signal {signal:?}): {stderr}")]
    Exited {
        /// The program as configured.
        program: String,
        /// Its exit code, when it exited.
        code: Option<i32>,
        /// The signal that killed it, when one did.
        signal: Option<i32>,
        /// The end of its stderr (≤ 500 chars; may be empty).
        stderr: String,
    },
    /// No answer within `timeout_secs` (the child is killed). Transient.
    #[error("the speech engine gave no clip within {secs} s")]
    TimedOut {
        /// The limit, in seconds.
        secs: u64,
    },
    /// The engine's output is not audio this daemon can read. Permanent.
    #[error("the speech engine's output is not readable audio: {detail}")]
    BadAudio {
        /// What was wrong with it.
        detail: String,
    },
    /// The speech server could not be reached, or answered 408/429/5xx. Transient.
    #[error("the speech server could not be reached: {detail}")]
    Unreachable {
        /// The address and the reason.
        detail: String,
    },
    /// Writing the clip failed (disk full, permissions). Transient.
    #[error("cannot write the audio clip: {detail}")]
    Io {
        /// The file and the system's reason.
        detail: String,
    },
    /// The cancellation token fired; the child was killed and no file is left.
    #[error("speech was cancelled")]
    Cancelled,
}

impl TtsError {
    /// Whether trying the same clip again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TtsError::TimedOut { .. } | TtsError::Unreachable { .. } | TtsError::Io { .. }
        )
    }

    /// The error in the reader's language, saying what to do.
    pub fn localize(&self, l: &Localizer) -> String {
        match self {
            TtsError::Missing { program } => t!(l, "tts-missing", program = program.as_str()),
            TtsError::Failed { detail } => t!(l, "tts-failed", detail = detail.as_str()),
            TtsError::Exited {
                program,
                code,
                signal,
                stderr,
            } => {
                let how = match (code, signal) {
                    (Some(code), _) => t!(l, "tts-how-code", code = *code),
                    (None, Some(signal)) => t!(l, "tts-how-signal", signal = *signal),
                    (None, None) => t!(l, "tts-how-unknown"),
                };
                let said = if stderr.trim().is_empty() {
                    String::new()
                } else {
                    t!(l, "tts-stderr", text = stderr.trim())
                };
                t!(
                    l,
                    "tts-exited",
                    program = program.as_str(),
                    how = how,
                    said = said
                )
            }
            TtsError::TimedOut { secs } => t!(l, "tts-timed-out", secs = *secs),
            TtsError::BadAudio { detail } => t!(l, "tts-bad-audio", detail = detail.as_str()),
            TtsError::Unreachable { detail } => {
                t!(l, "tts-unreachable", detail = detail.as_str())
            }
            TtsError::Io { detail } => t!(l, "tts-io", detail = detail.as_str()),
            TtsError::Cancelled => t!(l, "tts-cancelled"),
        }
    }
}

/// A configured speech engine (cheap to clone; share it between clips).
#[derive(Clone)]
pub struct Speech {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    voices_en: Vec<String>,
    voices_fr: Vec<String>,
    parallel: u32,
    timeout_secs: u64,
}

enum Engine {
    Espeak(espeak::Espeak),
    OpenAi(openai::OpenAi),
    Off,
}

impl std::fmt::Debug for Speech {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speech")
            .field("engine", &self.engine())
            .field("voices_en", &self.inner.voices_en)
            .field("voices_fr", &self.inner.voices_fr)
            .field("parallel", &self.inner.parallel)
            .field("timeout_secs", &self.inner.timeout_secs)
            .finish()
    }
}

impl Speech {
    /// The engine `config` names (an unknown name, which validation refuses, means none).
    pub fn new(config: &TtsConfig, http: reqwest::Client) -> Speech {
        let (engine, voices_en, voices_fr) = match config.engine.as_str() {
            "espeak-ng" => (
                Engine::Espeak(espeak::Espeak::new(config)),
                config.voices_en.clone(),
                config.voices_fr.clone(),
            ),
            "openai" => (
                Engine::OpenAi(openai::OpenAi::new(config, http)),
                config.openai_voices_en.clone(),
                config.openai_voices_fr.clone(),
            ),
            _ => (Engine::Off, Vec::new(), Vec::new()),
        };
        Speech {
            inner: Arc::new(Inner {
                engine,
                voices_en,
                voices_fr,
                parallel: config.parallel,
                timeout_secs: config.timeout_secs.max(1),
            }),
        }
    }

    /// "espeak-ng", "openai" or "none".
    pub fn engine(&self) -> &'static str {
        match self.inner.engine {
            Engine::Espeak(_) => "espeak-ng",
            Engine::OpenAi(_) => "openai",
            Engine::Off => "none",
        }
    }

    /// False for `none` (podcasts are transcripts only).
    pub fn speaks(&self) -> bool {
        !matches!(self.inner.engine, Engine::Off)
    }

    /// The voices of a podcast's speakers in `lang`, first host first (empty for `none`).
    pub fn voices(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::EnUs => &self.inner.voices_en,
            Lang::FrFr => &self.inner.voices_fr,
        }
    }

    /// Clips to speak at once: `parallel`, or when 0 one per core (at least 1).
    pub fn parallel(&self) -> usize {
        match usize::try_from(self.inner.parallel) {
            Ok(n) if n > 0 => n,
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Checks the engine can run at all: for espeak-ng, that the program exists; for openai
    /// and none, nothing (a server is only known to answer once it did).
    pub async fn check(&self) -> Result<(), TtsError> {
        match &self.inner.engine {
            Engine::Espeak(e) => e.check(),
            Engine::OpenAi(_) | Engine::Off => Ok(()),
        }
    }

    /// Speaks `text` with `voice` into the WAV file `out`, and returns the clip read back
    /// (mono 16-bit). The file appears whole or not at all; on any error or cancellation no
    /// file (neither `out` nor its `.part`) is left. The engine is stopped after
    /// `timeout_secs`, and at once when `cancel` fires (→ [`TtsError::Cancelled`]).
    pub async fn speak(
        &self,
        text: &str,
        voice: &str,
        out: &Path,
        cancel: &CancellationToken,
    ) -> Result<wav::Clip, TtsError> {
        if cancel.is_cancelled() {
            return Err(TtsError::Cancelled);
        }
        let limit = Limit {
            time: Duration::from_secs(self.inner.timeout_secs),
            secs: self.inner.timeout_secs,
        };
        let part = PartFile::new(out);
        let spoken = match &self.inner.engine {
            Engine::Espeak(e) => e.speak(text, voice, &part.path, limit, cancel).await,
            Engine::OpenAi(o) => o.speak(text, voice, &part.path, limit, cancel).await,
            Engine::Off => Err(TtsError::Failed {
                detail: "speech is off ([tts] engine = \"none\")".into(),
            }),
        };
        let result = match spoken {
            Ok(clip) => part.commit(out).await.map(|()| clip),
            Err(e) => Err(e),
        };
        if result.is_err() {
            // The engine has stopped by now: nothing writes these files any more.
            remove_quietly(&part_path(out)).await;
            remove_quietly(out).await;
        }
        result
    }
}

/// How long an engine may take for one clip.
#[derive(Debug, Clone, Copy)]
struct Limit {
    time: Duration,
    /// The same, for messages.
    secs: u64,
}

impl Limit {
    fn exceeded(self) -> TtsError {
        TtsError::TimedOut { secs: self.secs }
    }
}

/// `out` with `.part` appended to its name: where a clip is written before it is whole.
fn part_path(out: &Path) -> PathBuf {
    let mut name = OsString::from(out.as_os_str());
    name.push(".part");
    PathBuf::from(name)
}

/// The `.part` file of a clip being written. Removed when dropped before [`commit`]: a
/// speech future dropped half-way (its job aborted) leaves nothing behind either.
///
/// [`commit`]: PartFile::commit
struct PartFile {
    path: PathBuf,
    committed: bool,
}

impl PartFile {
    fn new(out: &Path) -> PartFile {
        PartFile {
            path: part_path(out),
            committed: false,
        }
    }

    /// Renames the finished `.part` to `out`.
    async fn commit(mut self, out: &Path) -> Result<(), TtsError> {
        tokio::fs::rename(&self.path, out)
            .await
            .map_err(|e| io_error(out, &e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.committed {
            // One unlink; no need to leave the async world for it.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn remove_quietly(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a speech clip");
        }
    }
}

/// An [`TtsError::Io`] naming the file.
fn io_error(path: &Path, e: &std::io::Error) -> TtsError {
    TtsError::Io {
        detail: format!("{}: {e}", path.display()),
    }
}

/// The last `max` characters of `text`, trimmed, with an ellipsis when cut.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let skip = count - max + 1;
    let at = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
    format!("…{}", &text[at..])
}

/// The first `max` characters of `text`, trimmed, with an ellipsis when cut.
fn head(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The names of the files in `dir`, sorted (for the engines' tests: nothing left behind).
#[cfg(test)]
pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::localizer;

    #[test]
    fn heads_and_tails_are_cut_on_characters() {
        assert_eq!(tail("  short \n", 10), "short");
        let t = tail("ééééé abcdef", 5);
        assert_eq!(t, "…cdef");
        assert_eq!(t.chars().count(), 5);
        assert_eq!(head("ééééé abcdef", 3), "ééé…");
        assert_eq!(head("abc", 3), "abc");
    }

    #[test]
    fn the_engine_in_use_gives_the_voices() {
        let http = reqwest::Client::new();
        let mut config = TtsConfig::default();
        let espeak = Speech::new(&config, http.clone());
        assert_eq!(espeak.engine(), "espeak-ng");
        assert!(espeak.speaks());
        assert_eq!(espeak.voices(Lang::FrFr), config.voices_fr.as_slice());
        config.engine = "openai".into();
        let openai = Speech::new(&config, http.clone());
        assert_eq!(openai.engine(), "openai");
        assert_eq!(
            openai.voices(Lang::EnUs),
            config.openai_voices_en.as_slice()
        );
        config.engine = "none".into();
        let none = Speech::new(&config, http);
        assert_eq!(none.engine(), "none");
        assert!(!none.speaks());
        assert!(none.voices(Lang::EnUs).is_empty());
        config.parallel = 3;
        assert_eq!(Speech::new(&config, reqwest::Client::new()).parallel(), 3);
        config.parallel = 0;
        assert!(Speech::new(&config, reqwest::Client::new()).parallel() >= 1);
    }

    #[tokio::test]
    async fn none_checks_but_does_not_speak() {
        let config = TtsConfig {
            engine: "none".into(),
            ..TtsConfig::default()
        };
        let none = Speech::new(&config, reqwest::Client::new());
        assert_eq!(none.check().await, Ok(()));
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("clip.wav");
        let e = none
            .speak("Hello.", "x", &out, &CancellationToken::new())
            .await
            .expect_err("speech is off");
        assert!(matches!(e, TtsError::Failed { .. }), "{e:?}");
        assert!(!e.is_transient());
        assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());
    }

    #[test]
    fn every_error_reads_in_both_languages() {
        let errors = [
            TtsError::Missing {
                program: "espeak-ng".into(),
            },
            TtsError::Failed {
                detail: "exit status: 3: boom".into(),
            },
            TtsError::Exited {
                program: "espeak-ng".into(),
                code: Some(3),
                signal: None,
                stderr: "boom".into(),
            },
            TtsError::Exited {
                program: "espeak-ng".into(),
                code: None,
                signal: Some(9),
                stderr: String::new(),
            },
            TtsError::TimedOut { secs: 7 },
            TtsError::BadAudio {
                detail: "not a WAV file".into(),
            },
            TtsError::Unreachable {
                detail: "http://127.0.0.1:1/v1/audio/speech: connection refused".into(),
            },
            TtsError::Io {
                detail: "/x/clip.wav: No space left on device".into(),
            },
            TtsError::Cancelled,
        ];
        for lang in Lang::ALL {
            let l = localizer(lang);
            for e in &errors {
                let text = e.localize(l);
                assert!(!text.starts_with("tts-"), "{}: {text}", lang.tag());
                match e {
                    TtsError::Missing { .. } => {
                        assert!(text.contains("espeak-ng"), "{text}");
                        assert!(text.contains("apt-get install espeak-ng"), "{text}");
                    }
                    TtsError::TimedOut { .. } => assert!(text.contains('7'), "{text}"),
                    TtsError::Exited { code, signal, .. } => {
                        assert!(text.contains("`espeak-ng`"), "{text}");
                        let number = code.or(*signal).unwrap_or_default().to_string();
                        assert!(text.contains(&number), "{text}");
                        assert!(!text.contains("exit status"), "{text}");
                    }
                    TtsError::Failed { detail }
                    | TtsError::BadAudio { detail }
                    | TtsError::Unreachable { detail }
                    | TtsError::Io { detail } => assert!(text.contains(detail.as_str()), "{text}"),
                    TtsError::Cancelled => {}
                }
            }
        }
        let transient: Vec<bool> = errors.iter().map(TtsError::is_transient).collect();
        assert_eq!(
            transient,
            [false, false, false, false, true, false, true, true, false]
        );
    }
}
