//! Property tests of the podcast's validation: any JSON never panics, and an outline or a
//! segment accepted stays acceptable once cleaned — the outline keeps a title and every
//! segment a title and a point; the segment keeps every turn, spoken by a host, and with two
//! hosts both of them speak.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::fuzz_support::{fuzz_config, json_value, tricky_text};

fn speaker() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Alex".to_string()),
        Just(" sam ".to_string()),
        Just("SAM".to_string()),
        Just("Camille".to_string()),
        Just("Bob".to_string()),
        tricky_text(),
    ]
}

fn segment_json() -> impl Strategy<Value = Value> {
    let turn = (speaker(), tricky_text())
        .prop_map(|(speaker, text)| json!({"speaker": speaker, "text": text}));
    prop_oneof![
        6 => proptest::collection::vec(turn, 0..5).prop_map(|turns| json!({"turns": turns})),
        1 => json_value(),
    ]
}

fn outline_json() -> impl Strategy<Value = Value> {
    let segment = (
        tricky_text(),
        proptest::collection::vec(tricky_text(), 0..3),
    )
        .prop_map(|(title, points)| json!({"title": title, "points": points}));
    prop_oneof![
        6 => (tricky_text(), proptest::collection::vec(segment, 0..4))
            .prop_map(|(title, segments)| json!({"title": title, "segments": segments})),
        1 => json_value(),
    ]
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Any segment: no panic; accepted only if its cleaned turns keep every rule.
    #[test]
    fn fuzz_podcast_segment_validation(json in segment_json(), deep_dive in any::<bool>()) {
        let format = if deep_dive { PodcastFormat::DeepDive } else { PodcastFormat::Brief };
        let hosts = hosts(Lang::EnUs, format);
        let Ok(segment) = serde_json::from_str::<SegmentTurns>(&json.to_string()) else {
            return Ok(());
        };
        if validate_segment(&segment, &hosts, 1).is_err() {
            return Ok(());
        }
        let count = segment.turns.len();
        let turns = clean_turns(segment, &hosts);
        prop_assert_eq!(turns.len(), count, "turns lost in cleaning: {}", json);
        for t in &turns {
            prop_assert!(hosts.contains(&t.speaker));
            prop_assert!(!t.text.is_empty());
        }
        for h in &hosts {
            prop_assert!(turns.iter().any(|t| &t.speaker == h), "{h} is silent: {json}");
        }
    }

    /// Any outline: no panic; accepted only if, cleaned, it has a title and every segment a
    /// title and a point.
    #[test]
    fn fuzz_podcast_outline_validation(json in outline_json(), segments in 1usize..4) {
        let Ok(outline) = serde_json::from_str::<Outline>(&json.to_string()) else {
            return Ok(());
        };
        if validate_outline(&outline, segments).is_err() {
            return Ok(());
        }
        let outline = clean_outline(outline, segments);
        prop_assert!(!outline.title.is_empty(), "no title: {}", json);
        prop_assert_eq!(outline.segments.len(), segments);
        for s in &outline.segments {
            prop_assert!(!s.title.is_empty(), "a segment without a title: {}", json);
            prop_assert!(!s.points.is_empty(), "a segment without points: {}", json);
        }
    }
}

/// Found by `fuzz_podcast_segment_validation`: turns made only of control characters passed
/// the checks, then cleaning dropped them, leaving a segment with no turns (or one host).
#[test]
fn regression_turns_of_control_characters_say_nothing() {
    let hosts = hosts(Lang::EnUs, PodcastFormat::DeepDive);
    let turns = |texts: [&str; 2]| SegmentTurns {
        turns: vec![
            Turn {
                speaker: "Alex".into(),
                text: texts[0].into(),
            },
            Turn {
                speaker: " sam ".into(),
                text: texts[1].into(),
            },
        ],
    };
    let e = validate_segment(&turns(["\u{1}", "\u{1}\u{7f}"]), &hosts, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("segment 1 is empty"), "{e}");
    let e = validate_segment(&turns(["Hi.", "\u{1}"]), &hosts, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("turn 2 says nothing"), "{e}");
    validate_segment(&turns(["Hi.", "Hello."]), &hosts, 1).unwrap();
}

/// Found by `fuzz_podcast_outline_validation`: a title or every point made only of control
/// characters passed, and the outline kept an empty title or a segment without points.
#[test]
fn regression_outline_of_control_characters_is_refused() {
    let outline = |title: &str, segment: &str, point: &str| Outline {
        title: title.into(),
        segments: vec![mentor_shared::artifacts::OutlineSegment {
            title: segment.into(),
            points: vec![point.into()],
        }],
    };
    let e = validate_outline(&outline("\u{1}", "S", "p"), 1).unwrap_err();
    assert!(e.contains("title is empty"), "{e}");
    let e = validate_outline(&outline("T", "\u{1}\u{7f}", "p"), 1).unwrap_err();
    assert!(e.contains("segment 1 has no title"), "{e}");
    let e = validate_outline(&outline("T", "S", "\u{1}"), 1).unwrap_err();
    assert!(e.contains("segment 1 has no points"), "{e}");
    validate_outline(&outline("T", "S", "p"), 1).unwrap();
}
