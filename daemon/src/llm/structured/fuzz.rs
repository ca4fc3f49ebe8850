//! Property tests of reading a structured answer: any text never panics and what is found is
//! a `{…}` or `[…]` slice of it; JSON wrapped the ways models wrap it (prose, code fences, a
//! `<think>` block) is found and read back exactly.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::fuzz_support::{fuzz_config, json_value};

/// Prose around the JSON: anything without braces or brackets.
fn prose() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[^\\[\\]{}<]{0,20}",
        Just("Sure! Here it is:\n```json\n".to_string()),
        Just("\n```\nEnjoy.".to_string()),
    ]
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Any text: no panic; the JSON found is a slice of the text that opens and closes like
    /// JSON; and parsing gives a value or a reason, never a panic.
    #[test]
    fn fuzz_any_text_is_read_without_panic(
        text in prop_oneof![
            any::<String>(),
            "[{}\\[\\]\":,a0 <>/thinkTHINK]{0,40}",
            json_value().prop_map(|v| v.to_string()),
        ],
    ) {
        if let Some(json) = extract_json(&text) {
            let start = json.as_ptr() as usize - text.as_ptr() as usize;
            prop_assert!(start + json.len() <= text.len());
            prop_assert!(json.starts_with(['{', '[']) && json.ends_with(['}', ']']), "{json:?}");
        }
        let accept = |_: &Value| Ok(());
        if let Err(reason) = parse::<Value>(&text, &accept) {
            prop_assert!(!reason.is_empty());
        }
        let refuse = |_: &Value| Err("no".to_string());
        prop_assert!(parse::<Value>(&text, &refuse).is_err());
    }

    /// An object or array wrapped in prose, fences and a `<think>` block is read back as is.
    #[test]
    fn fuzz_wrapped_json_is_found(
        value in json_value().prop_filter("an object or an array", |v| v.is_object() || v.is_array()),
        before in prose(),
        after in prose(),
        think in proptest::option::of(any::<String>()),
        pretty in any::<bool>(),
    ) {
        let json = if pretty {
            serde_json::to_string_pretty(&value).unwrap_or_default()
        } else {
            value.to_string()
        };
        let think = think
            .map(|t| format!("<think>{}</think>", t.replace('<', "")))
            .unwrap_or_default();
        let text = format!("{think}{before}{json}{after}");
        let got = parse::<Value>(&text, &|_: &Value| Ok(()));
        prop_assert_eq!(got, Ok(value));
    }
}
