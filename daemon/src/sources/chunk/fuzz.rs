//! Property tests of chunking, against its documented guarantees: every chunk non-blank,
//! trimmed and within `max(max_chars, 64)` characters, positions 0, 1, 2, …, and every
//! non-whitespace character of the text in exactly one chunk, in order.

use proptest::prelude::*;

use super::*;
use crate::fuzz_support::fuzz_config;

fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-z]{1,12}",
        2 => prop_oneof![
            Just(" "), Just("\n"), Just("\n\n"), Just("\r\n"), Just(". "), Just("! "),
            Just("? "), Just("\t"), Just("\u{a0}"), Just("\u{3000}"), Just("\u{2028}"),
            Just("e\u{301}"), Just("👩\u{200d}🔬"), Just("👍🏽"), Just("\u{200d}"),
            Just("\u{301}"), Just("光合作用"), Just("\u{85}"),
        ].prop_map(str::to_string),
        1 => (1usize..200, "[w\u{301}é]").prop_map(|(n, c)| c.repeat(n)),
        1 => any::<String>(),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

fn non_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_chunks_cover_the_text_within_budget(
        text in text(),
        max in prop_oneof![0usize..70, 64usize..400, 400usize..3_000],
    ) {
        let chunks = chunk_text(&text, max);
        let budget = max.max(64);
        for (i, c) in chunks.iter().enumerate() {
            prop_assert_eq!(c.position, i);
            prop_assert!(!c.text.trim().is_empty(), "blank chunk {}", i);
            prop_assert_eq!(c.text.trim(), c.text.as_str());
            prop_assert!(c.text.chars().count() <= budget, "chunk {} over {}", i, budget);
        }
        let joined: String = chunks.iter().map(|c| c.text.as_str()).collect();
        prop_assert_eq!(non_ws(&joined), non_ws(&text));
    }
}
