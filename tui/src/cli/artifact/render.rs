//! `mentor artifacts show` for people: the artifact's fields, then its content drawn by kind —
//! a podcast's transcript, a quiz's questions, a study guide's Markdown — or what a failed job
//! kept, or where to follow one still being made. Pure: the command prints what this returns.

use std::io::IsTerminal;
use std::time::Duration;

use mentor_shared::artifacts::{Partial, Podcast, Quiz, StudyGuide};
use mentor_shared::i18n::Localizer;
use mentor_shared::jobs::{Artifact, ArtifactStatus, Difficulty};
use mentor_shared::t;
use mentor_shared::time::format_duration;

use super::super::jobs::{kind_name, when};
use super::super::quiz::letter;
use super::content::Content;
use super::status_name;

/// How to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Speakers' names in bold (a terminal, and `NO_COLOR` unset).
    pub bold: bool,
    /// Reveal a quiz's answers.
    pub answers: bool,
}

impl Style {
    /// The style for stdout as it is now.
    pub fn for_stdout(answers: bool) -> Style {
        Style {
            bold: std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            answers,
        }
    }
}

/// What `show` prints: aligned fields, then the body's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// `label  value` pairs.
    pub fields: Vec<(String, String)>,
    /// Lines after a blank one.
    pub body: Vec<String>,
}

/// Draws an artifact; `failure` is its job's error message, when it failed.
pub fn show(l: &Localizer, a: &Artifact, failure: Option<&str>, style: Style) -> Shown {
    let mut shown = Shown {
        fields: fields(l, a),
        body: Vec::new(),
    };
    let content = Content::of(a);
    match a.status {
        ArtifactStatus::Generating => {
            let job = a.job_id.to_string();
            shown
                .body
                .push(t!(l, "artifact-show-generating", job = job.as_str()));
            return shown;
        }
        ArtifactStatus::Failed => {
            shown.body.push(match failure.map(str::trim) {
                Some(reason) if !reason.is_empty() => {
                    t!(l, "artifact-show-failed", reason = reason)
                }
                _ => t!(l, "artifact-show-failed-no-reason"),
            });
        }
        ArtifactStatus::Cancelled => shown.body.push(t!(l, "artifact-show-cancelled")),
        ArtifactStatus::Ready => {}
    }
    match content {
        Content::Podcast(p) => podcast(l, &p, style, &mut shown),
        Content::Quiz(q) => quiz(l, a, &q, style, &mut shown),
        Content::StudyGuide(g) => guide(&g, &mut shown),
        Content::Partial(p) => partial(l, &p, &mut shown.body),
        Content::Other(data) => {
            shown.body.push(t!(l, "artifact-show-content"));
            let text = serde_json::to_string_pretty(&data).unwrap_or_else(|_| data.to_string());
            shown
                .body
                .extend(text.lines().map(|line| format!("  {line}")));
        }
        Content::Empty if a.status == ArtifactStatus::Ready => {
            shown.body.push(t!(l, "artifact-show-no-content"));
        }
        Content::Empty => {}
    }
    if matches!(a.status, ArtifactStatus::Failed | ArtifactStatus::Cancelled) {
        let job = a.job_id.to_string();
        shown
            .body
            .push(t!(l, "artifact-show-retry", job = job.as_str()));
    }
    shown
}

/// The fields every artifact has.
pub fn fields(l: &Localizer, a: &Artifact) -> Vec<(String, String)> {
    vec![
        (t!(l, "jobs-show-id"), a.id.to_string()),
        (t!(l, "jobs-show-kind"), kind_name(l, a.kind)),
        (t!(l, "jobs-show-status"), status_name(l, a.status)),
        (t!(l, "artifact-show-title"), a.title.clone()),
        (t!(l, "jobs-show-notebook"), a.notebook_id.to_string()),
        (t!(l, "artifact-show-job"), a.job_id.to_string()),
        (t!(l, "jobs-show-created"), when(l, a.created)),
        (t!(l, "jobs-show-updated"), when(l, a.updated)),
    ]
}

/// Replaces the Title field's value with the content's own title.
fn retitle(shown: &mut Shown, l: &Localizer, title: &str) {
    let label = t!(l, "artifact-show-title");
    if let Some(field) = shown.fields.iter_mut().find(|(k, _)| *k == label) {
        if !title.trim().is_empty() {
            field.1 = title.trim().to_string();
        }
    }
}

/// A podcast's length for people (`3m 05s`).
pub fn duration(ms: u64) -> String {
    format_duration(Duration::from_millis(ms))
}

fn podcast(l: &Localizer, p: &Podcast, style: Style, shown: &mut Shown) {
    retitle(shown, l, &p.title);
    match &p.audio {
        Some(audio) => {
            shown
                .fields
                .push((t!(l, "podcast-show-duration"), duration(audio.duration_ms)));
            shown
                .fields
                .push((t!(l, "podcast-show-audio"), audio.path.clone()));
        }
        None => shown.fields.push((
            t!(l, "podcast-show-audio"),
            t!(l, "podcast-show-transcript-only"),
        )),
    }
    if !p.speakers.is_empty() {
        shown
            .fields
            .push((t!(l, "podcast-show-speakers"), p.speakers.join(", ")));
    }
    shown.body.push(t!(l, "podcast-show-transcript"));
    shown.body.extend(transcript(p, style.bold));
    sources(
        l,
        p.sources.iter().map(|s| s.title.as_str()),
        &mut shown.body,
    );
}

