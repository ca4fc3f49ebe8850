//! Property tests of the quiz's validation: any JSON never panics, and the questions accepted
//! one after the other make a quiz that keeps the rules as the learner sees it — each
//! question different, with four different non-empty options of which exactly one is
//! correct, an explanation, and a source shown.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

use super::*;
use crate::fuzz_support::{assert_reached, fuzz_config, json_value, mostly_words, tricky_text};

use crate::jobs::test_material as material;

/// A question close to valid: options often 4, the answer often one of them (as text, in
/// another case or spacing, or as an index).
fn question() -> impl Strategy<Value = Value> {
    // Options made distinct by a prefix half the time, so many answers pass; raw the other
    // half, so cleaning and the cap can make them alike.
    let options = prop_oneof![
        proptest::collection::vec(mostly_words(), 4).prop_map(|o| o
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{i}{t}"))
            .collect()),
        proptest::collection::vec(tricky_text(), 3..6),
    ];
    (
        mostly_words(),
        options,
        prop_oneof![
            1 => (0usize..5).prop_map(|i| json!(i)),
            1 => tricky_text().prop_map(|t| json!(t)),
            3 => (0usize..5, any::<bool>()).prop_map(|(i, upper)| json!({"pick": i, "upper": upper})),
        ],
        mostly_words(),
        0usize..5,
    )
        .prop_map(|(question, options, answer, explanation, source): (String, Vec<String>, Value, String, usize)| {
            // `pick`: the text of option `i`, possibly shouted.
            let answer = match answer.get("pick").and_then(Value::as_u64) {
                Some(i) => {
                    let text = options.get(i as usize).cloned().unwrap_or_default();
                    if answer["upper"] == json!(true) {
                        json!(format!(" {} ", text.to_uppercase()))
                    } else {
                        json!(text)
                    }
                }
                None => answer,
            };
            json!({"question": question, "options": options, "answer": answer,
                   "explanation": explanation, "source": source})
        })
}

fn answer_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => proptest::collection::vec(question(), 0..5).prop_map(|questions| {
            // Distinct questions most of the time.
            let questions: Vec<Value> = questions
                .into_iter()
                .enumerate()
                .map(|(i, mut q)| {
                    if i % 2 == 1 {
                        q["question"] =
                            json!(format!("{i} {}", q["question"].as_str().unwrap_or("")));
                    }
                    q
                })
                .collect();
            json!(questions)
        }),
        1 => proptest::collection::vec(json_value(), 0..3).prop_map(|v| json!(v)),
    ]
}

/// Checks the rules on a built quiz.
fn check_quiz(questions: &[Question], sources: usize) -> Result<(), TestCaseError> {
    for (n, q) in questions.iter().enumerate() {
        prop_assert!(!q.question.is_empty(), "question {n} is empty: {q:?}");
        prop_assert!(
            !q.explanation.is_empty(),
            "question {n} has no explanation: {q:?}"
        );
        prop_assert_eq!(q.options.len(), 4);
        prop_assert!(q.answer < 4);
        for (i, a) in q.options.iter().enumerate() {
            prop_assert!(!a.is_empty(), "question {n}: option {i} is empty: {q:?}");
            for b in &q.options[i + 1..] {
                prop_assert!(same(a) != same(b), "question {n}: options alike: {q:?}");
            }
        }
        for other in &questions[n + 1..] {
            prop_assert!(
                same(&q.question) != same(&other.question),
                "questions alike"
            );
        }
        prop_assert_eq!(q.source.is_some(), sources > 0);
    }
    Ok(())
}

/// Any answers, one question each: no panic; the questions accepted, in turn (each checked
/// against those accepted before it), keep every rule.
#[test]
fn fuzz_quiz_validation_accepts_only_good_quizzes() {
    let mut runner = TestRunner::new(fuzz_config());
    let materials: Vec<Material> = (0..3).map(material).collect();
    let strategy = (answer_json(), 0usize..3);
    let accepted = std::cell::Cell::new(0);
    let result = runner.run(&strategy, |(json, sources)| {
        let m = &materials[sources];
        let mut written: Vec<Question> = Vec::new();
        for answer in json.as_array().into_iter().flatten() {
            // The way the job reads it: text, then the structure, then the rules.
            let Ok(q) = serde_json::from_str::<RawQuestion>(&answer.to_string()) else {
                continue;
            };
            let number = written.len() + 1;
            if validate(&q, number, &written, m, &Echo::new("", &[])).is_ok() {
                written.push(build(&q, number, m));
            }
        }
        check_quiz(&written, sources)?;
        if !written.is_empty() {
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_reached("quizzes", accepted.get(), runner.config().cases);
}

fn raw(json: Value) -> RawQuestion {
    serde_json::from_value(json).expect("the shape of a question")
}

/// Found by `fuzz_quiz_validation_accepts_only_good_quizzes`: text made only of control
/// characters passed the blank checks but is empty once cleaned, so a quiz could have an
/// empty question, option or explanation.
#[test]
fn regression_control_characters_are_not_text() {
    let m = material(0);
    let q = |question: &str, options: [&str; 4], explanation: &str| {
        json!({"question": question, "options": options, "answer": 0,
               "explanation": explanation, "source": 0})
    };
    let good = q(
        "Which planet has the largest rings?",
        ["Saturn", "Mars", "Venus", "Mercury"],
        "Saturn's rings of ice are the largest.",
    );
    for (json, problem) in [
        (q("\u{1}", ["a", "b", "c", "d"], "x"), "is empty"),
        (q("Q?", ["a", "\u{1}", "c", "d"], "x"), "empty option"),
        (q("Q?", ["a", "b", "c", "d"], "\u{7f}"), "no explanation"),
    ] {
        let e = validate(&raw(json), 1, &[], &m, &Echo::new("", &[]))
            .err()
            .map(|p| p.to_string())
            .unwrap_or_default();
        assert!(e.contains(problem), "{problem}: {e}");
    }
    validate(&raw(good), 1, &[], &m, &Echo::new("", &[])).unwrap();
}

/// Options that differ only past the length kept, or only in what cleaning changes, are the
/// same option for the learner: two correct answers, or two alike.
#[test]
fn regression_options_alike_once_cleaned_are_the_same() {
    let m = material(0);
    let long = "x".repeat(FIELD_MAX_CHARS);
    for options in [
        [
            format!("{long}a"),
            format!("{long}b"),
            "c".into(),
            "d".into(),
        ],
        ["a<<<".into(), "a‹‹‹".into(), "c".into(), "d".into()],
        ["a\u{1}b".into(), "ab".into(), "c".into(), "d".into()],
    ] {
        let json = json!({"question": "Q?", "options": options, "answer": 3,
            "explanation": "x", "source": 0});
        let e = validate(&raw(json), 1, &[], &m, &Echo::new("", &[]))
            .err()
            .map(|p| p.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("options 1 and 2 are the same"),
            "{options:?}: {e}"
        );
    }
}
