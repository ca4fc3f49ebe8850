//! The learner's attempts at quizzes. The daemon scores an attempt itself, from the quiz it
//! stored, so a client cannot record a score the answers do not earn; attempts are numbered
//! per quiz (1 for the first) inside the write transaction, so two clients saving at once
//! still get distinct numbers.

use mentor_shared::artifacts::{Quiz, QuizAttempt};
use mentor_shared::ids::{ArtifactId, UserId};
use mentor_shared::jobs::{Artifact, ArtifactStatus, JobKind};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::{params, Connection};

use super::StoreResult;
use crate::queue::sql;

/// Options a question has (answers are 0 to `OPTIONS - 1`).
pub const OPTIONS: usize = 4;

/// The quiz an artifact holds, if it is a ready quiz.
pub fn ready_quiz(artifact: &Artifact) -> Result<Quiz, ApiError> {
    if artifact.kind != JobKind::Quiz {
        return Err(ApiError::ArtifactWrongKind {
            artifact: artifact.id.to_string(),
            kind: artifact.kind.as_str().into(),
            expected: JobKind::Quiz.as_str().into(),
        });
    }
    if artifact.status != ArtifactStatus::Ready {
        return Err(ApiError::ArtifactNotReady {
            artifact: artifact.id.to_string(),
            status: artifact.status.as_str().into(),
            job: artifact.job_id.to_string(),
        });
    }
    let data = artifact.data.clone().unwrap_or_default();
    serde_json::from_value(data).map_err(|e| {
        tracing::error!(artifact = %artifact.id, error = %e, "stored quiz is unreadable");
        ApiError::Internal {
            message: format!("the quiz {} is unreadable: {e}", artifact.id),
        }
    })
}

/// The score of `answers` to `quiz`, once they are checked: one answer per question, each
/// one of the options.
pub fn score(quiz: &Quiz, answers: &[usize]) -> Result<u32, ApiError> {
    if answers.len() != quiz.questions.len() {
        return Err(ApiError::QuizAnswerCount {
            expected: quiz.questions.len() as u32,
            given: answers.len() as u32,
        });
    }
    let mut score = 0;
    for (i, (question, &answer)) in quiz.questions.iter().zip(answers).enumerate() {
        if answer >= OPTIONS {
            return Err(ApiError::QuizAnswerOutOfRange {
                question: i as u32 + 1,
                answer: answer as u64,
            });
        }
        if answer == question.answer {
            score += 1;
        }
    }
    Ok(score)
}

/// Scores and stores an attempt at one of the user's ready quizzes.
pub fn save(
    conn: &Connection,
    user: UserId,
    reference: &str,
    answers: &[usize],
    now: Timestamp,
) -> StoreResult<QuizAttempt> {
    let artifact = sql::artifact(conn, user, reference)?;
    let quiz = ready_quiz(&artifact)?;
    let score = score(&quiz, answers)?;
    let total = quiz.questions.len() as u32;
    let stored = serde_json::to_string(answers).map_err(|e| ApiError::Internal {
        message: e.to_string(),
    })?;
    let number: i64 = conn
        .prepare_cached(
            "INSERT INTO quiz_attempts (artifact_id, number, answers, score, total, created_ms)
             VALUES (?1,
                     (SELECT COALESCE(MAX(number), 0) + 1 FROM quiz_attempts
                      WHERE artifact_id = ?1),
                     ?2, ?3, ?4, ?5)
             RETURNING number",
        )?
        .query_row(
            params![artifact.id.ulid(), stored, score, total, now.0],
            |r| r.get(0),
        )?;
    Ok(QuizAttempt {
        number: number as u32,
        artifact_id: artifact.id,
        answers: answers.to_vec(),
        score,
        total,
        created: now,
    })
}

/// The attempts at one of the user's quizzes (whatever its status), oldest first; another
/// kind of artifact is refused, so a mistaken id is not mistaken for an untaken quiz.
pub fn list(conn: &Connection, user: UserId, reference: &str) -> StoreResult<Vec<QuizAttempt>> {
    let artifact = sql::artifact(conn, user, reference)?;
    if artifact.kind != JobKind::Quiz {
        return Err(ApiError::ArtifactWrongKind {
            artifact: artifact.id.to_string(),
            kind: artifact.kind.as_str().into(),
            expected: JobKind::Quiz.as_str().into(),
        }
        .into());
    }
    attempts(conn, artifact.id)
}

