//! The quiz generator: N questions (1–50) of a difficulty, each with four options of which
//! exactly one is correct, an explanation and the source passage it comes from.
//!
//! One structured request (schema `quiz`); an answer with too few questions, a repeated
//! question, repeated options, an answer that is not one of the options (or is two of them),
//! or a source that is not a passage shown, is sent back for one repair, then fails the job.

use futures::future::BoxFuture;
use mentor_shared::artifacts::{Question, Quiz};
use mentor_shared::jobs::{Difficulty, JobKind, JobSpec};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{api_error, Kit, Material, Params};
use crate::chat::prompt::{one_line, QUIZ_TEMPLATE};
use crate::llm::{JsonSchema, Priority, WireMessage};
use crate::queue::{JobContext, JobError, JobHandler};

/// Longest question, option or explanation kept, in characters.
const FIELD_MAX_CHARS: usize = 2_000;
/// Longest title kept, in characters.
const TITLE_MAX_CHARS: usize = 200;

/// The quiz job.
pub struct QuizHandler {
    kit: Kit,
}

impl QuizHandler {
    /// A handler using `kit`.
    pub fn new(kit: Kit) -> QuizHandler {
        QuizHandler { kit }
    }
}

/// The model's answer.
#[derive(Debug, Deserialize)]
struct Answer {
    title: String,
    questions: Vec<RawQuestion>,
}

#[derive(Debug, Deserialize)]
struct RawQuestion {
    question: String,
    options: Vec<String>,
    answer: AnswerKey,
    explanation: String,
    #[serde(default)]
    source: usize,
}

/// The correct option: its text (as asked) or its index (0–3, as some models prefer).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AnswerKey {
    Index(usize),
    Text(String),
}

/// The quiz's schema; `passages` numbers the passages a question may cite (1 to `passages`;
/// 0: any, as there are none).
fn schema(questions: u32, passages: usize) -> JsonSchema {
    JsonSchema {
        name: "quiz".into(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "questions"],
            "properties": {
                "title": { "type": "string" },
                "questions": {
                    "type": "array",
                    "minItems": questions,
                    "maxItems": questions,
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["question", "options", "answer", "explanation", "source"],
                        "properties": {
                            "question": { "type": "string" },
                            "options": {
                                "type": "array",
                                "items": { "type": "string" },
                                "minItems": 4,
                                "maxItems": 4
                            },
                            "answer": { "type": "integer", "minimum": 0, "maximum": 3 },
                            "explanation": { "type": "string" },
                            "source": super::citation_schema(passages)
                        }
                    }
                }
            }
        }),
    }
}

/// A question, option or explanation as the quiz keeps it: one line, cleaned, capped. The
/// checks look at this, not at the raw answer, so text that cleaning empties (control
/// characters) or makes alike (a difference past the cap) is caught.
fn shown(text: &str) -> String {
    one_line(text, FIELD_MAX_CHARS)
}

/// Text compared for sameness: case, accents' case and spacing ignored.
fn same(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .trim_end_matches(['.', '?', '!'])
        .to_string()
}

/// The index of the correct option, or what is wrong.
fn correct_index(q: &RawQuestion, number: usize) -> Result<usize, String> {
    match &q.answer {
        AnswerKey::Index(i) if *i < q.options.len() => Ok(*i),
        AnswerKey::Index(i) => Err(format!(
            "question {number}: answer {i} is not one of the options"
        )),
        AnswerKey::Text(text) => {
            let key = same(&shown(text));
            let matches: Vec<usize> = (0..q.options.len())
                .filter(|&i| same(&shown(&q.options[i])) == key)
                .collect();
            match matches.as_slice() {
                [one] => Ok(*one),
                [] => Err(format!(
                    "question {number}: the answer \"{text}\" is not one of the options; copy \
                     the correct option's text exactly"
                )),
                _ => Err(format!(
                    "question {number}: the answer matches {} options; exactly one option must \
                     be correct",
                    matches.len()
                )),
            }
        }
    }
}

