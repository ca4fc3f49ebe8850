//! What an artifact's `data` holds, read by its kind and status: a podcast, a quiz or a study
//! guide once ready, what a failed job kept before failing, or a shape this client does not
//! know (an older or newer daemon's), which is shown as JSON rather than refused.

use mentor_shared::artifacts::{Partial, Podcast, Quiz, StudyGuide};
use mentor_shared::jobs::{Artifact, ArtifactStatus, JobKind};
use mentor_shared::ApiError;
use serde::de::DeserializeOwned;

use super::problem::Problem;
use crate::error::CliError;

/// An artifact's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A ready podcast.
    Podcast(Box<Podcast>),
    /// A ready quiz.
    Quiz(Quiz),
    /// A ready study guide.
    StudyGuide(StudyGuide),
    /// What a job that did not finish made.
    Partial(Partial),
    /// Data this client cannot read.
    Other(serde_json::Value),
    /// No data.
    Empty,
}

impl Content {
    /// Reads an artifact's data.
    pub fn of(a: &Artifact) -> Content {
        let Some(data) = a.data.as_ref().filter(|d| !d.is_null()) else {
            return Content::Empty;
        };
        let other = || Content::Other(data.clone());
        if a.status != ArtifactStatus::Ready {
            return match serde_json::from_value::<Partial>(data.clone()) {
                Ok(p) if p.outline.is_some() || p.transcript.is_some() => Content::Partial(p),
                _ => other(),
            };
        }
        let parsed = match a.kind {
            JobKind::Podcast => parse(data).map(|p| Content::Podcast(Box::new(p))),
            JobKind::Quiz => parse(data).map(Content::Quiz),
            JobKind::StudyGuide => parse(data).map(Content::StudyGuide),
            JobKind::Test => return other(),
        };
        parsed.unwrap_or_else(|_| other())
    }
}

fn parse<T: DeserializeOwned>(data: &serde_json::Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(data.clone())
}

/// The content of a ready artifact of `kind`, or why there is none to use: another kind, not
/// ready, or a shape this client cannot read.
pub fn ready<T: DeserializeOwned>(a: &Artifact, kind: JobKind) -> Result<T, CliError> {
    if a.kind != kind {
        return Err(ApiError::ArtifactWrongKind {
            artifact: a.id.to_string(),
            kind: a.kind.as_str().into(),
            expected: kind.as_str().into(),
        }
        .into());
    }
    if a.status != ArtifactStatus::Ready {
        return Err(ApiError::ArtifactNotReady {
            artifact: a.id.to_string(),
            status: a.status.as_str().into(),
            job: a.job_id.to_string(),
        }
        .into());
    }
    let data = a.data.clone().unwrap_or_default();
    serde_json::from_value(data).map_err(|e| {
        Problem::Unreadable {
            artifact: a.id.to_string(),
            reason: e.to_string(),
        }
        .into()
    })
}

#[cfg(test)]
pub(crate) mod samples {
    //! Artifacts for the tests of the artifact and quiz commands.

    use mentor_shared::artifacts::{Audio, Outline, OutlineSegment, Question, SourceRef, Turn};
    use mentor_shared::ids::{ArtifactId, JobId, NotebookId};
    use mentor_shared::jobs::{Difficulty, PodcastFormat};
    use mentor_shared::time::Timestamp;

    use super::*;

    /// An artifact of `kind` with this status and data.
    pub fn artifact(
        kind: JobKind,
        status: ArtifactStatus,
        data: Option<serde_json::Value>,
    ) -> Artifact {
        Artifact {
            id: ArtifactId::new(),
            notebook_id: NotebookId::new(),
            job_id: JobId::new(),
            kind,
            title: "Photosynthesis".into(),
            status,
            data,
            created: Timestamp(0),
            updated: Timestamp(0),
        }
    }

    /// A two-host podcast, with a sound file at `audio` (or transcript-only).
    pub fn podcast(audio: Option<&str>) -> Podcast {
        Podcast {
            title: "How leaves eat light".into(),
            format: PodcastFormat::DeepDive,
            language: "en-US".into(),
            speakers: vec!["Alex".into(), "Sam".into()],
            outline: Outline {
                title: "How leaves eat light".into(),
                segments: vec![OutlineSegment {
                    title: "Chlorophyll".into(),
                    points: vec!["absorbs red and blue".into()],
                }],
            },
            turns: vec![
                Turn {
                    speaker: "Alex".into(),
                    text: "Why are leaves green?".into(),
                },
                Turn {
                    speaker: "Sam".into(),
                    text: "Chlorophyll reflects green light.".into(),
                },
            ],
            transcript:
                "**Alex:** Why are leaves green?\n\n**Sam:** Chlorophyll reflects green light.\n"
                    .into(),
            audio: audio.map(|path| Audio {
                path: path.into(),
                duration_ms: 185_000,
                sample_rate: 22_050,
                engine: "espeak-ng".into(),
                voices: vec!["en-us+m3".into(), "en-us+f2".into()],
            }),
            sources: vec![SourceRef {
                id: "src:01JB0000000000000000000000".into(),
                title: "photosynthesis.txt".into(),
            }],
        }
    }

