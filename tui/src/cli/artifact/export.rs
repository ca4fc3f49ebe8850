//! `mentor artifacts export`: copies a ready artifact to a path the learner chose — a
//! podcast's WAV or its transcript as Markdown, a quiz as JSON or Markdown, a study guide as
//! Markdown.
//!
//! The file is written next to its destination under a temporary name, synced, then moved
//! into place, so the destination is never left half-written. Without `--force` an existing
//! file is refused, and the final move cannot replace one that appeared meanwhile (it is a
//! hard link, which fails when the name is taken).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use clap::ValueEnum;
use mentor_shared::artifacts::{Podcast, Quiz, StudyGuide};
use mentor_shared::i18n::{localizer, Lang, Localizer};
use mentor_shared::jobs::{Artifact, JobKind};
use mentor_shared::t;

use super::super::quiz::letter;
use super::content::ready;
use super::problem::Problem;
use crate::error::CliError;

/// A file format an artifact can be exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A podcast's sound.
    Wav,
    /// Markdown: a transcript, a quiz with its answers, a study guide.
    Md,
    /// A quiz as JSON.
    Json,
}

impl Format {
    /// The name typed after `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Md => "md",
            Format::Json => "json",
        }
    }
}

/// The formats a kind can be exported as, the default first. A transcript-only podcast has no
/// WAV, so its default is Markdown.
pub fn formats(kind: JobKind, has_audio: bool) -> &'static [Format] {
    match kind {
        JobKind::Podcast if has_audio => &[Format::Wav, Format::Md],
        JobKind::Podcast => &[Format::Md, Format::Wav],
        JobKind::Quiz => &[Format::Json, Format::Md],
        JobKind::StudyGuide => &[Format::Md],
        JobKind::Test => &[],
    }
}

