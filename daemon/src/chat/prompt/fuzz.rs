//! Property tests of the text cleaning every validator and generator relies on: any text,
//! any cap — no panic, at most the cap in characters, no control characters (but line breaks
//! and tabs in multi-line text), no delimiter left, blank ends trimmed.

use proptest::prelude::*;

use super::*;
use crate::fuzz_support::{fuzz_config, tricky_text};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(tricky_text(), 0..8).prop_map(|t| t.concat()),
        "[<> \r\n\t\u{1}a]{0,40}",
    ]
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_clean_keeps_its_promises(text in text(), max in prop_oneof![0usize..8, 0usize..3_000]) {
        for single in [true, false] {
            let out = clean(&text, max, single);
            prop_assert!(out.chars().count() <= max, "{} chars > {max}", out.chars().count());
            prop_assert_eq!(out.trim(), out.as_str());
            prop_assert!(!out.contains("<<<") && !out.contains(">>>"), "{out:?}");
            for c in out.chars() {
                let allowed = !single && (c == '\n' || c == '\t');
                prop_assert!(!c.is_control() || allowed, "{c:?} in {out:?}");
            }
            if single {
                prop_assert!(!out.contains("  ") && !out.contains('\n'), "{out:?}");
            }
        }
    }
}