/// Every attempt at a quiz, oldest first.
pub fn attempts(conn: &Connection, artifact: ArtifactId) -> StoreResult<Vec<QuizAttempt>> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, answers, score, total, created_ms FROM quiz_attempts
         WHERE artifact_id = ?1 ORDER BY number",
    )?;
    let rows = stmt.query_map(params![artifact.ulid()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (number, answers, score, total, created) = row?;
        let answers: Vec<usize> =
            serde_json::from_str(&answers).map_err(|e| ApiError::Internal {
                message: format!("quiz attempt {number} of {artifact} is unreadable: {e}"),
            })?;
        out.push(QuizAttempt {
            number: number as u32,
            artifact_id: artifact,
            answers,
            score: score as u32,
            total: total as u32,
            created: Timestamp(created),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::sql::NewJob;
    use crate::store::{notebooks, Store};
    use mentor_shared::artifacts::Question;
    use mentor_shared::jobs::Difficulty;

    const ME: UserId = UserId(1000);

    fn quiz(answers: &[usize]) -> Quiz {
        Quiz {
            title: "Cells".into(),
            difficulty: Difficulty::Medium,
            language: "en-US".into(),
            questions: answers
                .iter()
                .enumerate()
                .map(|(i, &answer)| Question {
                    question: format!("Question {i}?"),
                    options: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                    answer,
                    explanation: "Because.".into(),
                    source: None,
                })
                .collect(),
        }
    }

    /// An artifact of `kind` in a new notebook of `ME`, with this status and data.
    async fn artifact(
        store: &Store,
        kind: JobKind,
        status: ArtifactStatus,
        data: Option<serde_json::Value>,
    ) -> ArtifactId {
        store
            .write(move |tx| {
                let notebook = notebooks::create(tx, ME, "Biology", "")?;
                let new = NewJob {
                    user: ME,
                    notebook: Some(notebook),
                    kind,
                    topic: String::new(),
                    params: serde_json::json!({}),
                    max_attempts: 1,
                    artifact_title: Some("Biology".into()),
                    notify_chat: false,
                };
                let row = sql::insert(tx, &new, Timestamp::now())?;
                let id = row.job.artifact_id.expect("an artifact placeholder");
                tx.execute(
                    "UPDATE artifacts SET status = ?2, data = ?3 WHERE id = ?1",
                    params![id.ulid(), status.as_str(), data.map(|d| d.to_string())],
                )?;
                Ok(id)
            })
            .await
            .expect("artifact")
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("q.db")).expect("open");
        (dir, store)
    }

    async fn save_as(
        store: &Store,
        user: UserId,
        reference: String,
        answers: Vec<usize>,
    ) -> Result<QuizAttempt, ApiError> {
        store
            .write(move |tx| save(tx, user, &reference, &answers, Timestamp::now()))
            .await
    }

    #[tokio::test]
    async fn attempts_are_scored_numbered_and_listed_oldest_first() {
        let (_dir, store) = open();
        let data = serde_json::to_value(quiz(&[0, 2, 3])).expect("json");
        let id = artifact(&store, JobKind::Quiz, ArtifactStatus::Ready, Some(data)).await;
        let first = save_as(&store, ME, id.to_string(), vec![0, 2, 1])
            .await
            .expect("first");
        assert_eq!((first.number, first.score, first.total), (1, 2, 3));
        // The id without its prefix names the same quiz.
        let second = save_as(&store, ME, id.ulid(), vec![0, 2, 3])
            .await
            .expect("second");
        assert_eq!((second.number, second.score), (2, 3));
        let reference = id.to_string();
        let listed = store
            .read(move |c| list(c, ME, &reference))
            .await
            .expect("list");
        assert_eq!(listed, vec![first, second]);
    }

    #[tokio::test]
    async fn bad_answers_are_refused_and_nothing_is_stored() {
        let (_dir, store) = open();
        let data = serde_json::to_value(quiz(&[1, 1])).expect("json");
        let id = artifact(&store, JobKind::Quiz, ArtifactStatus::Ready, Some(data)).await;
        let short = save_as(&store, ME, id.to_string(), vec![1]).await;
        assert_eq!(
            short,
            Err(ApiError::QuizAnswerCount {
                expected: 2,
                given: 1
            })
        );
        let long = save_as(&store, ME, id.to_string(), vec![1, 1, 1]).await;
        assert!(matches!(
            long,
            Err(ApiError::QuizAnswerCount { given: 3, .. })
        ));
        let out_of_range = save_as(&store, ME, id.to_string(), vec![1, 4]).await;
        assert_eq!(
            out_of_range,
            Err(ApiError::QuizAnswerOutOfRange {
                question: 2,
                answer: 4
            })
        );
        let left = store
            .read(move |c| attempts(c, id))
            .await
            .expect("attempts");
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn only_the_owners_ready_quizzes_take_attempts() {
        let (_dir, store) = open();
        let data = serde_json::to_value(quiz(&[0])).expect("json");
        let quiz_id = artifact(&store, JobKind::Quiz, ArtifactStatus::Ready, Some(data)).await;
        // Someone else's quiz does not exist for this user.
        let other = save_as(&store, UserId(1001), quiz_id.to_string(), vec![0]).await;
        assert!(
            matches!(other, Err(ApiError::ArtifactNotFound { .. })),
            "{other:?}"
        );
        let reference = quiz_id.to_string();
        let other = store.read(move |c| list(c, UserId(1001), &reference)).await;
        assert!(matches!(other, Err(ApiError::ArtifactNotFound { .. })));

        let unknown = save_as(&store, ME, "art:nonsense".into(), vec![0]).await;
        assert!(matches!(unknown, Err(ApiError::ArtifactNotFound { .. })));

        let podcast = artifact(&store, JobKind::Podcast, ArtifactStatus::Ready, None).await;
        let wrong = save_as(&store, ME, podcast.to_string(), vec![0]).await;
        assert!(
            matches!(&wrong, Err(ApiError::ArtifactWrongKind { kind, expected, .. })
                if kind == "podcast" && expected == "quiz"),
            "{wrong:?}"
        );
        let reference = podcast.to_string();
        let wrong = store.read(move |c| list(c, ME, &reference)).await;
        assert!(matches!(wrong, Err(ApiError::ArtifactWrongKind { .. })));

        let generating = artifact(&store, JobKind::Quiz, ArtifactStatus::Generating, None).await;
        let early = save_as(&store, ME, generating.to_string(), vec![0]).await;
        assert!(
            matches!(&early, Err(ApiError::ArtifactNotReady { status, .. }) if status == "generating"),
            "{early:?}"
        );
        // A quiz that is not ready yet simply has no attempts.
        let reference = generating.to_string();
        let none = store
            .read(move |c| list(c, ME, &reference))
            .await
            .expect("list");
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn attempts_go_with_their_quiz() {
        let (_dir, store) = open();
        let data = serde_json::to_value(quiz(&[0])).expect("json");
        let id = artifact(&store, JobKind::Quiz, ArtifactStatus::Ready, Some(data)).await;
        save_as(&store, ME, id.to_string(), vec![0])
            .await
            .expect("save");
        store
            .write(move |tx| {
                tx.execute("DELETE FROM artifacts WHERE id = ?1", params![id.ulid()])?;
                Ok(())
            })
            .await
            .expect("delete");
        let left: i64 = store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM quiz_attempts", [], |r| r.get(0))?))
            .await
            .expect("count");
        assert_eq!(left, 0);
    }

    #[test]
    fn scoring_counts_matching_options() {
        let q = quiz(&[0, 1, 2, 3]);
        assert_eq!(score(&q, &[0, 1, 2, 3]), Ok(4));
        assert_eq!(score(&q, &[3, 2, 1, 0]), Ok(0));
        assert_eq!(score(&q, &[0, 0, 2, 0]), Ok(2));
    }
}
