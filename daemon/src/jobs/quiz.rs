//! The quiz generator: N questions (1–50) of a difficulty, each with four options of which
//! exactly one is correct, an explanation and the source passage it comes from.
//!
//! One structured request per question (schema `quiz_question`), each a checkpoint with its
//! progress ("Writing question 3/5"):
//!
//! | checkpoint     | data                         | stage                 |
//! |----------------|------------------------------|-----------------------|
//! | `question-<i>` | the [`Question`] as kept     | `stage-quiz-question` |
//!
//! Each request shows the questions written so far, so none is asked twice, and suggests a
//! passage (in turn), so they cover the sources. A question that is empty, repeats one already
//! written, has repeated options, an answer that is not one of the options (or is two of
//! them), a source that is not a passage shown, or fails a quality gate of
//! [`super::quality`] (the question with its right answer must be supported by the passage
//! it cites), is sent back for repair ([`Kit::step`]), then fails the job. A resumed attempt asks only for the questions not yet written. The title is Mentor's:
//! "Quiz: " and the topic (or the notebook's title).

use futures::future::BoxFuture;
use mentor_shared::artifacts::{Question, Quiz};
use mentor_shared::i18n::localizer;
use mentor_shared::jobs::{Difficulty, JobKind, JobSpec};
use mentor_shared::t;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::quality::{self, Echo, Flaw, Kind, Part};
use super::{api_error, Kit, Material, Params, Problem, Step};
use crate::chat::prompt::{one_line, QUIZ_TEMPLATE};
use crate::llm::JsonSchema;
use crate::queue::{JobContext, JobError, JobHandler};

/// Longest question, option or explanation kept, in characters.
const FIELD_MAX_CHARS: usize = 2_000;
/// Longest title kept, in characters.
const TITLE_MAX_CHARS: usize = 200;
/// What the schema lets a question, an option and an explanation be, at most, in characters.
const QUESTION_SCHEMA_CHARS: u32 = 400;
const OPTION_SCHEMA_CHARS: u32 = 200;
const EXPLANATION_SCHEMA_CHARS: u32 = 600;
/// Tokens one question's answer may have: room for the longest the schema allows.
const QUESTION_MAX_TOKENS: u32 = 1_024;
/// The stage of a question being written.
const STAGE: &str = "stage-quiz-question";

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

/// The model's answer: one question.
#[derive(Debug, Deserialize, Serialize)]
struct RawQuestion {
    question: String,
    options: Vec<String>,
    answer: AnswerKey,
    explanation: String,
    #[serde(default)]
    source: usize,
}

/// The correct option: its text (as asked) or its index (0–3, as some models prefer).
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum AnswerKey {
    Index(usize),
    Text(String),
}