/// A podcast's conversation, one line per turn, the speaker's name first (in bold when
/// asked); its Markdown transcript when it has no turns.
pub fn transcript(p: &Podcast, bold: bool) -> Vec<String> {
    if p.turns.is_empty() {
        return p.transcript.lines().map(str::to_string).collect();
    }
    p.turns
        .iter()
        .map(|turn| {
            let name = format!("{}:", turn.speaker.trim());
            if bold {
                format!("\x1b[1m{name}\x1b[0m {}", turn.text.trim())
            } else {
                format!("{name} {}", turn.text.trim())
            }
        })
        .collect()
}

fn sources<'a>(l: &Localizer, titles: impl Iterator<Item = &'a str>, body: &mut Vec<String>) {
    let titles: Vec<&str> = titles.collect();
    if titles.is_empty() {
        return;
    }
    body.push(String::new());
    body.push(t!(l, "artifact-show-sources"));
    body.extend(titles.iter().map(|t| format!("  - {t}")));
}

/// A difficulty in the reader's language.
pub fn difficulty_name(l: &Localizer, d: Difficulty) -> String {
    match d {
        Difficulty::Easy => t!(l, "quiz-difficulty-easy"),
        Difficulty::Medium => t!(l, "quiz-difficulty-medium"),
        Difficulty::Hard => t!(l, "quiz-difficulty-hard"),
    }
}

fn quiz(l: &Localizer, a: &Artifact, q: &Quiz, style: Style, shown: &mut Shown) {
    retitle(shown, l, &q.title);
    shown.fields.push((
        t!(l, "quiz-show-difficulty"),
        difficulty_name(l, q.difficulty),
    ));
    shown
        .fields
        .push((t!(l, "quiz-show-questions"), q.questions.len().to_string()));
    for (i, question) in q.questions.iter().enumerate() {
        if i > 0 {
            shown.body.push(String::new());
        }
        shown
            .body
            .push(format!("{}. {}", i + 1, question.question.trim()));
        for (j, option) in question.options.iter().enumerate() {
            shown
                .body
                .push(format!("   {}. {}", letter(j), option.trim()));
        }
        if style.answers {
            let right = question
                .options
                .get(question.answer)
                .map(|o| format!("{}. {}", letter(question.answer), o.trim()))
                .unwrap_or_else(|| letter(question.answer).to_string());
            shown
                .body
                .push(format!("   {}", t!(l, "quiz-answer-is", option = right)));
            if !question.explanation.trim().is_empty() {
                shown.body.push(format!(
                    "   {}",
                    t!(l, "quiz-why", explanation = question.explanation.trim())
                ));
            }
            if let Some(source) = &question.source {
                shown.body.push(format!(
                    "   {}",
                    t!(l, "quiz-source", title = source.title.as_str())
                ));
            }
        }
    }
    shown.body.push(String::new());
    let id = a.id.to_string();
    shown
        .body
        .push(t!(l, "quiz-show-take-hint", artifact = id.as_str()));
    if !style.answers {
        shown.body.push(t!(l, "quiz-show-answers-hint"));
    }
}

fn guide(g: &StudyGuide, shown: &mut Shown) {
    shown.body.extend(g.markdown.lines().map(str::to_string));
}

fn partial(l: &Localizer, p: &Partial, body: &mut Vec<String>) {
    let sections = [
        (&p.outline, "artifact-show-partial-outline"),
        (&p.transcript, "artifact-show-partial-transcript"),
    ];
    for (text, heading) in sections {
        let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        body.push(String::new());
        body.push(l.text(heading, None));
        body.extend(text.lines().map(|line| format!("  {line}")));
    }
    body.push(String::new());
}

#[cfg(test)]
mod tests {
    use super::super::content::samples::{self, artifact, ready_with};
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::jobs::JobKind;

