//! What the generators make: the content an artifact holds once ready (its `data`, by kind),
//! and the learner's quiz attempts.
//!
//! A failed artifact may hold a [`Partial`] instead: what its job made before failing (a
//! podcast whose speech failed keeps its outline and transcript).

use serde::{Deserialize, Serialize};

use crate::ids::ArtifactId;
use crate::jobs::{Difficulty, PodcastFormat};
use crate::time::Timestamp;

/// A source an artifact draws on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    /// Source id (`src:…`).
    pub id: String,
    /// Its title.
    pub title: String,
}

/// A podcast's plan: a title and its segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outline {
    /// The episode's title.
    pub title: String,
    /// The segments, in order.
    pub segments: Vec<OutlineSegment>,
}

/// One segment of a podcast's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlineSegment {
    /// What the segment is about.
    pub title: String,
    /// The points it makes.
    pub points: Vec<String>,
}

impl Outline {
    /// The outline as Markdown (a numbered list of segments with their points).
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title.trim());
        for (i, segment) in self.segments.iter().enumerate() {
            out.push_str(&format!("\n{}. {}\n", i + 1, segment.title.trim()));
            for point in &segment.points {
                out.push_str(&format!("   - {}\n", point.trim()));
            }
        }
        out
    }
}

/// One turn of a podcast's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Who speaks (one of the hosts' names).
    pub speaker: String,
    /// What they say.
    pub text: String,
}

/// A podcast's sound file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audio {
    /// Absolute path of the WAV file (under the daemon's data directory).
    pub path: String,
    /// Length in milliseconds.
    pub duration_ms: u64,
    /// Samples per second.
    pub sample_rate: u32,
    /// The speech engine that spoke it (`espeak-ng`, `openai`).
    pub engine: String,
    /// The voice of each speaker, in the order of [`Podcast::speakers`].
    pub voices: Vec<String>,
}

/// A ready podcast (`kind = podcast`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Podcast {
    /// The episode's title.
    pub title: String,
    /// Two hosts or one speaker.
    pub format: PodcastFormat,
    /// The language it speaks (`en-US`, `fr-FR`).
    pub language: String,
    /// The speakers' names, in voice order.
    pub speakers: Vec<String>,
    /// Its plan.
    pub outline: Outline,
    /// The conversation.
    pub turns: Vec<Turn>,
    /// The transcript as Markdown, speakers' names in bold.
    pub transcript: String,
    /// The sound; `None` when the speech engine is `none` (a transcript-only podcast).
    pub audio: Option<Audio>,
    /// The sources it draws on.
    pub sources: Vec<SourceRef>,
}

/// One question of a quiz.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The question.
    pub question: String,
    /// Exactly four options.
    pub options: Vec<String>,
    /// The index (0–3) of the correct option.
    pub answer: usize,
    /// Why that answer is right.
    pub explanation: String,
    /// The source it comes from (`None`: general knowledge, when the notebook has no sources).
    pub source: Option<SourceRef>,
}

/// A ready quiz (`kind = quiz`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quiz {
    /// Its title.
    pub title: String,
    /// How hard it is.
    pub difficulty: Difficulty,
    /// The language it is written in.
    pub language: String,
    /// The questions, in order.
    pub questions: Vec<Question>,
}

/// A ready study guide (`kind = study_guide`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyGuide {
    /// Its title.
    pub title: String,
    /// The language it is written in.
    pub language: String,
    /// The guide: key concepts, glossary, questions to think about, sources cited.
    pub markdown: String,
    /// The sources it cites.
    pub sources: Vec<SourceRef>,
}

/// What a failed generator made before it failed (the data of a failed artifact).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// The outline, as Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outline: Option<String>,
    /// The transcript, as Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
}

/// One time the learner took a quiz.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizAttempt {
    /// Sequence number among this quiz's attempts (1 for the first).
    pub number: u32,
    /// The quiz.
    pub artifact_id: ArtifactId,
    /// The option chosen for each question (0–3), in order.
    pub answers: Vec<usize>,
    /// Correct answers.
    pub score: u32,
    /// Questions.
    pub total: u32,
    /// When it was saved.
    pub created: Timestamp,
}