/// The format to write: the one asked for if the kind has it, else the kind's default.
pub fn choose(
    kind: JobKind,
    has_audio: bool,
    requested: Option<Format>,
) -> Result<Format, Problem> {
    let available = formats(kind, has_audio);
    let Some(&default) = available.first() else {
        return Err(Problem::NotExportable {
            kind: kind.as_str().into(),
        });
    };
    match requested {
        None => Ok(default),
        Some(f) if available.contains(&f) => Ok(f),
        Some(f) => Err(Problem::FormatUnavailable {
            kind: kind.as_str().into(),
            format: f.name().into(),
            available: available
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A copy of this file.
    Copy(PathBuf),
    /// These bytes.
    Bytes(Vec<u8>),
}

/// What exporting `a` as `requested` (or its default) writes, and the format chosen.
pub fn payload(a: &Artifact, requested: Option<Format>) -> Result<(Format, Payload), CliError> {
    let text = |s: String| Payload::Bytes(s.into_bytes());
    match a.kind {
        JobKind::Podcast => {
            let p: Podcast = ready(a, JobKind::Podcast)?;
            let format = choose(a.kind, p.audio.is_some(), requested)?;
            let payload = match (format, &p.audio) {
                (Format::Wav, Some(audio)) => Payload::Copy(PathBuf::from(&audio.path)),
                (Format::Wav, None) => {
                    return Err(Problem::TranscriptOnly {
                        artifact: a.id.to_string(),
                    }
                    .into())
                }
                _ => text(podcast_markdown(&p)),
            };
            Ok((format, payload))
        }
        JobKind::Quiz => {
            let q: Quiz = ready(a, JobKind::Quiz)?;
            let format = choose(a.kind, false, requested)?;
            let payload = match format {
                Format::Md => text(quiz_markdown(content_localizer(&q.language), &q)),
                _ => {
                    let json =
                        serde_json::to_string_pretty(&q).map_err(|e| Problem::Unreadable {
                            artifact: a.id.to_string(),
                            reason: e.to_string(),
                        })?;
                    text(json + "\n")
                }
            };
            Ok((format, payload))
        }
        JobKind::StudyGuide => {
            let g: StudyGuide = ready(a, JobKind::StudyGuide)?;
            let format = choose(a.kind, false, requested)?;
            Ok((format, text(guide_markdown(&g))))
        }
        JobKind::Test => Err(Problem::NotExportable {
            kind: a.kind.as_str().into(),
        }
        .into()),
    }
}

/// The words of an export in the content's own language (a French quiz gets French labels
/// whatever the interface speaks).
fn content_localizer(language: &str) -> &'static Localizer {
    localizer(Lang::from_tag(language).unwrap_or(Lang::EnUs))
}

/// Ends text with exactly one newline.
fn one_final_newline(mut s: String) -> String {
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
    s.push('\n');
    s
}

/// Puts `# title` on top of Markdown that has no heading of its own.
fn titled(title: &str, markdown: &str) -> String {
    if markdown.trim_start().starts_with("# ") || title.trim().is_empty() {
        one_final_newline(markdown.trim_start().to_string())
    } else {
        one_final_newline(format!("# {}\n\n{}", title.trim(), markdown.trim_start()))
    }
}

/// A podcast's transcript as Markdown (the generator's, else made from its turns).
pub fn podcast_markdown(p: &Podcast) -> String {
    if !p.transcript.trim().is_empty() {
        return titled(&p.title, &p.transcript);
    }
    let turns: Vec<String> = p
        .turns
        .iter()
        .map(|turn| format!("**{}:** {}", turn.speaker.trim(), turn.text.trim()))
        .collect();
    titled(&p.title, &turns.join("\n\n"))
}

/// A quiz as Markdown: each question with its options, then its answer, why, and source.
pub fn quiz_markdown(l: &Localizer, q: &Quiz) -> String {
    let mut out = format!("# {}\n", q.title.trim());
    for (i, question) in q.questions.iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", i + 1, question.question.trim()));
        for (j, option) in question.options.iter().enumerate() {
            out.push_str(&format!("- {}. {}\n", letter(j), option.trim()));
        }
        let right = question
            .options
            .get(question.answer)
            .map(|o| format!("{}. {}", letter(question.answer), o.trim()))
            .unwrap_or_else(|| letter(question.answer).to_string());
        out.push_str(&format!("\n{}\n", t!(l, "quiz-answer-is", option = right)));
        if !question.explanation.trim().is_empty() {
            out.push_str(&format!(
                "\n{}\n",
                t!(l, "quiz-why", explanation = question.explanation.trim())
            ));
        }
        if let Some(source) = &question.source {
            out.push_str(&format!(
                "\n{}\n",
                t!(l, "quiz-source", title = source.title.as_str())
            ));
        }
    }
    out
}

/// A study guide's Markdown, titled.
pub fn guide_markdown(g: &StudyGuide) -> String {
    titled(&g.title, &g.markdown)
}

/// Makes temporary names unique within this process.
static NEXT_TEMP: AtomicU32 = AtomicU32::new(0);

/// Writes `payload` to `dest` (see the module's comment); returns the bytes written.
pub fn write(dest: &Path, payload: &Payload, force: bool) -> Result<u64, Problem> {
    let shown = dest.display().to_string();
    if dest.is_dir() {
        return Err(Problem::DestinationIsDirectory { path: shown });
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Problem::DestinationMissing {
            dir: dir.display().to_string(),
        });
    }
    let Some(name) = dest.file_name() else {
        return Err(Problem::DestinationIsDirectory { path: shown });
    };
    if !force && fs::symlink_metadata(dest).is_ok() {
        return Err(Problem::FileExists { path: shown });
    }
    // Open the source first: a missing sound file must not leave a temporary file behind.
    let source = match payload {
        Payload::Copy(from) => Some(File::open(from).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Problem::AudioMissing {
                    path: from.display().to_string(),
                }
            } else {
                Problem::Write {
                    path: from.display().to_string(),
                    reason: e.to_string(),
                }
            }
        })?),
        Payload::Bytes(_) => None,
    };
    let temp = dir.join(format!(
        ".{}.{}-{}.part",
        name.to_string_lossy(),
        std::process::id(),
        NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
    ));
    let failed = |e: io::Error| Problem::Write {
        path: shown.clone(),
        reason: e.to_string(),
    };
    let written = (|| -> io::Result<u64> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let n = match (payload, source) {
            (Payload::Copy(_), Some(mut from)) => io::copy(&mut from, &mut file)?,
            (Payload::Bytes(bytes), _) => {
                file.write_all(bytes)?;
                bytes.len() as u64
            }
            (Payload::Copy(_), None) => 0,
        };
        file.sync_all()?;
        Ok(n)
    })();
    let bytes = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(failed(e));
        }
    };
    let placed = if force {
        fs::rename(&temp, dest).map_err(failed)
    } else {
        place_without_replacing(&temp, dest).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Problem::FileExists {
                    path: shown.clone(),
                }
            } else {
                failed(e)
            }
        })
    };
    if placed.is_err() {
        let _ = fs::remove_file(&temp);
    }
    placed.map(|()| bytes)
}

