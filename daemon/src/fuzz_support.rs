//! What the property tests named `fuzz_*` share: their settings and a few input strategies.
//!
//! `MENTOR_FUZZ_CASES` sets the cases per property (5,000 when unset: the CI form; the long
//! run is `MENTOR_FUZZ_CASES=100000 cargo test --release -p mentor-daemon -p mentor-shared
//! fuzz`). Failures are not persisted to files: a crash found becomes a plain regression test.

use proptest::prelude::*;
use serde_json::Value;

/// The settings of every `fuzz_*` property.
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("MENTOR_FUZZ_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(5_000);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// Short strings that matter to validators: blank, control characters, delimiters, case and
/// spacing variants, and now and then anything at all.
pub(crate) fn tricky_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-dA-D]{1,3}[.?!]?",
        1 => Just(String::new()),
        1 => Just(" \t\n ".to_string()),
        1 => Just("\u{1}\u{7f}".to_string()),
        1 => Just("\u{200b}".to_string()),
        1 => Just("<<<".to_string()),
        1 => Just("‹‹‹".to_string()),
        1 => Just("a\r\nb".to_string()),
        1 => "[a-c]{1,2}".prop_map(|s| format!("  {}  ", s.to_uppercase())),
        1 => (1_995usize..2_005, "[a-c]").prop_map(|(n, tail)| format!("{}{tail}", "x".repeat(n))),
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

/// Mostly plain words (so generated answers often pass), sometimes [`tricky_text`].
pub(crate) fn mostly_words() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z][a-z ]{0,6}",
        3 => sentence(),
        1 => tricky_text(),
    ]
}

/// Words of the test material's passages (see `jobs::test_material`) and others.
const VOCABULARY: &[&str] = &[
    "mitochondria",
    "make",
    "ATP",
    "energy",
    "cell",
    "nucleus",
    "holds",
    "DNA",
    "ribosomes",
    "build",
    "proteins",
    "membrane",
    "filters",
    "sugar",
    "light",
    "water",
    "enzymes",
    "split",
];

/// A sentence of 3 to 8 words of [`VOCABULARY`]: text with substance, for the checks that
/// want some.
pub(crate) fn sentence() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(VOCABULARY), 3..9)
        .prop_map(|words| format!("{}.", words.join(" ")))
}

/// Checks, at the end of a property over `cases` cases, that the generator reached the
/// accepting side often enough for the property to mean something (skipped on short runs).
pub(crate) fn assert_reached(what: &str, accepted: usize, cases: u32) {
    if cases >= 1_000 {
        assert!(
            accepted * 100 >= cases as usize,
            "only {accepted} of {cases} generated {what} were accepted: the generator needs work"
        );
    }
}

/// Any JSON value of modest size (integers only: floats need not survive a round trip).
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        tricky_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((tricky_text(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
