//! Property tests of the study guide's validation: any JSON never panics, and an answer
//! accepted renders a guide with a title, and with every concept, glossary entry and question
//! non-empty as the learner reads it.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

use super::*;
use crate::fuzz_support::{assert_reached, fuzz_config, json_value, mostly_words, sentence};

use crate::jobs::test_material as material;

/// Material whose subject says too little to judge a title by (random titles can pass).
fn unnamed(sources: usize) -> Material {
    Material {
        subject: Default::default(),
        ..material(sources)
    }
}

/// Text of one or two sentences, or any of [`mostly_words`].
fn prose() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => (sentence(), sentence()).prop_map(|(a, b)| format!("{a} {b}")),
        1 => mostly_words(),
    ]
}

fn answer_json() -> impl Strategy<Value = Value> {
    let concept = (mostly_words(), prose(), proptest::collection::vec(0usize..5, 0..3))
        .prop_map(|(name, explanation, sources)| {
            json!({"name": name, "explanation": explanation, "sources": sources})
        });
    let term = (mostly_words(), prose())
        .prop_map(|(term, definition)| json!({"term": term, "definition": definition}));
    prop_oneof![
        6 => (
            mostly_words(),
            prose(),
            proptest::collection::vec(concept, 0..3),
            proptest::collection::vec(term, 0..3),
            proptest::collection::vec(prose(), 0..3),
        )
            .prop_map(|(title, overview, key_concepts, glossary, questions)| {
                json!({"title": title, "overview": overview, "key_concepts": key_concepts,
                       "glossary": glossary, "questions": questions})
            }),
        1 => json_value(),
    ]
}

/// The items of a Markdown section: the lines after `## {heading}` up to the next `## `.
fn section<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    md.split("\n## ")
        .find(|s| s.starts_with(heading))
        .map(|s| s.lines().skip(1).filter(|l| !l.trim().is_empty()).collect())
        .unwrap_or_default()
}

/// Any answer: no panic; accepted only when the guide shows something in every part.
#[test]
fn fuzz_study_guide_validation_accepts_only_full_guides() {
    let mut runner = TestRunner::new(fuzz_config());
    let materials: Vec<Material> = (0..3).map(unnamed).collect();
    let strategy = (answer_json(), 0usize..3);
    let accepted = std::cell::Cell::new(0);
    let l = localizer(Lang::EnUs);
    let questions_heading = t!(l, "guide-questions");
    let glossary_heading = t!(l, "guide-glossary");
    let result = runner.run(&strategy, |(json, sources)| {
        let m = &materials[sources];
        let Ok(answer) = serde_json::from_str::<Answer>(&json.to_string()) else {
            return Ok(());
        };
        if validate(&answer, m).is_err() {
            return Ok(());
        }
        let guide = render(&answer, m, Lang::EnUs);
        accepted.set(accepted.get() + 1);
        prop_assert!(!guide.title.is_empty(), "empty title from {json}");
        let md = &guide.markdown;
        for line in md.lines().filter(|l| l.starts_with("### ")) {
            // "### 1. name", then the explanation.
            let name = line.split_once(". ").map_or("", |(_, n)| n);
            prop_assert!(!name.trim().is_empty(), "a concept without a name:\n{md}");
        }
        for item in section(md, &glossary_heading) {
            let (term, definition) = item
                .strip_prefix("- **")
                .and_then(|r| r.split_once("**: "))
                .unwrap_or(("", ""));
            prop_assert!(
                !term.is_empty() && !definition.trim().is_empty(),
                "{item:?}:\n{md}"
            );
        }
        let questions = section(md, &questions_heading);
        prop_assert!(!questions.is_empty(), "no questions:\n{md}");
        for q in questions {
            let text = q.split_once(". ").map_or("", |(_, t)| t);
            prop_assert!(!text.trim().is_empty(), "an empty question {q:?}:\n{md}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_reached("study guides", accepted.get(), runner.config().cases);
}

/// Found by `fuzz_study_guide_validation_accepts_only_full_guides`: text made only of control
/// characters passed the blank checks but renders empty (an empty title, a concept without a
/// name, a glossary entry without a term, a question "1. ").
#[test]
fn regression_control_characters_are_not_text() {
    let m = unnamed(0);
    let base = json!({"title": "T",
        "overview": "Mitochondria make ATP, the energy of the cell, and the nucleus holds DNA.",
        "key_concepts": [{"name": "N",
        "explanation": "Mitochondria make ATP, the energy that every cell spends.",
        "sources": []}], "glossary": [{"term": "t", "definition": "the energy of cells"}],
        "questions": ["Why do cells spend so much energy?"]});
    let check = |pointer: &str, value: Value, problem: &str| {
        let mut json = base.clone();
        if let Some(slot) = json.pointer_mut(pointer) {
            *slot = value;
        }
        let a: Answer = serde_json::from_value(json).expect("the shape of an answer");
        let e = validate(&a, &m)
            .err()
            .map(|p| p.to_string())
            .unwrap_or_default();
        assert!(e.contains(problem), "{pointer}: {e}");
    };
    check("/title", json!("\u{1}"), "title is empty");
    check(
        "/key_concepts/0/name",
        json!("\u{1}\u{7f}"),
        "key concept 1 is empty",
    );
    check(
        "/key_concepts/0/explanation",
        json!("\u{1}"),
        "key concept 1 is empty",
    );
    check(
        "/glossary/0/term",
        json!("\u{1}"),
        "glossary entry 1 is empty",
    );
    check(
        "/glossary/0/definition",
        json!("\u{7f}"),
        "glossary entry 1 is empty",
    );
    check("/questions", json!(["\u{1}", " "]), "no questions");
    let a: Answer = serde_json::from_value(base).expect("the shape of an answer");
    validate(&a, &m).unwrap();
}