/// One question's schema; `passages` numbers the passages it may cite (1 to `passages`;
/// 0: any, as there are none).
fn schema(passages: usize) -> JsonSchema {
    JsonSchema {
        name: "quiz_question".into(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["question", "options", "answer", "explanation", "source"],
            "properties": {
                "question": { "type": "string", "maxLength": QUESTION_SCHEMA_CHARS },
                "options": {
                    "type": "array",
                    "items": { "type": "string", "maxLength": OPTION_SCHEMA_CHARS },
                    "minItems": 4,
                    "maxItems": 4
                },
                "answer": { "type": "integer", "minimum": 0, "maximum": 3 },
                "explanation": { "type": "string", "maxLength": EXPLANATION_SCHEMA_CHARS },
                "source": super::citation_schema(passages)
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

/// Checks question `number` (1-based) as the quiz will keep it: well-formed, not one of the
/// questions already `written`, and through the quality gates: not degenerate, not copied
/// from the `echo`'s instructions, in the quiz's language, and supported by the passage it
/// cites.
fn validate(
    q: &RawQuestion,
    number: usize,
    written: &[Question],
    material: &Material,
    echo: &Echo,
) -> Result<(), Problem> {
    let part = Part::Question(number);
    let flaw = |kind| {
        Problem::Flaw(Flaw {
            part: part.clone(),
            kind,
        })
    };
    let question = shown(&q.question);
    if question.is_empty() {
        return Err(flaw(Kind::Empty));
    }
    let key = same(&question);
    let earlier = written
        .iter()
        .enumerate()
        .map(|(i, w)| (Part::Question(i + 1), w.question.as_str()));
    if let Some(first) = written.iter().position(|w| same(&w.question) == key) {
        return Err(flaw(Kind::Duplicate(Part::Question(first + 1))));
    }
    if let Some(other) = quality::duplicate(&question, earlier) {
        return Err(flaw(Kind::Duplicate(other)));
    }
    if q.options.len() != 4 {
        return Err(format!(
            "question {number} has {} options; it needs exactly 4",
            q.options.len()
        )
        .into());
    }
    let options: Vec<String> = q.options.iter().map(|o| shown(o)).collect();
    if options.iter().any(String::is_empty) {
        return Err(format!("question {number} has an empty option").into());
    }
    let index = match correct_index(q, number) {
        Ok(i) => i,
        Err(e) if e.contains("not one of the options") => return Err(flaw(Kind::NoAnswer)),
        Err(e) => return Err(e.into()),
    };
    for a in 0..4 {
        for b in a + 1..4 {
            if same(&options[a]) == same(&options[b]) {
                return Err(flaw(Kind::SameOptions(a + 1, b + 1)));
            }
        }
    }
    let explanation = shown(&q.explanation);
    if explanation.is_empty() {
        return Err(format!("question {number} has no explanation").into());
    }
    material
        .check_citation(q.source)
        .map_err(|e| format!("question {number}: {e}"))?;
    quality::says(&part, &question, 1)?;
    quality::about_the_subject(&part, &question)?;
    quality::says(&part, &explanation, 3)?;
    quality::about_the_subject(&part, &explanation)?;
    // An option that only names the quiz's own parts ("Question 2") is no answer; a bare
    // number is one.
    if options
        .iter()
        .any(|o| quality::substance(o) == 0 && quality::mentions_task(o))
    {
        return Err(flaw(Kind::Meta));
    }
    let all = format!("{question}\n{}\n{explanation}", options.join("\n"));
    // Questions may open alike ("Which of these is true?"): sameness across questions is the
    // duplicate rule's, not the repetition rule's.
    quality::degenerate(&part, &all, &[])?;
    for text in options.iter().chain([&question, &explanation]) {
        quality::soup(&part, text)?;
    }
    echo.check(&part, &all)?;
    quality::language(&part, &format!("{question} {explanation}"), material.lang)?;
    let claim = format!("{question} {}", options[index]);
    material.grounded(part, &claim, &[q.source])?;
    Ok(())
}

/// The question as the quiz keeps it (`q` passed [`validate`]).
fn build(q: &RawQuestion, number: usize, material: &Material) -> Question {
    Question {
        question: shown(&q.question),
        options: q.options.iter().map(|o| shown(o)).collect(),
        answer: correct_index(q, number).unwrap_or(0),
        explanation: shown(&q.explanation),
        source: material.source(q.source).cloned(),
    }
}

/// The percentage of the quiz done once `done` of its `total` questions are written.
fn percent(done: usize, total: usize) -> u8 {
    (done * 100).checked_div(total).unwrap_or(0).min(100) as u8
}

impl QuizHandler {
    /// Question `number` (1-based), asked for and checked.
    async fn question(
        &self,
        ctx: &JobContext,
        material: &Material,
        (questions, difficulty): (u32, &'static str),
        number: usize,
        written: &[Question],
    ) -> Result<Question, JobError> {
        let passage = match material.refs.len() {
            0 => 0,
            n => (number - 1) % n + 1,
        };
        let written_text: Vec<&str> = written.iter().map(|q| q.question.as_str()).collect();
        let system = material
            .prompts
            .job(
                QUIZ_TEMPLATE,
                context! {
                    language => material.language,
                    topic => one_line(&ctx.job().topic, 300),
                    notebook_title => one_line(&material.notebook_title, 200),
                    questions,
                    difficulty,
                    passages => &material.passages,
                    number,
                    written => written_text,
                    passage,
                },
            )
            .map_err(|e| api_error(&e))?;
        let topic = ctx.job().topic.clone();
        let echo = Echo::new(
            &system,
            &[&material.passages, &topic, &written_text.join("\n")],
        );
        let schema = schema(material.refs.len());
        let step = Step {
            system,
            ask: format!("Write question {number} now."),
            schema: &schema,
            max_tokens: Some(QUESTION_MAX_TOKENS),
            budget: material.budget,
        };
        let raw: RawQuestion = self
            .kit
            .step(ctx, JobKind::Quiz, step, |q: &RawQuestion| {
                validate(q, number, written, material, &echo)
            })
            .await?;
        Ok(build(&raw, number, material))
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
            let total = questions as usize;
            let mut written: Vec<Question> = (0..total)
                .map_while(|i| ctx.checkpoint_as::<Question>(&format!("question-{i}")))
                .collect();
            ctx.progress_at(
                (written.len() + 1).min(total) as u32,
                questions,
                STAGE,
                percent(written.len(), total),
            )
            .await?;
            let material = Material::gather(&self.kit, ctx, lang).await?;
            let difficulty_id = match difficulty {
                Difficulty::Easy => "easy",
                Difficulty::Medium => "medium",
                Difficulty::Hard => "hard",
            };
            while written.len() < total {
                let number = written.len() + 1;
                let question = self
                    .question(ctx, &material, (questions, difficulty_id), number, &written)
                    .await?;
                let next = (number + 1).min(total) as u32;
                ctx.step_done_at(
                    &format!("question-{}", number - 1),
                    &question,
                    (next, questions, STAGE),
                    percent(number, total),
                )
                .await?;
                written.push(question);
            }
            let topic = one_line(&ctx.job().topic, TITLE_MAX_CHARS);
            let subject = if topic.is_empty() {
                one_line(&material.notebook_title, TITLE_MAX_CHARS)
            } else {
                topic
            };
            let quiz = Quiz {
                title: t!(localizer(lang), "quiz-title", subject = subject),
                difficulty,
                language: lang.tag().to_string(),
                questions: written,
            };
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

    fn q(question: &str, options: [&str; 4], answer: serde_json::Value) -> RawQuestion {
        serde_json::from_value(json!({"question": question, "options": options,
            "answer": answer, "explanation": "Mitochondria make ATP, the energy of the cell.",
            "source": 1}))
        .unwrap()
    }

    #[test]
    fn a_good_question_passes_and_keeps_the_right_answer() {
        let m = material(2);
        let first = q(
            "What makes ATP?",
            ["Ribosome", "Mitochondrion", "Nucleus", "Golgi"],
            json!("mitochondrion"),
        );
        let echo = Echo::new("", &[]);
        validate(&first, 1, &[], &m, &echo).unwrap();
        let first = build(&first, 1, &m);
        assert_eq!(first.answer, 1);
        assert_eq!(
            first.source.as_ref().map(|s| s.title.as_str()),
            Some("Source 0")
        );
        let second = q(
            "Where does the cell keep its DNA?",
            ["Nucleus", "Membrane", "Wall", "Vacuole"],
            json!(0),
        );
        validate(&second, 2, std::slice::from_ref(&first), &m, &echo).unwrap();
        assert_eq!(build(&second, 2, &m).answer, 0);
        assert_eq!(percent(0, 5), 0);
        assert_eq!(percent(3, 5), 60);
        assert_eq!(percent(5, 5), 100);
    }

    #[test]
    fn questions_that_say_nothing_or_talk_about_the_quiz_are_refused() {
        // What the 135M model wrote and a quiz once kept.
        let m = material(2);
        let echo = Echo::new("", &[]);
        let empty = q("Question 1", ["1", "2", "3", "4"], json!(1));
        let e = validate(&empty, 1, &[], &m, &echo).unwrap_err().to_string();
        assert!(e.contains("says too little"), "{e}");
        let meta = q(
            "What do mitochondria make for the cell?",
            ["1. Question 1", "2. Question 2", "Question 1", "Question 2"],
            json!(0),
        );
        let e = validate(&meta, 1, &[], &m, &echo).unwrap_err().to_string();
        assert!(e.contains("talks about questions"), "{e}");
        let unsupported = q(
            "Which planet has the largest rings?",
            ["Saturn", "Mars", "Venus", "Mercury"],
            json!(0),
        );
        let e = validate(&unsupported, 1, &[], &m, &echo)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not supported by passage 1"), "{e}");
    }

    #[test]
    fn bad_questions_are_named() {
        let m = material(2);
        let echo = Echo::new("", &[]);
        let check = |raw: RawQuestion, written: &[Question]| {
            validate(&raw, 2, written, &m, &echo)
                .err()
                .map(|p| p.to_string())
                .unwrap_or_default()
        };
        let two_correct = check(q("Q?", ["Yes", "yes", "No", "Maybe"], json!("Yes")), &[]);
        assert!(two_correct.contains("matches 2 options"), "{two_correct}");
        let two_same = check(q("Q?", ["Yes", "No", "no", "Maybe"], json!("Yes")), &[]);
        assert!(
            two_same.contains("options 2 and 3 are the same"),
            "{two_same}"
        );
        let missing = check(q("Q?", ["a", "b", "c", "d"], json!("e")), &[]);
        assert!(missing.contains("not one of the options"), "{missing}");
        let index = check(q("Q?", ["a", "b", "c", "d"], json!(4)), &[]);
        assert!(index.contains("not one of the options"), "{index}");
        let first = build(&q("Why?", ["a", "b", "c", "d"], json!("a")), 1, &m);
        let dup = check(q("why ", ["e", "f", "g", "h"], json!("e")), &[first]);
        assert!(
            dup.contains("question 2 says the same as question 1"),
            "{dup}"
        );
        let three: RawQuestion = serde_json::from_value(json!({"question": "Q?",
            "options": ["a", "b", "c"], "answer": "a", "explanation": "x", "source": 1}))
        .unwrap();
        let three = check(three, &[]);
        assert!(three.contains("needs exactly 4"), "{three}");
        let source: RawQuestion = serde_json::from_value(json!({"question": "Q?",
            "options": ["a", "b", "c", "d"], "answer": "a", "explanation": "x", "source": 9}))
        .unwrap();
        let source = check(source, &[]);
        assert!(source.contains("not a passage number"), "{source}");
        // Without sources, any source number is fine (and none is kept).
        let none = material(0);
        let general: RawQuestion = serde_json::from_value(json!({
            "question": "Which planet has the largest rings?",
            "options": ["Saturn", "Mars", "Venus", "Mercury"], "answer": "Saturn",
            "explanation": "Saturn's rings of ice are the largest.", "source": 0}))
        .unwrap();
        validate(&general, 1, &[], &none, &echo).unwrap();
        assert_eq!(build(&general, 1, &none).source, None);
    }
}