    fn en() -> &'static Localizer {
        localizer(Lang::EnUs)
    }

    fn field<'a>(shown: &'a Shown, label: &str) -> Option<&'a str> {
        shown
            .fields
            .iter()
            .find(|(k, _)| k == label)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_podcast_shows_its_length_sound_file_and_transcript() {
        let a = ready_with(
            JobKind::Podcast,
            &samples::podcast(Some("/data/artifacts/p.wav")),
        );
        let shown = show(en(), &a, None, Style::default());
        assert_eq!(field(&shown, "Title"), Some("How leaves eat light"));
        assert_eq!(field(&shown, "Duration"), Some("3m 05s"));
        assert_eq!(field(&shown, "Audio"), Some("/data/artifacts/p.wav"));
        assert_eq!(field(&shown, "Speakers"), Some("Alex, Sam"));
        let body = shown.body.join("\n");
        assert!(
            body.contains("Alex: Why are leaves green?\nSam: Chlorophyll reflects green light."),
            "{body}"
        );
        assert!(body.contains("  - photosynthesis.txt"), "{body}");
        assert!(!body.contains('\x1b'), "no styling unless asked: {body}");
        let bold = show(
            en(),
            &a,
            None,
            Style {
                bold: true,
                answers: false,
            },
        );
        assert!(
            bold.body
                .contains(&"\x1b[1mAlex:\x1b[0m Why are leaves green?".to_string()),
            "{:?}",
            bold.body
        );
    }

    #[test]
    fn a_transcript_only_podcast_says_so() {
        let a = ready_with(JobKind::Podcast, &samples::podcast(None));
        let shown = show(en(), &a, None, Style::default());
        let audio = field(&shown, "Audio").unwrap_or_default();
        assert!(audio.contains("transcript only"), "{audio}");
        assert_eq!(field(&shown, "Duration"), None);
        assert!(shown
            .body
            .iter()
            .any(|l| l == "Sam: Chlorophyll reflects green light."));
        let fr = show(localizer(Lang::FrFr), &a, None, Style::default());
        assert!(
            fr.fields
                .iter()
                .any(|(_, v)| v.contains("transcription seule")),
            "{:?}",
            fr.fields
        );
    }

    #[test]
    fn a_quiz_hides_its_answers_unless_asked() {
        let a = ready_with(JobKind::Quiz, &samples::quiz());
        let shown = show(en(), &a, None, Style::default());
        let body = shown.body.join("\n");
        assert!(body.starts_with("1. What colour does chlorophyll reflect?\n   A. Red\n   B. Green\n   C. Blue\n   D. Violet\n\n2. "), "{body}");
        assert!(!body.contains("Answer:"), "{body}");
        assert!(!body.contains("reflects green."), "no explanation: {body}");
        assert!(
            body.contains(&format!("mentor quiz take {}", a.id)),
            "{body}"
        );
        assert!(body.contains("--answers"), "{body}");
        assert_eq!(field(&shown, "Questions"), Some("2"));
        assert_eq!(field(&shown, "Difficulty"), Some("easy"));

        let revealed = show(
            en(),
            &a,
            None,
            Style {
                bold: false,
                answers: true,
            },
        );
        let body = revealed.body.join("\n");
        for expected in [
            "   Answer: B. Green",
            "   Why: It absorbs red and blue, and reflects green.",
            "   Source: photosynthesis.txt",
            "   Answer: D. Chloroplast",
        ] {
            assert!(body.contains(expected), "{expected}: {body}");
        }
    }

    #[test]
    fn a_study_guide_is_its_markdown() {
        let a = ready_with(JobKind::StudyGuide, &samples::guide());
        let shown = show(en(), &a, None, Style::default());
        assert_eq!(
            shown.body,
            [
                "# Photosynthesis",
                "",
                "## Key concepts",
                "",
                "- Light becomes sugar."
            ]
        );
    }

    #[test]
    fn a_failed_podcast_shows_why_and_what_it_kept() {
        let partial = serde_json::json!({
            "outline": "# Plan\n1. Chlorophyll",
            "transcript": "**Alex:** Hello",
        });
        let a = artifact(JobKind::Podcast, ArtifactStatus::Failed, Some(partial));
        let shown = show(
            en(),
            &a,
            Some("espeak-ng is not installed"),
            Style::default(),
        );
        let body = shown.body.join("\n");
        assert!(body.contains("espeak-ng is not installed"), "{body}");
        assert!(body.contains("Outline made before"), "{body}");
        assert!(body.contains("  # Plan\n  1. Chlorophyll"), "{body}");
        assert!(body.contains("  **Alex:** Hello"), "{body}");
        assert!(
            body.contains(&format!("mentor jobs retry {}", a.job_id)),
            "{body}"
        );
        // Without the job's reason, and without anything kept.
        let bare = artifact(JobKind::Quiz, ArtifactStatus::Failed, None);
        let shown = show(en(), &bare, None, Style::default());
        assert!(!shown.body.is_empty());
        assert!(!shown.body.join("\n").contains("Outline"));
    }

    #[test]
    fn a_generating_artifact_names_the_job_to_watch() {
        let a = artifact(JobKind::Quiz, ArtifactStatus::Generating, None);
        let shown = show(en(), &a, None, Style::default());
        assert_eq!(
            shown.body,
            [format!(
                "Still being made: follow it with `mentor jobs watch {}`.",
                a.job_id
            )]
        );
    }

    #[test]
    fn unknown_shapes_fall_back_to_json() {
        let a = ready_with(JobKind::Quiz, &serde_json::json!({"questions": "soon"}));
        let shown = show(en(), &a, None, Style::default());
        assert_eq!(shown.body[0], "Content:");
        assert!(shown
            .body
            .iter()
            .any(|l| l.contains("\"questions\": \"soon\"")));
    }
}