    /// A two-question quiz: the answers are B, then D.
    pub fn quiz() -> Quiz {
        Quiz {
            title: "Light and leaves".into(),
            difficulty: Difficulty::Easy,
            language: "en-US".into(),
            questions: vec![
                Question {
                    question: "What colour does chlorophyll reflect?".into(),
                    options: vec!["Red".into(), "Green".into(), "Blue".into(), "Violet".into()],
                    answer: 1,
                    explanation: "It absorbs red and blue, and reflects green.".into(),
                    source: Some(SourceRef {
                        id: "src:01JB0000000000000000000000".into(),
                        title: "photosynthesis.txt".into(),
                    }),
                },
                Question {
                    question: "Where does photosynthesis happen?".into(),
                    options: vec![
                        "Nucleus".into(),
                        "Ribosome".into(),
                        "Mitochondrion".into(),
                        "Chloroplast".into(),
                    ],
                    answer: 3,
                    explanation: "Chloroplasts hold the chlorophyll.".into(),
                    source: None,
                },
            ],
        }
    }

    /// A study guide.
    pub fn guide() -> StudyGuide {
        StudyGuide {
            title: "Photosynthesis".into(),
            language: "en-US".into(),
            markdown: "# Photosynthesis\n\n## Key concepts\n\n- Light becomes sugar.\n".into(),
            sources: vec![],
        }
    }

    /// A ready artifact holding `content`.
    pub fn ready_with<T: serde::Serialize>(kind: JobKind, content: &T) -> Artifact {
        artifact(
            kind,
            ArtifactStatus::Ready,
            Some(serde_json::to_value(content).expect("json")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn content_is_read_by_kind_and_status() {
        let a = ready_with(JobKind::Podcast, &podcast(None));
        assert!(matches!(Content::of(&a), Content::Podcast(p) if p.audio.is_none()));
        let a = ready_with(JobKind::Quiz, &quiz());
        assert!(matches!(Content::of(&a), Content::Quiz(q) if q.questions.len() == 2));
        let a = ready_with(JobKind::StudyGuide, &guide());
        assert!(matches!(Content::of(&a), Content::StudyGuide(_)));
        // The right shape under the wrong kind, or an unknown shape: shown as it is.
        let a = ready_with(JobKind::StudyGuide, &quiz());
        assert!(matches!(Content::of(&a), Content::Other(_)));
        let a = ready_with(JobKind::Test, &serde_json::json!({"ran": 1}));
        assert!(matches!(Content::of(&a), Content::Other(_)));
        // What a failed job kept.
        let partial = serde_json::json!({"outline": "# Plan"});
        let a = artifact(JobKind::Podcast, ArtifactStatus::Failed, Some(partial));
        assert!(matches!(Content::of(&a), Content::Partial(p) if p.outline.is_some()));
        let a = artifact(
            JobKind::Podcast,
            ArtifactStatus::Failed,
            Some(serde_json::json!({"ran": 1})),
        );
        assert!(matches!(Content::of(&a), Content::Other(_)));
        let a = artifact(JobKind::Quiz, ArtifactStatus::Generating, None);
        assert_eq!(Content::of(&a), Content::Empty);
    }

    #[test]
    fn ready_refuses_other_kinds_unready_artifacts_and_unknown_shapes() {
        let a = ready_with(JobKind::Podcast, &podcast(None));
        let err = ready::<Quiz>(&a, JobKind::Quiz).expect_err("a podcast");
        assert!(
            matches!(&err, CliError::Api(ApiError::ArtifactWrongKind { kind, .. }) if kind == "podcast"),
            "{err:?}"
        );
        let a = artifact(JobKind::Quiz, ArtifactStatus::Generating, None);
        let err = ready::<Quiz>(&a, JobKind::Quiz).expect_err("generating");
        assert!(
            matches!(&err, CliError::Api(ApiError::ArtifactNotReady { status, .. }) if status == "generating"),
            "{err:?}"
        );
        let a = ready_with(JobKind::Quiz, &quiz());
        assert_eq!(ready::<Quiz>(&a, JobKind::Quiz).ok(), Some(quiz()));
    }
}