/// Moves `temp` to `dest` unless `dest` exists: a hard link refuses a taken name atomically;
/// where links are not supported, a check then a rename does nearly as well.
fn place_without_replacing(temp: &Path, dest: &Path) -> io::Result<()> {
    match fs::hard_link(temp, dest) {
        Ok(()) => fs::remove_file(temp),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if fs::symlink_metadata(dest).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            fs::rename(temp, dest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::content::samples::*;
    use super::*;
    use mentor_shared::jobs::ArtifactStatus;

    #[test]
    fn each_kind_has_its_formats_and_default() {
        use Format::*;
        assert_eq!(choose(JobKind::Podcast, true, None), Ok(Wav));
        assert_eq!(choose(JobKind::Podcast, false, None), Ok(Md));
        assert_eq!(choose(JobKind::Podcast, true, Some(Md)), Ok(Md));
        assert_eq!(choose(JobKind::Quiz, false, None), Ok(Json));
        assert_eq!(choose(JobKind::Quiz, false, Some(Md)), Ok(Md));
        assert_eq!(choose(JobKind::StudyGuide, false, None), Ok(Md));
        assert_eq!(
            choose(JobKind::Quiz, false, Some(Wav)),
            Err(Problem::FormatUnavailable {
                kind: "quiz".into(),
                format: "wav".into(),
                available: "json, md".into(),
            })
        );
        assert!(choose(JobKind::StudyGuide, false, Some(Json)).is_err());
        assert!(choose(JobKind::Podcast, true, Some(Json)).is_err());
        assert_eq!(
            choose(JobKind::Test, false, None),
            Err(Problem::NotExportable {
                kind: "test".into()
            })
        );
    }

    #[test]
    fn payloads_follow_the_format() {
        let a = ready_with(JobKind::Podcast, &podcast(Some("/data/p.wav")));
        let (format, wav) = payload(&a, None).expect("wav");
        assert_eq!(format, Format::Wav);
        assert_eq!(wav, Payload::Copy(PathBuf::from("/data/p.wav")));

        let a = ready_with(JobKind::Podcast, &podcast(None));
        let (format, Payload::Bytes(md)) = payload(&a, None).expect("md") else {
            panic!("a transcript is text");
        };
        assert_eq!(format, Format::Md);
        let md = String::from_utf8(md).expect("utf-8");
        assert!(
            md.starts_with("# How leaves eat light\n\n**Alex:** Why"),
            "{md}"
        );

        let a = ready_with(JobKind::Quiz, &quiz());
        let (_, Payload::Bytes(json)) = payload(&a, None).expect("json") else {
            panic!("JSON is text");
        };
        let back: Quiz = serde_json::from_slice(&json).expect("the quiz itself");
        assert_eq!(back, quiz());

        let a = artifact(JobKind::Quiz, ArtifactStatus::Failed, None);
        assert!(
            payload(&a, None).is_err(),
            "a failed quiz has nothing to export"
        );
    }

    #[test]
    fn quiz_markdown_has_answers_in_the_quiz_language() {
        let md = quiz_markdown(content_localizer("en-US"), &quiz());
        for expected in [
            "# Light and leaves\n",
            "## 1. What colour does chlorophyll reflect?\n\n- A. Red\n- B. Green\n",
            "Answer: B. Green",
            "Why: It absorbs red and blue",
            "Source: photosynthesis.txt",
            "## 2. Where does photosynthesis happen?",
            "Answer: D. Chloroplast",
        ] {
            assert!(md.contains(expected), "{expected}: {md}");
        }
        let fr = quiz_markdown(content_localizer("fr-FR"), &quiz());
        assert!(fr.contains("Réponse : B. Green"), "{fr}");
    }

    #[test]
    fn guides_get_a_title_only_when_they_lack_one() {
        let mut g = guide();
        assert_eq!(
            guide_markdown(&g),
            "# Photosynthesis\n\n## Key concepts\n\n- Light becomes sugar.\n"
        );
        g.markdown = "## Key concepts\n".into();
        assert_eq!(guide_markdown(&g), "# Photosynthesis\n\n## Key concepts\n");
    }

    #[test]
    fn writing_refuses_to_overwrite_without_force_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("quiz.json");
        let bytes = |s: &str| Payload::Bytes(s.as_bytes().to_vec());
        assert_eq!(write(&dest, &bytes("one"), false), Ok(3));
        assert_eq!(fs::read_to_string(&dest).ok().as_deref(), Some("one"));
        assert!(matches!(
            write(&dest, &bytes("two"), false),
            Err(Problem::FileExists { .. })
        ));
        assert_eq!(fs::read_to_string(&dest).ok().as_deref(), Some("one"));
        assert_eq!(write(&dest, &bytes("three"), true), Ok(5));
        assert_eq!(fs::read_to_string(&dest).ok().as_deref(), Some("three"));

        let source = dir.path().join("p.wav");
        fs::write(&source, b"RIFF....WAVE").expect("wav");
        let copy = dir.path().join("copy.wav");
        assert_eq!(write(&copy, &Payload::Copy(source.clone()), false), Ok(12));
        assert_eq!(fs::read(&copy).ok(), fs::read(&source).ok());

        let gone = write(
            &dir.path().join("x.wav"),
            &Payload::Copy(dir.path().join("missing.wav")),
            false,
        );
        assert!(
            matches!(gone, Err(Problem::AudioMissing { .. })),
            "{gone:?}"
        );
        assert!(matches!(
            write(dir.path(), &bytes("x"), true),
            Err(Problem::DestinationIsDirectory { .. })
        ));
        assert!(matches!(
            write(&dir.path().join("no/such/dir/q.json"), &bytes("x"), false),
            Err(Problem::DestinationMissing { .. })
        ));
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.ends_with(".part")),
            "temporary files left: {names:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_directory_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).expect("mkdir");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).expect("chmod");
        // Root writes anyway; the refusal can only be seen as someone else.
        if fs::write(locked.join("probe"), b"").is_ok() {
            return;
        }
        let r = write(
            &locked.join("q.json"),
            &Payload::Bytes(b"x".to_vec()),
            false,
        );
        assert!(matches!(r, Err(Problem::Write { .. })), "{r:?}");
    }
}