/// Checks the answer: at least `wanted` questions, each well-formed, none repeated.
fn validate(answer: &Answer, wanted: usize, material: &Material) -> Result<(), String> {
    if one_line(&answer.title, TITLE_MAX_CHARS).is_empty() {
        return Err("the title is empty".into());
    }
    if answer.questions.len() < wanted {
        return Err(format!(
            "{wanted} questions were asked for, the answer has {}",
            answer.questions.len()
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, q) in answer.questions.iter().take(wanted).enumerate() {
        let number = i + 1;
        let question = shown(&q.question);
        if question.is_empty() {
            return Err(format!("question {number} is empty"));
        }
        let key = same(&question);
        if let Some(first) = seen.iter().position(|s| *s == key) {
            return Err(format!(
                "question {number} repeats question {}; every question must be different",
                first + 1
            ));
        }
        seen.push(key);
        if q.options.len() != 4 {
            return Err(format!(
                "question {number} has {} options; it needs exactly 4",
                q.options.len()
            ));
        }
        let options: Vec<String> = q.options.iter().map(|o| shown(o)).collect();
        if options.iter().any(String::is_empty) {
            return Err(format!("question {number} has an empty option"));
        }
        let index = correct_index(q, number)?;
        for a in 0..4 {
            for b in a + 1..4 {
                if same(&options[a]) == same(&options[b]) {
                    return Err(if a == index || b == index {
                        format!(
                            "question {number} has two correct answers (options {} and {} are \
                             the same); exactly one option must be correct",
                            a + 1,
                            b + 1
                        )
                    } else {
                        format!(
                            "question {number}: options {} and {} are the same",
                            a + 1,
                            b + 1
                        )
                    });
                }
            }
        }
        if shown(&q.explanation).is_empty() {
            return Err(format!("question {number} has no explanation"));
        }
        material
            .check_citation(q.source)
            .map_err(|e| format!("question {number}: {e}"))?;
    }
    Ok(())
}

/// The quiz made of a valid answer.
fn build(
    answer: Answer,
    wanted: usize,
    difficulty: Difficulty,
    language: &str,
    material: &Material,
) -> Quiz {
    let questions = answer
        .questions
        .into_iter()
        .take(wanted)
        .enumerate()
        .map(|(i, q)| {
            let answer = correct_index(&q, i + 1).unwrap_or(0);
            Question {
                question: shown(&q.question),
                options: q.options.iter().map(|o| shown(o)).collect(),
                answer,
                explanation: shown(&q.explanation),
                source: material.source(q.source).cloned(),
            }
        })
        .collect();
    Quiz {
        title: one_line(&answer.title, TITLE_MAX_CHARS),
        difficulty,
        language: language.to_string(),
        questions,
    }
}

impl JobHandler for QuizHandler {
    fn kind(&self) -> JobKind {
        JobKind::Quiz
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<serde_json::Value, JobError>> {
        Box::pin(async move {
            let params = Params::of(ctx)?;
            let JobSpec::Quiz {
                questions,
                difficulty,
            } = params.spec
            else {
                return Err(JobError::Permanent("not a quiz".into()));
            };
            let lang = params.lang();
            ctx.progress(0, 1, "stage-quiz").await?;
            let material = Material::gather(&self.kit, ctx, lang).await?;
            let difficulty_id = match difficulty {
                Difficulty::Easy => "easy",
                Difficulty::Medium => "medium",
                Difficulty::Hard => "hard",
            };
            let system = material
                .prompts
                .job(
                    QUIZ_TEMPLATE,
                    context! {
                        language => material.language,
                        topic => one_line(&ctx.job().topic, 300),
                        notebook_title => one_line(&material.notebook_title, 200),
                        questions,
                        difficulty => difficulty_id,
                        passages => &material.passages,
                    },
                )
                .map_err(|e| api_error(&e))?;
            let wanted = questions as usize;
            let messages = vec![
                WireMessage::System(system),
                WireMessage::User(format!("Write the {questions} questions now.")),
            ];
            ctx.check()?;
            let answer: Answer = self
                .kit
                .llm
                .structured(
                    messages,
                    &schema(questions, material.refs.len()),
                    |a: &Answer| validate(a, wanted, &material),
                    Priority::Job,
                )
                .await
                .map_err(|e| api_error(&e))?;
            let quiz = build(answer, wanted, difficulty, lang.tag(), &material);
            ctx.progress(1, 1, "stage-quiz").await?;
            serde_json::to_value(&quiz).map_err(|e| JobError::Permanent(e.to_string()))
        })
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::jobs::test_material as material;

    fn answer(json: serde_json::Value) -> Answer {
        serde_json::from_value(json).unwrap()
    }

    fn q(question: &str, options: [&str; 4], answer: serde_json::Value) -> serde_json::Value {
        json!({"question": question, "options": options, "answer": answer,
               "explanation": "Because.", "source": 1})
    }

    #[test]
    fn a_good_quiz_passes_and_keeps_the_right_answer() {
        let m = material(2);
        let a = answer(json!({"title": "Cells", "questions": [
            q("What makes ATP?", ["Ribosome", "Mitochondrion", "Nucleus", "Golgi"], json!("mitochondrion")),
            q("Where is DNA?", ["Nucleus", "Membrane", "Wall", "Vacuole"], json!(0)),
            q("Extra one?", ["a", "b", "c", "d"], json!("a")),
        ]}));
        validate(&a, 2, &m).unwrap();
        let quiz = build(a, 2, Difficulty::Easy, "en-US", &m);
        assert_eq!(quiz.questions.len(), 2);
        assert_eq!(quiz.questions[0].answer, 1);
        assert_eq!(quiz.questions[1].answer, 0);
        assert_eq!(
            quiz.questions[0].source.as_ref().map(|s| s.title.as_str()),
            Some("Source 0")
        );
    }

    #[test]
    fn bad_quizzes_are_named() {
        let m = material(2);
        let check = |json: serde_json::Value, wanted: usize| {
            validate(&answer(json), wanted, &m)
                .err()
                .unwrap_or_default()
        };
        let two_correct = check(
            json!({"title": "T", "questions": [
                q("Q?", ["Yes", "yes", "No", "Maybe"], json!("Yes")),
            ]}),
            1,
        );
        assert!(two_correct.contains("matches 2 options"), "{two_correct}");
        let two_same = check(
            json!({"title": "T", "questions": [
                q("Q?", ["Yes", "No", "no", "Maybe"], json!("Yes")),
            ]}),
            1,
        );
        assert!(
            two_same.contains("options 2 and 3 are the same"),
            "{two_same}"
        );
        let missing = check(
            json!({"title": "T", "questions": [q("Q?", ["a", "b", "c", "d"], json!("e"))]}),
            1,
        );
        assert!(missing.contains("not one of the options"), "{missing}");
        let index = check(
            json!({"title": "T", "questions": [q("Q?", ["a", "b", "c", "d"], json!(4))]}),
            1,
        );
        assert!(index.contains("not one of the options"), "{index}");
        let dup = check(
            json!({"title": "T", "questions": [
                q("Why?", ["a", "b", "c", "d"], json!("a")),
                q("why ", ["e", "f", "g", "h"], json!("e")),
            ]}),
            2,
        );
        assert!(dup.contains("repeats question 1"), "{dup}");
        let few = check(
            json!({"title": "T", "questions": [q("Q?", ["a", "b", "c", "d"], json!("a"))]}),
            3,
        );
        assert!(few.contains("3 questions were asked for"), "{few}");
        let three = check(
            json!({"title": "T", "questions": [{"question": "Q?", "options": ["a", "b", "c"],
                "answer": "a", "explanation": "x", "source": 1}]}),
            1,
        );
        assert!(three.contains("needs exactly 4"), "{three}");
        let source = check(
            json!({"title": "T", "questions": [{"question": "Q?", "options": ["a", "b", "c", "d"],
                "answer": "a", "explanation": "x", "source": 9}]}),
            1,
        );
        assert!(source.contains("not a passage number"), "{source}");
        // Without sources, any source number is fine (and none is kept).
        let none = material(0);
        let a = answer(json!({"title": "T", "questions": [{"question": "Q?",
            "options": ["a", "b", "c", "d"], "answer": "a", "explanation": "x", "source": 0}]}));
        validate(&a, 1, &none).unwrap();
        assert_eq!(
            build(a, 1, Difficulty::Hard, "fr-FR", &none).questions[0].source,
            None
        );
    }
}
