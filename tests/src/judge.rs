//! An independent judge of finished artifacts: given a quiz, a study guide or a podcast as JSON
//! (the `data` of a ready artifact, shaped as in `mentor_shared::artifacts`, or the whole
//! artifact with its `data`) and the plain text of the sources it was made from, it says whether
//! a person would call the artifact usable and, when not, why.
//!
//! It is built on other methods than the product's own quality gates
//! (`daemon/src/jobs/quality.rs`: repeated sentences, n-gram runs, counting, symbol ratios,
//! prompt echo, Jaccard and overlap of content words), so that the two do not share blind
//! spots:
//!
//! | reason code | what it looks at | method and threshold |
//! |---|---|---|
//! | `shape` | the JSON | the fields a person needs are there (title, questions, markdown, turns…) |
//! | `title` | every title | non-empty, ≤ 150 chars, at least half its tokens words and one of ≥ 3 letters; its naming words (generic ones such as "quiz", "guide" aside) not all near-misses (edit distance ≤ 2) of field names such as "title"; with sources, one naming word found in them |
//! | `degenerate` | long texts (≥ [`COMPRESSION_MIN_BYTES`]) | DEFLATE size / text size below [`MIN_COMPRESSION_RATIO`], over the whole text or any [`COMPRESSION_WINDOW`]-byte window (prose is 0.4–0.7, tables ≥ 0.27, loops ≤ 0.16) |
//! | `repetition` | items (questions, turns, sections) | conditional compression: an item whose DEFLATE cost after the earlier items is below [`REPEAT_MARGINAL`] of its cost alone repeats them; more than [`MAX_REPEATED_SHARE`] of the items doing so |
//! | `vocabulary` | prose (questions, explanations, guide, turns, outline points) | share of tokens that are words of a plausible length below [`MIN_WORD_SHARE`]; moving-average type/token ratio over [`TTR_WINDOW`] tokens below [`MIN_MATTR`] |
//! | `language` | prose with ≥ [`LANGUAGE_MIN_LETTERS`] letters, `en-*` or `fr-*` | cosine similarity of its character-trigram profile with built-in English and French profiles: the other language wins by more than [`LANGUAGE_MARGIN`] |
//! | `unsupported` | quiz questions and right answers, guide concept headings (`###`), podcast turns | fuzzy word matching (a shared prefix of ≥ 4 letters, at most 3 letters of suffix apart) and exact number matching (`0x7F` ~ `7F`, `4,294,967,295` ~ `4294967295`) against the sources: half the content words of an answer or heading, [`TURN_WORD_SHARE`] of a turn's; at least [`MIN_SUPPORTED_ANSWERS`] of the questions, [`MIN_SUPPORTED_HEADINGS`] of the headings, [`MIN_SUPPORTED_TURNS`] of the turns. When the artifact's language is not the sources' (by the trigram profiles), one word sharing its first 5 letters, accents aside, is enough |
//! | `options` | quiz questions | exactly 4 non-empty, distinct options; `answer` an index among them |
//! | `leak` | every text | instructions to a model ("JSON", "schema", "Write segment", "You write", "the learner's sources"…) or an error message ("could not be generated"), unless the sources say the same |
//! | `duration` | a podcast's audio | transcript words per minute of `audio.duration_ms` within [`WORDS_PER_MINUTE`] |
//! | `speakers` | a podcast | speakers named, each turn's speaker one of them, two voices in a deep dive |
//! | `structure` | a study guide | at least 40 words and a `###` concept heading |
//!
//! With no source text (an artifact from general knowledge) the `unsupported` checks and the
//! source part of the `title` check are skipped.
//!
//! ```
//! let quiz = serde_json::json!({"title": "titlme", "language": "en-US", "questions": []});
//! let verdict = mentor_tests::judge::judge("quiz", &quiz, "Some source text.");
//! assert!(!verdict.usable && verdict.has("title") && verdict.has("shape"));
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

/// Below this DEFLATE ratio (compressed / original bytes) a text is degenerate.
pub const MIN_COMPRESSION_RATIO: f64 = 0.2;
/// Texts shorter than this (bytes) are not judged by their compressibility.
pub const COMPRESSION_MIN_BYTES: usize = 250;
/// Window (bytes) for the local compressibility check of long texts.
pub const COMPRESSION_WINDOW: usize = 1024;
/// An item whose marginal DEFLATE cost after the earlier items is below this share of its
/// cost alone repeats them (questions of a drill made on one pattern measure ≥ 0.18, copies
/// and copies with a word changed ≤ 0.11).
pub const REPEAT_MARGINAL: f64 = 0.12;
/// More than this share of repeating items makes an artifact repetitive.
pub const MAX_REPEATED_SHARE: f64 = 0.25;
/// Least share of prose tokens that must be words.
pub const MIN_WORD_SHARE: f64 = 0.5;
/// Window (tokens) of the moving-average type/token ratio.
pub const TTR_WINDOW: usize = 50;
/// Least moving-average type/token ratio of a long text (real documents measure 0.69–0.85,
/// a drill of questions made on one pattern 0.41, a sentence said 8 times 0.18).
pub const MIN_MATTR: f64 = 0.35;
/// Fewer letters of running prose than this and the language is not judged.
pub const LANGUAGE_MIN_LETTERS: usize = 200;
/// How much better the other language's profile must match to call the language wrong
/// (1500-character stretches of the real documents, code and tables included, lean French by
/// at most 0.024; English text marked French leans English by 0.2 or more).
pub const LANGUAGE_MARGIN: f64 = 0.05;
/// Least share of quiz questions whose question and right answer are found in the sources.
pub const MIN_SUPPORTED_ANSWERS: f64 = 0.75;
/// Least share of a guide's concept headings found in the sources.
pub const MIN_SUPPORTED_HEADINGS: f64 = 0.6;
/// Least share of a turn's content words found in the sources for the turn to count as
/// drawing on them (on-topic turns measure ≥ 0.6, off-topic ones ≤ 0.25).
pub const TURN_WORD_SHARE: f64 = 0.4;
/// Least share of a podcast's substantial turns that share vocabulary with the sources.
pub const MIN_SUPPORTED_TURNS: f64 = 0.5;
/// Plausible speaking rates (words per minute) of a podcast's audio.
pub const WORDS_PER_MINUTE: (f64, f64) = (100.0, 260.0);
/// Words a quiz question needs at least (a question that teaches names its subject).
pub const MIN_QUESTION_WORDS: usize = 3;
/// Words an explanation, a concept's explanation, an overview, a definition and a question
/// to think about need at least.
pub const MIN_EXPLANATION_WORDS: usize = 4;
/// See [`MIN_EXPLANATION_WORDS`].
pub const MIN_CONCEPT_WORDS: usize = 10;
/// See [`MIN_EXPLANATION_WORDS`].
pub const MIN_OVERVIEW_WORDS: usize = 12;
/// See [`MIN_EXPLANATION_WORDS`].
pub const MIN_DEFINITION_WORDS: usize = 3;
/// See [`MIN_EXPLANATION_WORDS`].
pub const MIN_THOUGHT_WORDS: usize = 4;

/// What the judge says about one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether a person would call it usable (no reasons).
    pub usable: bool,
    /// Why not: each `"code: detail"`, the codes as in the module's table.
    pub reasons: Vec<String>,
}

impl Verdict {
    /// Whether one of the reasons has this code (`"title"`, `"degenerate"`, …).
    pub fn has(&self, code: &str) -> bool {
        self.reasons
            .iter()
            .any(|r| r.split(':').next().map(str::trim) == Some(code))
    }

    fn of(reasons: Vec<String>) -> Verdict {
        Verdict {
            usable: reasons.is_empty(),
            reasons,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.usable {
            return f.write_str("usable");
        }
        write!(f, "not usable: {}", self.reasons.join("; "))
    }
}

/// Judges `artifact` of `kind` (`"quiz"`, `"study_guide"` or `"podcast"`), made from sources
/// whose plain text (all of them, concatenated) is `sources_text`.
///
/// Mentor names a quiz "Quiz: " and the topic, or the notebook's title when there is no
/// topic: a notebook titled with words that are not in its sources makes such a title
/// `title`-unsupported, so add the notebook's title to `sources_text` in that case.
pub fn judge(kind: &str, artifact: &Value, sources_text: &str) -> Verdict {
    let data = unwrap_artifact(artifact);
    let src = SourceIndex::new(sources_text).for_language(text_of(data, "language"));
    let mut r = Reasons::default();
    if !data.is_object() {
        r.add("shape", "the artifact is not a JSON object");
        return Verdict::of(r.0);
    }
    match kind.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "quiz" => quiz(data, &src, &mut r),
        "study_guide" | "studyguide" | "guide" => study_guide(data, &src, &mut r),
        "podcast" => podcast(data, &src, &mut r),
        other => r.add("shape", format!("unknown kind “{other}”")),
    }
    leaks(data, &src, &mut r);
    Verdict::of(r.0)
}

/// The `data` of a whole artifact (`{id, kind, status, data, …}`), else the value itself.
fn unwrap_artifact(artifact: &Value) -> &Value {
    match artifact.get("data") {
        Some(data)
            if data.is_object()
                && ["questions", "markdown", "turns"]
                    .iter()
                    .all(|k| artifact.get(k).is_none()) =>
        {
            data
        }
        _ => artifact,
    }
}

#[derive(Default)]
struct Reasons(Vec<String>);

impl Reasons {
    fn add(&mut self, code: &str, detail: impl Into<String>) {
        let reason = format!("{code}: {}", detail.into());
        if !self.0.contains(&reason) {
            self.0.push(reason);
        }
    }
}

fn text_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn short(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The three kinds.

fn quiz(q: &Value, src: &SourceIndex, r: &mut Reasons) {
    title("title", text_of(q, "title"), src, r);
    let language = text_of(q, "language");
    if language.trim().is_empty() {
        r.add("shape", "the quiz has no language");
    }
    let Some(questions) = q.get("questions").and_then(Value::as_array) else {
        r.add("shape", "the quiz has no questions array");
        return;
    };
    if questions.is_empty() {
        r.add("shape", "the quiz has no questions");
        return;
    }
    let mut prose = String::new();
    let mut items = Vec::new();
    let mut unsupported = Vec::new();
    for (i, question) in questions.iter().enumerate() {
        let n = i + 1;
        let text = text_of(question, "question");
        if text.trim().is_empty() {
            r.add("shape", format!("question {n} has no text"));
            continue;
        }
        if !made_of_words(text) {
            r.add(
                "vocabulary",
                format!("question {n} is not made of words: “{}”", short(text)),
            );
        }
        if letter_words(text).len() < MIN_QUESTION_WORDS {
            r.add(
                "thin",
                format!(
                    "question {n} is too short to ask anything: “{}”",
                    short(text)
                ),
            );
        }
        let options: Vec<&str> = question
            .get("options")
            .and_then(Value::as_array)
            .map(|o| o.iter().map(|v| v.as_str().unwrap_or("")).collect())
            .unwrap_or_default();
        if options.len() != 4 {
            r.add(
                "options",
                format!("question {n} has {} options, not 4", options.len()),
            );
        }
        if options.iter().any(|o| o.trim().is_empty()) {
            r.add("options", format!("question {n} has an empty option"));
        }
        let keys: HashSet<String> = options.iter().map(|o| option_key(o)).collect();
        if keys.len() < options.len() {
            r.add(
                "options",
                format!("question {n} has options that are the same"),
            );
        }
        let answer = question.get("answer").and_then(Value::as_u64);
        let right = answer.and_then(|a| options.get(a as usize).copied());
        let Some(right) = right else {
            r.add(
                "options",
                format!("question {n}'s answer is not an index among its options"),
            );
            continue;
        };
        let explanation = text_of(question, "explanation");
        if letter_words(explanation).len() < MIN_EXPLANATION_WORDS {
            r.add(
                "thin",
                format!(
                    "question {n}'s explanation explains nothing: “{}”",
                    short(explanation)
                ),
            );
        }
        for field in options.iter().copied().chain([text, explanation]) {
            if self_reference(field) {
                r.add(
                    "self-reference",
                    format!("question {n} is about the quiz itself: “{}”", short(field)),
                );
            }
        }
        prose.push_str(text);
        prose.push('\n');
        prose.push_str(explanation);
        prose.push('\n');
        items.push(format!("{text}\n{}\n{explanation}", options.join("\n")));
        let grounded = option_supported(right, src) && question_supported(text, src);
        if !src.is_empty() && !grounded {
            unsupported.push(format!("{n} (“{}” → “{}”)", short(text), short(right)));
        }
    }
    if !src.is_empty() && !items.is_empty() {
        let supported = items.len().saturating_sub(unsupported.len());
        if (supported as f64) < MIN_SUPPORTED_ANSWERS * items.len() as f64 {
            r.add(
                "unsupported",
                format!(
                    "{} of {} questions and their right answers are not found in the sources: {}",
                    unsupported.len(),
                    items.len(),
                    unsupported.join(", ")
                ),
            );
        }
    }
    repetition("questions", &items, r);
    prose_checks("quiz", &prose, r);
    language_check("quiz", &prose, language, r);
}

fn study_guide(g: &Value, src: &SourceIndex, r: &mut Reasons) {
    title("title", text_of(g, "title"), src, r);
    let language = text_of(g, "language");
    if language.trim().is_empty() {
        r.add("shape", "the study guide has no language");
    }
    let markdown = text_of(g, "markdown");
    if markdown.trim().is_empty() {
        r.add("shape", "the study guide has no markdown");
        return;
    }
    if letter_words(markdown).len() < 40 {
        r.add("structure", "the study guide has fewer than 40 words");
    }
    let headings: Vec<&str> = markdown
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("###"))
        .filter(|h| !h.starts_with('#'))
        .collect();
    if headings.is_empty() {
        r.add(
            "structure",
            "the study guide has no concept heading (### line)",
        );
    }
    guide_substance(markdown, r);
    if !src.is_empty() {
        let mut judged = 0;
        let mut missing = Vec::new();
        for heading in &headings {
            let words = src.words_of(heading);
            if words.is_empty() {
                continue;
            }
            judged += 1;
            let found = words.iter().filter(|w| src.has_word(w)).count();
            if !src.enough(found, words.len()) {
                missing.push(format!("“{}”", short(heading.trim())));
            }
        }
        let supported = judged - missing.len();
        if judged > 0 && (supported as f64) < MIN_SUPPORTED_HEADINGS * judged as f64 {
            r.add(
                "unsupported",
                format!(
                    "{} of {judged} concept headings are not found in the sources: {}",
                    missing.len(),
                    missing.join(", ")
                ),
            );
        }
    }
    let sections: Vec<String> = markdown
        .split("\n#")
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .collect();
    repetition("sections", &sections, r);
    prose_checks("study guide", markdown, r);
    language_check("study guide", markdown, language, r);
}

fn podcast(p: &Value, src: &SourceIndex, r: &mut Reasons) {
    title("title", text_of(p, "title"), src, r);
    let language = text_of(p, "language");
    if language.trim().is_empty() {
        r.add("shape", "the podcast has no language");
    }
    if let Some(outline) = p.get("outline") {
        let outline_title = text_of(outline, "title");
        if !outline_title.trim().is_empty() {
            title("title", outline_title, src, r);
        }
        for segment in outline
            .get("segments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let seg_title = text_of(segment, "title");
            if !made_of_words(seg_title) {
                r.add(
                    "vocabulary",
                    format!(
                        "an outline segment's title is not made of words: “{}”",
                        short(seg_title)
                    ),
                );
            }
            for point in segment
                .get("points")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let point = point.as_str().unwrap_or("");
                if !made_of_words(point) {
                    r.add(
                        "vocabulary",
                        format!("an outline point is not made of words: “{}”", short(point)),
                    );
                }
            }
        }
    }
    let speakers: Vec<&str> = p
        .get("speakers")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).map(str::trim).collect())
        .unwrap_or_default();
    if speakers.is_empty() || speakers.iter().any(|s| s.is_empty()) {
        r.add("speakers", "the podcast names no speakers");
    }
    let turns: Vec<(&str, &str)> = p
        .get("turns")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .map(|t| (text_of(t, "speaker").trim(), text_of(t, "text")))
                .collect()
        })
        .unwrap_or_default();
    let transcript = text_of(p, "transcript");
    if turns.is_empty() {
        r.add("shape", "the podcast has no turns");
    }
    if turns.iter().any(|(_, text)| text.trim().is_empty()) {
        r.add("shape", "a turn of the podcast is empty");
    }
    if !speakers.is_empty() {
        if let Some((who, _)) = turns.iter().find(|(s, _)| !speakers.contains(s)) {
            r.add(
                "speakers",
                format!("a turn's speaker “{who}” is not one of the speakers"),
            );
        }
    }
    let voices: HashSet<&str> = turns.iter().map(|(s, _)| *s).collect();
    if text_of(p, "format") == "deep_dive" && !turns.is_empty() && voices.len() < 2 {
        r.add("speakers", "a deep dive in which only one speaker talks");
    }
    let texts: Vec<String> = turns.iter().map(|(_, t)| t.to_string()).collect();
    let spoken = texts.join("\n");
    if !src.is_empty() {
        let mut judged = 0;
        let mut grounded = 0;
        for text in &texts {
            let words = src.words_of(text);
            if words.len() < 3 {
                continue;
            }
            judged += 1;
            let found = words.iter().filter(|w| src.has_word(w)).count();
            let enough = if src.loose {
                found >= 1
            } else {
                found >= 2 && found as f64 >= TURN_WORD_SHARE * words.len() as f64
            };
            if enough {
                grounded += 1;
            }
        }
        if judged > 0 && (grounded as f64) < MIN_SUPPORTED_TURNS * judged as f64 {
            r.add(
                "unsupported",
                format!("only {grounded} of {judged} turns share vocabulary with the sources"),
            );
        }
    }
    repetition("turns", &texts, r);
    prose_checks("turns", &spoken, r);
    if !transcript.trim().is_empty() {
        degenerate("transcript", transcript, r);
        if word_share(transcript) < MIN_WORD_SHARE {
            r.add("vocabulary", "the transcript is mostly not words");
        }
    }
    language_check("podcast", &spoken, language, r);
    if let Some(audio) = p.get("audio").filter(|a| a.is_object()) {
        let words = if spoken.trim().is_empty() {
            tokens(transcript).len()
        } else {
            tokens(&spoken).len()
        };
        let ms = audio
            .get("duration_ms")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if ms == 0 {
            r.add("duration", "the audio has no length");
        } else if words >= 30 || ms > 60_000 {
            let wpm = words as f64 / (ms as f64 / 60_000.0);
            let (least, most) = WORDS_PER_MINUTE;
            if !(least..=most).contains(&wpm) {
                r.add(
                    "duration",
                    format!(
                        "{words} words in {:.1} minutes of audio is {wpm:.0} words a minute, \
                         not {least:.0}–{most:.0}",
                        ms as f64 / 60_000.0
                    ),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared checks.

/// Words a title may be made of without the sources saying them.
const GENERIC_TITLE_WORDS: &str =
    "quiz quizz guide study podcast episode overview introduction intro basics essentials \
review summary understanding exploring explained deep dive brief notes fundamentals \
primer révision découverte notions comprendre bases résumé aperçu étude fiche épisode \
essentiel principes explorer plongée questionnaire";

/// Field names and placeholders a model may write instead of a title.
const PLACEHOLDER_WORDS: &str =
    "title titre topic sujet name nom untitled string text texte example exemple placeholder \
lorem ipsum todo tbd none null undefined sans";

fn title(what: &str, title: &str, src: &SourceIndex, r: &mut Reasons) {
    let t = title.trim();
    if t.is_empty() {
        r.add(what, "empty");
        return;
    }
    if t.chars().count() > 150 {
        r.add(what, format!("too long for a title: “{}”", short(t)));
    }
    if !made_of_words(t) {
        r.add(what, format!("not made of words: “{}”", short(t)));
        return;
    }
    let words = letter_words(t);
    // The words that name the material: not function words, not "quiz", "guide"…
    let naming: Vec<String> = src
        .words_of(t)
        .into_iter()
        .filter(|w| !listed(GENERIC_TITLE_WORDS, w))
        .collect();
    let placeholder = |w: &str| {
        PLACEHOLDER_WORDS.split_whitespace().any(|p| {
            if w.chars().count() >= 5 && p.chars().count() >= 4 {
                edit_distance(w, p) <= 2
            } else {
                w == p
            }
        })
    };
    if !naming.is_empty() && naming.iter().all(|w| placeholder(w)) {
        r.add(what, format!("a placeholder, not a title: “{}”", short(t)));
    }
    if src.is_empty() {
        return;
    }
    let only_generic = words.iter().any(|w| listed(GENERIC_TITLE_WORDS, w));
    let found = if naming.is_empty() {
        only_generic || words.iter().any(|w| src.words.contains(w))
    } else {
        naming.iter().any(|w| src.has_word(w))
    };
    let numbers = numbers_of(t);
    let number_found = !numbers.is_empty() && numbers.iter().all(|n| src.has_number(n));
    if !found && !number_found {
        r.add(
            what,
            format!("none of its words is in the sources: “{}”", short(t)),
        );
    }
}

/// Compressibility, word share and variety of a prose text.
fn prose_checks(what: &str, text: &str, r: &mut Reasons) {
    degenerate(what, text, r);
    let toks = tokens(text);
    if toks.len() >= 5 && word_share(text) < MIN_WORD_SHARE {
        r.add(
            "vocabulary",
            format!(
                "the {what} is mostly not words ({:.0}% words)",
                100.0 * word_share(text)
            ),
        );
    }
    if toks.len() >= 2 * TTR_WINDOW {
        let m = mattr(&toks);
        if m < MIN_MATTR {
            r.add(
                "vocabulary",
                format!("the {what} says the same few words over and over (type/token {m:.2})"),
            );
        }
    }
}

fn deflated(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, 6).len()
}

/// The DEFLATE ratio of `text`, and the lowest ratio of its windows.
fn compression(text: &str) -> (f64, f64) {
    let bytes = text.as_bytes();
    let whole = deflated(bytes) as f64 / bytes.len().max(1) as f64;
    let mut lowest = whole;
    if bytes.len() >= 2 * COMPRESSION_WINDOW {
        let mut start = 0;
        while start + COMPRESSION_WINDOW <= bytes.len() {
            let w = &bytes[start..start + COMPRESSION_WINDOW];
            lowest = lowest.min(deflated(w) as f64 / w.len() as f64);
            start += COMPRESSION_WINDOW / 2;
        }
    }
    (whole, lowest)
}

fn degenerate(what: &str, text: &str, r: &mut Reasons) {
    if text.trim().len() < COMPRESSION_MIN_BYTES {
        return;
    }
    let (whole, lowest) = compression(text.trim());
    if whole < MIN_COMPRESSION_RATIO {
        r.add(
            "degenerate",
            format!(
                "the {what} compresses to {:.0}% of its size: it repeats itself",
                100.0 * whole
            ),
        );
    } else if lowest < MIN_COMPRESSION_RATIO {
        r.add(
            "degenerate",
            format!(
                "part of the {what} compresses to {:.0}% of its size: it loops",
                100.0 * lowest
            ),
        );
    }
}

/// Items (of ≥ 20 bytes) that mostly repeat the ones before them, by conditional compression.
fn repeated_items(items: &[String]) -> usize {
    let mut repeated = 0;
    let mut before = String::new();
    for item in items {
        let item = item.trim();
        if item.len() >= 20 && !before.is_empty() {
            let alone = deflated(item.as_bytes()) as f64;
            let base = deflated(before.as_bytes());
            let both = deflated(format!("{before}{item}").as_bytes());
            let marginal = both.saturating_sub(base) as f64;
            if marginal < REPEAT_MARGINAL * alone {
                repeated += 1;
            }
        }
        before.push_str(item);
        before.push('\n');
        if before.len() > 16_384 {
            let mut cut = before.len() - 16_384;
            while !before.is_char_boundary(cut) {
                cut += 1;
            }
            before.drain(..cut);
        }
    }
    repeated
}

fn repetition(what: &str, items: &[String], r: &mut Reasons) {
    if items.len() < 2 {
        return;
    }
    let repeated = repeated_items(items);
    if repeated as f64 > MAX_REPEATED_SHARE * items.len() as f64 {
        r.add(
            "repetition",
            format!("{repeated} of {} {what} repeat earlier ones", items.len()),
        );
    }
}

/// Phrases of instructions to a model, or of error messages, that a learner must never read;
/// `true`: only at the start of a sentence ("You write…", not "before you write a file").
const LEAK_MARKERS: &[(&str, bool)] = &[
    ("json", false),
    ("schema", false),
    ("the learner's sources", false),
    ("every turn is exactly", false),
    ("respond only with", false),
    ("as an ai", false),
    ("could not be generated", false),
    ("failed to generate", false),
    ("les sources de l'apprenant", false),
    ("n'a pas pu être généré", false),
    ("write segment", true),
    ("you write", true),
    ("write every turn", true),
    ("output only", true),
    ("tu écris", true),
    ("vous écrivez", true),
    ("écris chaque", true),
    ("réponds uniquement", true),
];

/// Every learner-facing string of the artifact (not ids, paths, voices, source refs).
fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    const SKIP: &[&str] = &[
        "id",
        "path",
        "engine",
        "voices",
        "language",
        "format",
        "difficulty",
        "sources",
        "source",
        "sample_rate",
        "duration_ms",
    ];
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !SKIP.contains(&k.as_str()))
            .for_each(|(_, v)| collect_strings(v, out)),
        _ => {}
    }
}

fn leaks(data: &Value, src: &SourceIndex, r: &mut Reasons) {
    let mut strings = Vec::new();
    collect_strings(data, &mut strings);
    let text = normalize(&strings.join("\n"));
    for &(marker, at_start) in LEAK_MARKERS {
        if contains_phrase(&text, marker, at_start) && !contains_phrase(&src.text, marker, false) {
            r.add(
                "leak",
                format!("it says “{marker}”, as instructions to a model or an error do"),
            );
        }
    }
}

/// Whether `phrase` occurs in `text` between word boundaries (both normalized), and with
/// `at_start` at the start of the text, a line or a sentence.
fn contains_phrase(text: &str, phrase: &str, at_start: bool) -> bool {
    text.match_indices(phrase).any(|(i, _)| {
        let head = &text[..i];
        let before = head.chars().next_back();
        let after = text[i + phrase.len()..].chars().next();
        let bounded =
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        let starts = head
            .trim_end_matches(|c: char| {
                (c.is_whitespace() && c != '\n') || matches!(c, '"' | '*' | '#' | '-' | '(' | '\'')
            })
            .chars()
            .next_back()
            .is_none_or(|c| matches!(c, '.' | '!' | '?' | ':' | ';' | '\n'));
        bounded && (!at_start || starts)
    })
}

// ---------------------------------------------------------------------------------------------
// Language: character-trigram profiles.

const ENGLISH_SAMPLE: &str = "The teacher explains how the system works and why each part \
matters. When you read a manual, you look for the steps that you have to follow and for the \
reasons behind them. This is the first thing that most people notice: a good explanation starts \
with what the reader already knows, then it adds one new idea at a time. The program reads the \
input file, compresses the data, and writes the result to the output. If there is an error, it \
stops and reports what went wrong, so that the user can fix the problem and try again. There are \
many ways to store information, and each of them has its own strengths and weaknesses. It is \
important to understand which one fits your needs before you choose. We will look at the numbers \
later, but for now it is enough to know that they are all within the same range. Would you like \
to hear more about the history of these ideas? They were developed over many years by people who \
worked together and shared their results with the world. Think about the questions at the end of \
this chapter, and write down your answers in your own words. Which of these statements is true, \
and why should the others be wrong?";

const FRENCH_SAMPLE: &str = "Le professeur explique comment fonctionne le système et pourquoi \
chaque partie est importante. Quand on lit un manuel, on cherche les étapes qu'il faut suivre et \
les raisons qui les justifient. C'est la première chose que la plupart des gens remarquent : une \
bonne explication commence par ce que le lecteur sait déjà, puis elle ajoute une idée nouvelle à \
la fois. Le programme lit le fichier d'entrée, compresse les données et écrit le résultat dans le \
fichier de sortie. S'il y a une erreur, il s'arrête et indique ce qui s'est mal passé, afin que \
l'utilisateur puisse corriger le problème et recommencer. Il existe de nombreuses façons de \
conserver l'information, et chacune a ses forces et ses faiblesses. Il est important de \
comprendre laquelle répond à vos besoins avant de choisir. Nous verrons les chiffres plus tard, \
mais pour l'instant il suffit de savoir qu'ils se trouvent tous dans le même intervalle. \
Voulez-vous en savoir davantage sur l'histoire de ces idées ? Elles ont été développées pendant \
de longues années par des personnes qui travaillaient ensemble et qui partageaient leurs \
résultats avec le monde entier. Réfléchissez aux questions à la fin de ce chapitre et notez vos \
réponses avec vos propres mots. Laquelle de ces affirmations est vraie, et pourquoi les autres \
sont-elles fausses ?";

type Profile = HashMap<[char; 3], f64>;

/// The words of running prose in `text`: tokens that are words of at most 15 letters, not
/// acronyms (code, URLs, identifiers and table cells left out), normalized.
fn prose_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|t| {
            let letters = t.chars().filter(|c| c.is_alphabetic()).count();
            !(letters >= 2 && t.chars().all(|c| !c.is_lowercase()))
        })
        .map(normalize)
        .filter(|t| wordlike(t) && t.chars().count() <= 15)
        .collect()
}

fn trigram_profile(text: &str) -> Profile {
    let mut profile = Profile::new();
    for word in prose_words(text) {
        let word = word.as_str();
        let chars: Vec<char> = std::iter::once(' ')
            .chain(word.chars())
            .chain(std::iter::once(' '))
            .collect();
        for w in chars.windows(3) {
            *profile.entry([w[0], w[1], w[2]]).or_insert(0.0) += 1.0;
        }
    }
    profile
}

fn cosine(a: &Profile, b: &Profile) -> f64 {
    let dot: f64 = a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum();
    let na: f64 = a.values().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.values().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// How much `text` looks like English and like French (cosine similarities, 0–1).
pub fn language_scores(text: &str) -> (f64, f64) {
    static PROFILES: OnceLock<(Profile, Profile)> = OnceLock::new();
    let (en, fr) = PROFILES.get_or_init(|| {
        (
            trigram_profile(ENGLISH_SAMPLE),
            trigram_profile(FRENCH_SAMPLE),
        )
    });
    let p = trigram_profile(text);
    (cosine(&p, en), cosine(&p, fr))
}

fn language_check(what: &str, text: &str, language: &str, r: &mut Reasons) {
    let claimed = language.trim().to_ascii_lowercase();
    let claimed = claimed.split(['-', '_']).next().unwrap_or("");
    if !matches!(claimed, "en" | "fr") {
        return;
    }
    let letters: usize = prose_words(text).iter().map(|w| w.chars().count()).sum();
    if letters < LANGUAGE_MIN_LETTERS {
        return;
    }
    let (en, fr) = language_scores(text);
    let (mine, other, other_name) = if claimed == "en" {
        (en, fr, "French")
    } else {
        (fr, en, "English")
    };
    if other > mine + LANGUAGE_MARGIN {
        r.add(
            "language",
            format!("the {what} reads as {other_name} ({other:.2} against {mine:.2}), but says it is {language}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Support: the sources' words and numbers.

struct SourceIndex {
    /// Normalized source text.
    text: String,
    /// Every word, and the prefixes of ≥ 4 letters of each that drop at most 3 letters.
    stems: HashSet<String>,
    /// Every word.
    words: HashSet<String>,
    /// Every number-like token (holding a digit), in a few spellings.
    numbers: HashSet<String>,
    /// The first 5 letters of every word of 6 or more (for matching across languages).
    heads: HashSet<String>,
    /// The sources' language (`en`, `fr`) when clear.
    language: Option<&'static str>,
    /// Whether the artifact is in another language than the sources: then words match
    /// loosely (a shared 5-letter start) and one found word is enough.
    loose: bool,
}

impl SourceIndex {
    fn new(text: &str) -> SourceIndex {
        let text = normalize(text);
        let mut stems = HashSet::new();
        let mut words = HashSet::new();
        let mut heads = HashSet::new();
        for w in letter_words(&text) {
            for p in prefixes(&w) {
                stems.insert(p.to_string());
            }
            if let Some(h) = head(&w) {
                heads.insert(h);
            }
            words.insert(w);
        }
        let mut numbers = HashSet::new();
        for n in numbers_of(&text) {
            for part in n.split(|c: char| !c.is_ascii_digit()) {
                if !part.is_empty() {
                    numbers.insert(part.to_string());
                }
            }
            numbers.insert(n.replace([',', '_'], ""));
            numbers.insert(n);
        }
        let sample: String = text.chars().take(50_000).collect();
        let language =
            if sample.chars().filter(|c| c.is_alphabetic()).count() < LANGUAGE_MIN_LETTERS {
                None
            } else {
                let (en, fr) = language_scores(&sample);
                if en > fr + LANGUAGE_MARGIN {
                    Some("en")
                } else if fr > en + LANGUAGE_MARGIN {
                    Some("fr")
                } else {
                    None
                }
            };
        SourceIndex {
            text,
            stems,
            words,
            numbers,
            heads,
            language,
            loose: false,
        }
    }

    /// Matches loosely when `artifact_language` (`en-US`, `fr-FR`) is not the sources'.
    fn for_language(mut self, artifact_language: &str) -> SourceIndex {
        let lang = artifact_language.trim().to_ascii_lowercase();
        let lang = lang.split(['-', '_']).next().unwrap_or("").to_string();
        self.loose =
            self.language.is_some_and(|l| l != lang) && matches!(lang.as_str(), "en" | "fr");
        self
    }

    /// Whether enough of `total` words were found: half, or one when matching loosely.
    fn enough(&self, found: usize, total: usize) -> bool {
        if self.loose {
            found >= 1 || total == 0
        } else {
            found * 2 >= total
        }
    }

    /// The words of `text` that support is judged on.
    fn words_of(&self, text: &str) -> Vec<String> {
        content_words(text, if self.loose { 3 } else { 4 })
    }
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.numbers.is_empty()
    }

    /// Whether a (normalized) word, or a word differing from it by a short suffix, is there.
    fn has_word(&self, word: &str) -> bool {
        prefixes(word).any(|p| self.stems.contains(p))
            || (self.loose && head(word).is_some_and(|h| self.heads.contains(&h)))
    }

    /// Whether a (normalized) number is there: as written, without separators, or as hex
    /// with or without `0x`.
    fn has_number(&self, n: &str) -> bool {
        let plain = n.replace([',', '_'], "");
        let found = |s: &str| self.numbers.contains(s);
        found(n)
            || found(&plain)
            || plain.strip_prefix("0x").is_some_and(found)
            || found(&format!("0x{plain}"))
    }
}

/// The first 5 letters of a word of 6 letters or more, accents dropped.
fn head(word: &str) -> Option<String> {
    if word.chars().count() < 6 {
        return None;
    }
    Some(
        word.chars()
            .take(5)
            .map(|c| match c {
                'à' | 'â' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                _ => c,
            })
            .collect(),
    )
}

/// `word` and its prefixes down to max(4, len − 3) letters (just `word` when shorter than 4).
fn prefixes(word: &str) -> impl Iterator<Item = &str> {
    let ends: Vec<usize> = word
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .chain(std::iter::once(word.len()))
        .collect();
    let n = ends.len();
    let least = if n < 4 { n } else { 4.max(n.saturating_sub(3)) };
    (least..=n)
        .rev()
        .filter(move |&k| k >= 1)
        .map(move |k| &word[..ends[k - 1]])
}

/// Whether the right option of a question is found in the sources: its numbers all there,
/// and half of its content words (fuzzily); an option of short words only must have them all.
fn option_supported(option: &str, src: &SourceIndex) -> bool {
    let option = normalize(option);
    let nums = numbers_of(&option);
    let nums_found = nums.iter().all(|n| src.has_number(n));
    let content = src.words_of(&option);
    if !content.is_empty() {
        let found = content.iter().filter(|w| src.has_word(w)).count();
        return nums_found && src.enough(found, content.len());
    }
    if !nums.is_empty() {
        return nums_found;
    }
    let words = letter_words(&option);
    !words.is_empty() && words.iter().all(|w| src.words.contains(w))
}

/// Whether a question is about the sources: with two or more content words, one is there.
fn question_supported(question: &str, src: &SourceIndex) -> bool {
    let content = src.words_of(question);
    content.len() < 2 || content.iter().any(|w| src.has_word(w))
}

/// An option's identity: its letters and digits, lowercased.
fn option_key(option: &str) -> String {
    normalize(option)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

/// Lowercased, with typographic ligatures and quotes made plain.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ﬀ' => out.push_str("ff"),
            'ﬁ' => out.push_str("fi"),
            'ﬂ' => out.push_str("fl"),
            'ﬃ' => out.push_str("ffi"),
            'ﬄ' => out.push_str("ffl"),
            'ﬅ' | 'ﬆ' => out.push_str("st"),
            '’' | '‘' | 'ʼ' | '`' => out.push('\''),
            '“' | '”' | '«' | '»' => out.push('"'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The runs of letters, normalized.
fn letter_words(text: &str) -> Vec<String> {
    normalize(text)
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Function words (of 4 letters or more) of English and French, left out of content words.
const STOPWORDS: &str =
    "that this with from have has which there their what when where will would about into \
than then them they these those been were your also more most some such only other each \
very just like does over under after before between because while should could being \
here both many much well following true false dans pour avec sont cette elle elles mais \
plus nous vous leur leurs être avoir fait comme tout tous toute toutes aussi sans sous \
entre très donc alors quand quel quelle quels quelles dont ainsi même autre autres peut \
faut était sera ceux celle celui chaque encore avant après depuis lors bien suivant \
suivante vrai faux parmi laquelle lequel";

/// Function words of 3 letters of English and French.
const SHORT_STOPWORDS: &str =
    "the and for are was its how why who not but you can all any one two les des une est par \
sur aux qui que ses son sont pas vos nos ces mes tes lui été fut";

/// Whether `word` is one of the space-separated words of `list`.
fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// Distinct words of `min_len` letters or more (3 or 4) that are not function words.
fn content_words(text: &str, min_len: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    letter_words(text)
        .into_iter()
        .filter(|w| {
            let n = w.chars().count();
            n >= min_len && !listed(STOPWORDS, w) && !listed(SHORT_STOPWORDS, w)
        })
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// Number-like tokens (runs of letters, digits, `.`, `,` and `_` holding a digit), normalized.
fn numbers_of(text: &str) -> Vec<String> {
    let text = normalize(text);
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | ',' | '_')))
        .map(|t| t.trim_matches(|c| matches!(c, '.' | ',' | '_')))
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Whitespace-separated tokens, punctuation trimmed, punctuation-only ones dropped, normalized.
fn tokens(text: &str) -> Vec<String> {
    normalize(text)
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a (trimmed) token is a word of a plausible length: letters, maybe joined by `'` or
/// `-`, 1 to 24 of them, with a vowel when 5 or more.
/// Whether `text` speaks of the quiz's own parts ("question 2", "option 3", "passage 1",
/// "the answer is"): a quiz about itself teaches nothing.
fn self_reference(text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let numbered = words.windows(2).any(|w| {
        matches!(
            w[0].as_str(),
            "question" | "questions" | "option" | "options" | "passage" | "passages"
        ) && w[1].chars().all(|c| c.is_ascii_digit())
    });
    let told = text.to_lowercase().contains("the answer is");
    numbered || told
}

/// The informative parts of a study guide's Markdown, each long enough to say something:
/// the overview (under the title), each concept's explanation (under its `###`), each
/// glossary definition (and not the term again), each question to think about.
fn guide_substance(markdown: &str, r: &mut Reasons) {
    let mut sections = markdown.split("\n## ");
    let head = sections.next().unwrap_or("");
    let overview: String = head.lines().skip(1).collect::<Vec<_>>().join(" ");
    if letter_words(&overview).len() < MIN_OVERVIEW_WORDS {
        r.add(
            "thin",
            format!("the overview says almost nothing: “{}”", short(&overview)),
        );
    }
    for (i, section) in sections.enumerate() {
        let mut lines = section.lines();
        let _heading = lines.next();
        let body: Vec<&str> = lines.collect();
        // The sections in order: key concepts, glossary, questions, sources.
        match i {
            0 => {
                for concept in section.split("\n### ").skip(1) {
                    let mut lines = concept.lines();
                    let name = lines.next().unwrap_or("");
                    let explanation: String = lines
                        .filter(|l| !(l.starts_with('*') && l.ends_with('*')))
                        .collect::<Vec<_>>()
                        .join(" ");
                    if letter_words(&explanation).len() < MIN_CONCEPT_WORDS {
                        r.add(
                            "thin",
                            format!("the concept “{}” is not explained", short(name)),
                        );
                    }
                }
            }
            1 => {
                for line in body.iter().filter_map(|l| l.strip_prefix("- **")) {
                    let (term, definition) = line.split_once("**").unwrap_or((line, ""));
                    let definition = definition.trim_start_matches([':', ' ', '\u{a0}']);
                    let same = normalize(term) == normalize(definition);
                    if same || letter_words(definition).len() < MIN_DEFINITION_WORDS {
                        r.add(
                            "thin",
                            format!("the glossary does not define “{}”", short(term)),
                        );
                    }
                }
            }
            2 => {
                for line in body.iter().filter(|l| !l.trim().is_empty()) {
                    let text = line.split_once(". ").map_or(*line, |(_, t)| t);
                    if letter_words(text).len() < MIN_THOUGHT_WORDS {
                        r.add(
                            "thin",
                            format!("a question to think about asks nothing: “{}”", short(text)),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn wordlike(token: &str) -> bool {
    const VOWELS: &str = "aeiouyàâäéèêëîïôöùûüÿæœ";
    let letters = token.chars().filter(|c| c.is_alphabetic()).count();
    token
        .chars()
        .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        && (1..=24).contains(&letters)
        && (letters < 5 || token.chars().any(|c| VOWELS.contains(c)))
}

/// The share of a text's tokens that are words.
fn word_share(text: &str) -> f64 {
    let toks = tokens(text);
    if toks.is_empty() {
        return 0.0;
    }
    toks.iter().filter(|t| wordlike(t)).count() as f64 / toks.len() as f64
}

/// Whether a short text (a title, a point, a question) is made of words: half its tokens
/// words, one of them of 3 letters or more.
fn made_of_words(text: &str) -> bool {
    let toks = tokens(text);
    let words = toks.iter().filter(|t| wordlike(t)).count();
    !toks.is_empty()
        && words * 2 >= toks.len()
        && toks
            .iter()
            .any(|t| wordlike(t) && t.chars().filter(|c| c.is_alphabetic()).count() >= 3)
}

/// Moving-average type/token ratio over windows of [`TTR_WINDOW`] tokens.
fn mattr(toks: &[String]) -> f64 {
    if toks.len() < TTR_WINDOW {
        let distinct: HashSet<&String> = toks.iter().collect();
        return distinct.len() as f64 / toks.len().max(1) as f64;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &toks[..TTR_WINDOW] {
        *counts.entry(t).or_insert(0) += 1;
    }
    let mut total = counts.len() as f64;
    let mut windows = 1.0;
    for i in TTR_WINDOW..toks.len() {
        let out = toks[i - TTR_WINDOW].as_str();
        if let Some(c) = counts.get_mut(out) {
            *c -= 1;
            if *c == 0 {
                counts.remove(out);
            }
        }
        *counts.entry(&toks[i]).or_insert(0) += 1;
        total += counts.len() as f64;
        windows += 1.0;
    }
    total / (windows * TTR_WINDOW as f64)
}

/// Levenshtein distance between two words (by characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Real documents of the held-out set (tests/fixtures/documents/).
    const UIDS: &str = include_str!("../fixtures/documents/systemd-UIDS-GIDS.md");
    const ASCII: &str = include_str!("../fixtures/documents/ascii.7.txt");
    const ZSTD: &str = include_str!("../fixtures/documents/zstd-README.md");

    fn question(q: &str, options: [&str; 4], answer: usize, explanation: &str) -> Value {
        json!({
            "question": q,
            "options": options,
            "answer": answer,
            "explanation": explanation,
            "source": {"id": "src:01", "title": "Users, Groups, UIDs and GIDs on systemd Systems"},
        })
    }

    fn uids_questions() -> Vec<Value> {
        vec![
            question(
                "Which UID does Linux give to the nobody user?",
                ["65534", "0", "1000", "4294967295"],
                0,
                "The document lists 65534 as the nobody UID, also called the overflow UID, where \
                 subsystems map users they cannot map otherwise.",
            ),
            question(
                "From which range does systemd allocate UIDs for dynamic users?",
                [
                    "61184…65519",
                    "1000…60000",
                    "60001…60513",
                    "524288…1879048191",
                ],
                0,
                "Dynamic users get UIDs from 61184 to 65519, below the 16bit boundary so that \
                 containers with a 64K range of UIDs stay compatible.",
            ),
            question(
                "Who is UID 0?",
                [
                    "The root super-user",
                    "The nobody user",
                    "A dynamic service user",
                    "A container user",
                ],
                0,
                "UID 0 is the root super-user, the first of the four special Linux UIDs.",
            ),
            question(
                "Why is 4294967295 not a valid user ID?",
                [
                    "setresuid() and chown() treat -1 as a request not to change the UID",
                    "It is reserved for the nobody user",
                    "It is above the 16bit boundary",
                    "It belongs to systemd-homed",
                ],
                0,
                "4294967295 is the 32bit (uid_t) -1, which setresuid(), chown() and friends \
                 treat as a special request to leave the UID unchanged.",
            ),
        ]
    }

    fn quiz(title: &str, language: &str, questions: Vec<Value>) -> Value {
        json!({"title": title, "difficulty": "medium", "language": language, "questions": questions})
    }

    fn good_uids_quiz() -> Value {
        quiz("Special UIDs on systemd Systems", "en-US", uids_questions())
    }

    const TURNS: &[(&str, &str)] = &[
        ("Alex", "Welcome back. Today we are looking at how systemd thinks about user IDs, and why a few of them are special on Linux."),
        ("Sam", "Right. The C type uid_t is 32bit wide on Linux, so in theory every value from zero to 4294967295 is a user ID. But four of them are special."),
        ("Alex", "Zero is the easy one: that is the root super-user. What about 65534?"),
        ("Sam", "That is the nobody user, also called the overflow UID. File systems that only support 16bit UIDs, NFS and user namespacing map unmappable users to it."),
        ("Alex", "And 4294967295 is not a valid user ID at all, because setresuid() and chown() treat minus one as a special request not to change the UID."),
        ("Sam", "The same goes for 65535, the 16bit version of minus one. So none of these values can be assigned to users in the user database."),
        ("Alex", "Then systemd adds its own ranges. Dynamic users get UIDs from 61184 to 65519, and the container UID ranges of systemd-nspawn start at 524288."),
        ("Sam", "Each container gets 65536 UIDs, so the upper 16bit of a container's UIDs work as a kind of container ID, while the lower 16bit are its own UID numbers."),
        ("Alex", "And regular human users normally live between 1000 and 60000, a range the distributions define, while system users sit below 1000."),
        ("Sam", "So the rule of thumb: keep regular users in their range, leave the special values alone, and let systemd allocate the dynamic users. Thanks for listening!"),
    ];

    fn podcast_from(turns: &[(&str, &str)], duration_ms: Option<u64>) -> Value {
        let turns_json: Vec<Value> = turns
            .iter()
            .map(|(s, t)| json!({"speaker": s, "text": t}))
            .collect();
        let transcript: String = turns
            .iter()
            .map(|(s, t)| format!("**{s}:** {t}\n\n"))
            .collect();
        let audio = duration_ms.map(|ms| {
            json!({"path": "/tmp/p.wav", "duration_ms": ms, "sample_rate": 22050,
                   "engine": "espeak-ng", "voices": ["en-us", "en-gb"]})
        });
        json!({
            "title": "Special UIDs on systemd Systems",
            "format": "deep_dive",
            "language": "en-US",
            "speakers": ["Alex", "Sam"],
            "outline": {
                "title": "Special UIDs on systemd Systems",
                "segments": [
                    {"title": "Special Linux UIDs", "points": ["Root is UID 0", "The nobody user is UID 65534"]},
                    {"title": "The ranges systemd uses", "points": ["Dynamic users get 61184 to 65519", "Container UID ranges start at 524288"]},
                ],
            },
            "turns": turns_json,
            "transcript": transcript,
            "audio": audio,
            "sources": [{"id": "src:01", "title": "Users, Groups, UIDs and GIDs on systemd Systems"}],
        })
    }

    /// The good podcast, with audio at 160 words a minute.
    fn good_podcast() -> Value {
        let words: usize = TURNS.iter().map(|(_, t)| tokens(t).len()).sum();
        podcast_from(TURNS, Some((words as f64 / 160.0 * 60_000.0) as u64))
    }

    const ZSTD_GUIDE: &str = "# Zstandard study guide

Zstandard is a fast lossless compression algorithm with a tunable trade-off between speed \
and ratio, and a dictionary mode for small data.

## Key concepts

### 1. Lossless compression

Zstandard, or zstd, is a fast lossless compression algorithm for real-time compression \
scenarios at zlib-level and better compression ratios. Its very fast entropy stage comes from \
the Huff0 and FSE library.

### 2. Speed versus compression ratio

Negative compression levels, set with `--fast=#`, offer faster compression and decompression \
at the cost of compression ratio. Higher levels give stronger ratios at the cost of \
compression speed, while decompression speed stays roughly the same at all settings.

### 3. Dictionary compression

The smaller the data, the harder it is to compress, because there is no past to build upon. \
Zstd's training mode builds a dictionary from a few samples of one type of data; the \
dictionary is loaded before compression and decompression and improves the ratio on small \
data dramatically.

## Glossary

- **Compression ratio**: how much smaller the data gets.
- **Dictionary**: what training learns from samples, loaded before compressing small data.

## Questions to think about

1. Why does a dictionary help most in the first few KB of a file?
2. When would you pick a negative compression level?

## Sources

- zstd-README.md
";

    fn guide(title: &str, language: &str, markdown: &str) -> Value {
        json!({"title": title, "language": language, "markdown": markdown,
               "sources": [{"id": "src:02", "title": "zstd-README.md"}]})
    }

    #[track_caller]
    fn assert_usable(v: &Verdict) {
        assert!(v.usable, "{v}");
        assert!(v.reasons.is_empty(), "{v}");
    }

    #[track_caller]
    fn assert_fails(v: &Verdict, code: &str) {
        assert!(!v.usable, "expected “{code}”, but usable");
        assert!(v.has(code), "expected “{code}”: {v}");
    }

    // --- good artifacts pass ------------------------------------------------------------------

    #[test]
    fn garbage_that_passed_an_earlier_judge_is_caught() {
        // What SmolLM2-135M wrote for shared-mime-info-spec.pdf, and both the quality gates
        // and this judge once passed.
        let quiz = serde_json::json!({"title": "Quiz: Shared MIME-info Database",
            "language": "en-US", "questions": [
            {"question": "Question 1", "options": ["1", "2", "3", "4"], "answer": 1,
             "explanation": "Question 1 asks for an answer, but only accepts choices."},
            {"question": "Question 2", "options": ["1. Question 1", "2. Question 2",
             "Question 1", "Question 2"], "answer": 0,
             "explanation": "This is a passage 2, and it is written in English."}]});
        let v = judge(
            "quiz",
            &quiz,
            "The Shared MIME-info Database specification.",
        );
        assert!(!v.usable && v.has("thin") && v.has("self-reference"), "{v}");
        let guide = serde_json::json!({"title": "Sharing MIME-info Database",
            "language": "en-US", "markdown": "# Sharing MIME-info Database\n\nThe Shared \
            MIME-info Database\n\n## Key concepts\n\n### 1. The Shared MIME-info Database\n\n\
            The Shared MIME-info Database\n\n*Sources: spec*\n\n## Glossary\n\n- \
            **sharing-mime-info-database**: The Shared MIME-info Database\n\n## Questions \
            to think about\n\n1. what\n"});
        let v = judge(
            "study_guide",
            &guide,
            "The Shared MIME-info Database specification shares MIME types.",
        );
        assert!(!v.usable && v.has("thin"), "{v}");
    }

    #[test]
    fn a_good_quiz_from_a_real_document_passes() {
        assert_usable(&judge("quiz", &good_uids_quiz(), UIDS));
    }

    #[test]
    fn a_whole_artifact_is_judged_by_its_data() {
        let artifact = json!({"id": "art:01", "kind": "quiz", "status": "ready",
                              "title": "Special UIDs", "data": good_uids_quiz()});
        assert_usable(&judge("quiz", &artifact, UIDS));
    }

    #[test]
    fn a_numeric_quiz_whose_answers_are_in_the_table_passes() {
        let q = quiz(
            "The ASCII character set",
            "en-US",
            vec![
                question(
                    "What is the hexadecimal code of the DEL character in ASCII?",
                    ["0x7F", "0x1B", "0x20", "0x00"],
                    0,
                    "The table lists DEL as 177 in octal, 127 in decimal and 7F in hexadecimal.",
                ),
                question(
                    "Which decimal code does the ESC character have?",
                    ["27", "127", "32", "10"],
                    0,
                    "ESC (escape) is 033 in octal, 27 in decimal and 1B in hexadecimal.",
                ),
                question(
                    "How many bits wide is the ASCII code?",
                    ["7", "8", "16", "32"],
                    0,
                    "ASCII is a 7-bit code; many 8-bit codes contain it as their lower half.",
                ),
                question(
                    "Which octal code is the space character?",
                    ["040", "100", "000", "177"],
                    0,
                    "SPACE is 040 in octal, 32 in decimal and 20 in hexadecimal.",
                ),
            ],
        );
        assert_usable(&judge("quiz", &q, ASCII));
        // A hexadecimal answer written as the source writes it (0xEF00) passes too.
        let q = quiz(
            "Dynamic users",
            "en-US",
            vec![question(
                "In hexadecimal, where does the range of UIDs for dynamic users start?",
                ["0xEF00", "0xFFFF", "0x1000", "0x0000"],
                0,
                "61184 is 0xEF00 in hexadecimal, and 65519 is 0xFFEF.",
            )],
        );
        assert_usable(&judge("quiz", &q, UIDS));
    }

    #[test]
    fn a_drill_of_questions_made_on_one_pattern_is_not_repetition() {
        let rows = [
            ("ESC", "27", "033", "1B"),
            ("DEL", "127", "177", "7F"),
            ("SPACE", "32", "040", "20"),
            ("NUL", "0", "000", "00"),
            ("LF", "10", "012", "0A"),
            ("BEL", "7", "007", "07"),
        ];
        let questions: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(i, (name, dec, oct, hex))| {
                let mut options = ["64", "100", "13", "126"];
                options[i % 4] = dec;
                question(
                    &format!("What is the decimal code of the {name} character?"),
                    options,
                    i % 4,
                    &format!("{name} is {oct} in octal, {dec} in decimal and {hex} in hex."),
                )
            })
            .collect();
        let v = judge("quiz", &quiz("ASCII codes", "en-US", questions), ASCII);
        assert_usable(&v);
    }

    #[test]
    fn a_good_study_guide_from_a_real_document_passes() {
        assert_usable(&judge(
            "study_guide",
            &guide("Zstandard study guide", "en-US", ZSTD_GUIDE),
            ZSTD,
        ));
    }

    #[test]
    fn a_french_study_guide_of_an_english_document_passes() {
        let markdown = "# Guide d'étude : les UID sous systemd

Sous systemd, les UID sont découpés en plages : le système, les utilisateurs ordinaires, les \
utilisateurs dynamiques et les conteneurs ont chacun la leur.

## Notions clés

### 1. Les UID spéciaux de Linux

Le type C uid_t occupe 32 bits, mais quatre valeurs sont spéciales : 0 est le \
super-utilisateur root, 65534 est l'utilisateur nobody, et 4294967295 comme 65535 valent -1, \
si bien qu'on ne peut pas les attribuer à un utilisateur.

### 2. Les utilisateurs de service dynamiques

systemd attribue aux utilisateurs dynamiques les UID de 61184 à 65519, juste sous la limite \
des 16 bits, pour rester compatible avec les conteneurs qui reçoivent une plage de 64K UID.

### 3. Les plages d'UID des conteneurs

systemd-nspawn donne à chaque conteneur 65536 UID pris dans la plage de 524288 à 1879048191 : \
les 16 bits du haut servent alors d'identifiant du conteneur.

## Glossaire

- **UID** : le numéro qui identifie un utilisateur.
- **nobody** : l'utilisateur vers lequel on projette ceux qu'on ne peut pas représenter.

## Questions pour réfléchir

1. Pourquoi la valeur 4294967295 ne peut-elle pas être un UID valide ?
2. Quel est l'intérêt de réserver une plage aux utilisateurs dynamiques ?
";
        let g = guide("Guide d'étude : les UID sous systemd", "fr-FR", markdown);
        assert_usable(&judge("study_guide", &g, UIDS));
    }

    #[test]
    fn a_good_podcast_from_a_real_document_passes() {
        assert_usable(&judge("podcast", &good_podcast(), UIDS));
        // Transcript only (no speech engine): no audio to measure.
        assert_usable(&judge("podcast", &podcast_from(TURNS, None), UIDS));
    }

    #[test]
    fn an_artifact_from_general_knowledge_is_not_held_to_sources() {
        let q = quiz(
            "Capitals",
            "en-US",
            vec![question(
                "What is the capital of France?",
                ["Paris", "Lyon", "Marseille", "Lille"],
                0,
                "Paris has been the capital of France for centuries.",
            )],
        );
        assert_usable(&judge("quiz", &q, ""));
    }

    // --- the degenerate outputs seen from a 135M model fail, each for a named reason ---------

    #[test]
    fn a_misspelt_field_name_for_a_title_fails() {
        let q = quiz("titlme", "en-US", uids_questions());
        let v = judge("quiz", &q, UIDS);
        assert_fails(&v, "title");
        assert!(v.reasons.iter().all(|r| r.starts_with("title:")), "{v}");
        let mut p = good_podcast();
        p["title"] = json!("titlme");
        assert_fails(&judge("podcast", &p, UIDS), "title");
    }

    #[test]
    fn an_outline_point_of_numbers_and_dots_fails() {
        let mut p = good_podcast();
        p["outline"]["segments"][0]["points"][1] = json!("1.0.1.2206.233.00.0x274.1.1.1.1");
        let v = judge("podcast", &p, UIDS);
        assert_fails(&v, "vocabulary");
        assert!(v.reasons.iter().any(|r| r.contains("outline point")), "{v}");
    }

    #[test]
    fn a_transcript_echoing_the_instructions_fails() {
        let counting: Vec<String> = (1..=108).map(|i| format!("#{i}.")).collect();
        let echo = format!(
            "Every turn is exactly one of: Alex. Write every turn in English. {}",
            counting.join(" ")
        );
        let turns: Vec<(&str, &str)> = (0..4).map(|_| ("Alex", echo.as_str())).collect();
        let mut p = podcast_from(&turns, None);
        p["format"] = json!("brief");
        p["speakers"] = json!(["Alex"]);
        let v = judge("podcast", &p, UIDS);
        for code in ["degenerate", "leak", "vocabulary", "repetition"] {
            assert_fails(&v, code);
        }
    }

    #[test]
    fn an_error_message_repeated_instead_of_content_fails() {
        let line = "The quiz about \"magic rules\" could not be generated.";
        let questions: Vec<Value> = (0..8)
            .map(|_| question(line, ["A", "B", "C", "D"], 0, line))
            .collect();
        let v = judge("quiz", &quiz("Magic rules", "en-US", questions), ZSTD);
        assert_fails(&v, "repetition");
        assert_fails(&v, "leak");
        assert_fails(&v, "degenerate");

        let markdown = [line; 8].join(" ");
        let v = judge(
            "study_guide",
            &guide("Magic rules", "en-US", &markdown),
            ZSTD,
        );
        for code in ["degenerate", "leak", "structure"] {
            assert_fails(&v, code);
        }
    }

    #[test]
    fn ten_minutes_of_audio_for_150_words_fails() {
        let mut words = 0;
        let turns: Vec<(&str, &str)> = TURNS
            .iter()
            .copied()
            .take_while(|(_, t)| {
                words += tokens(t).len();
                words <= 160
            })
            .collect();
        let total: usize = turns.iter().map(|(_, t)| tokens(t).len()).sum();
        assert!((130..=160).contains(&total), "{total} words");
        let v = judge("podcast", &podcast_from(&turns, Some(600_000)), UIDS);
        assert_fails(&v, "duration");
        assert_eq!(v.reasons.len(), 1, "{v}");
        // Too fast is as wrong as too slow.
        let v = judge("podcast", &podcast_from(&turns, Some(10_000)), UIDS);
        assert_fails(&v, "duration");
    }

    #[test]
    fn an_english_quiz_marked_french_fails() {
        let q = quiz("Special UIDs on systemd Systems", "fr-FR", uids_questions());
        let mut prose = String::new();
        for q in uids_questions() {
            prose.push_str(text_of(&q, "question"));
            prose.push_str(text_of(&q, "explanation"));
        }
        let (en, fr) = language_scores(&prose);
        assert!(en - fr >= 0.2, "en {en:.3} fr {fr:.3}");
        let v = judge("quiz", &q, UIDS);
        assert_fails(&v, "language");
        assert_eq!(v.reasons.len(), 1, "{v}");
        let g = guide("Zstandard study guide", "fr-FR", ZSTD_GUIDE);
        assert_fails(&judge("study_guide", &g, ZSTD), "language");
    }

    #[test]
    fn a_quiz_whose_answer_is_nowhere_in_the_source_fails() {
        let capital = question(
            "What is the capital of France?",
            ["Paris", "Lyon", "Marseille", "Lille"],
            0,
            "Paris has been the capital of France for centuries.",
        );
        let q = quiz("Special UIDs", "en-US", vec![capital.clone()]);
        assert_fails(&judge("quiz", &q, UIDS), "unsupported");
        // A right answer made up about the right subject fails too.
        let made_up = question(
            "Which UID does systemd give to the nobody user?",
            ["Penguin", "Walrus", "Narwhal", "Octopus"],
            0,
            "It is called Penguin.",
        );
        let mut questions = uids_questions();
        questions.push(capital);
        questions.push(made_up);
        let v = judge("quiz", &quiz("Special UIDs", "en-US", questions), UIDS);
        assert_fails(&v, "unsupported");
        assert!(v.reasons[0].contains("2 of 6"), "{v}");
    }

    #[test]
    fn options_must_be_four_and_distinct() {
        let mut q = good_uids_quiz();
        q["questions"][0]["options"] = json!(["65534", "65534", "0", "1000"]);
        assert_fails(&judge("quiz", &q, UIDS), "options");
        let mut q = good_uids_quiz();
        q["questions"][1]["options"] = json!(["61184…65519", "1000…60000"]);
        assert_fails(&judge("quiz", &q, UIDS), "options");
        let mut q = good_uids_quiz();
        q["questions"][2]["answer"] = json!(7);
        assert_fails(&judge("quiz", &q, UIDS), "options");
    }

    #[test]
    fn guide_headings_about_something_else_fail() {
        let markdown = ZSTD_GUIDE
            .replace("Lossless compression", "Photosynthesis in leaves")
            .replace("Speed versus compression ratio", "Chlorophyll pigments")
            .replace("Dictionary compression", "Stomata openings");
        let v = judge(
            "study_guide",
            &guide("Zstandard study guide", "en-US", &markdown),
            ZSTD,
        );
        assert_fails(&v, "unsupported");
    }

    #[test]
    fn a_podcast_about_something_else_fails() {
        let turns: &[(&str, &str)] = &[
            ("Alex", "Welcome! Today we talk about baking sourdough bread at home with flour, water and salt."),
            ("Sam", "The starter needs feeding every morning, and the dough rises overnight in a cool kitchen."),
            ("Alex", "Bakers fold the dough several times, then shape loaves and score them before baking."),
            ("Sam", "A very hot oven and a heavy pot give the crust its colour and crackle. Thanks for listening!"),
        ];
        let v = judge("podcast", &podcast_from(turns, None), UIDS);
        assert_fails(&v, "unsupported");
    }

    #[test]
    fn speakers_must_match_the_turns() {
        let mut p = good_podcast();
        p["turns"][3]["speaker"] = json!("Narrator");
        assert_fails(&judge("podcast", &p, UIDS), "speakers");
        let one: Vec<(&str, &str)> = TURNS.iter().map(|(_, t)| ("Alex", *t)).collect();
        let words: usize = one.iter().map(|(_, t)| tokens(t).len()).sum();
        let p = podcast_from(&one, Some((words as f64 / 160.0 * 60_000.0) as u64));
        assert_fails(&judge("podcast", &p, UIDS), "speakers");
    }

    #[test]
    fn instructions_in_an_explanation_fail_unless_the_source_is_about_them() {
        let mut q = good_uids_quiz();
        q["questions"][0]["explanation"] = json!("Answer with JSON that follows the schema.");
        let v = judge("quiz", &q, UIDS);
        assert_fails(&v, "leak");
        let source =
            format!("{UIDS}\nUser records can be serialized as JSON, and a schema describes them.");
        assert_usable(&judge("quiz", &q, &source));
    }

    #[test]
    fn a_french_quiz_of_an_english_document_passes() {
        let q = quiz(
            "Quiz : les UID spéciaux",
            "fr-FR",
            vec![
                question(
                    "Quel UID Linux donne-t-il à l'utilisateur nobody ?",
                    ["65534", "0", "1000", "4294967295"],
                    0,
                    "Le document indique que l'utilisateur nobody a l'UID 65534, aussi appelé \
                     UID de débordement : c'est là que l'on projette les utilisateurs qu'on ne \
                     peut pas représenter autrement.",
                ),
                question(
                    "Qui est l'UID 0 ?",
                    [
                        "Le super-utilisateur root",
                        "L'utilisateur nobody",
                        "Un utilisateur dynamique",
                        "Un utilisateur de conteneur",
                    ],
                    0,
                    "L'UID 0 est celui du super-utilisateur root, le premier des quatre UID \
                     spéciaux de Linux, que personne d'autre ne doit recevoir.",
                ),
            ],
        );
        assert_usable(&judge("quiz", &q, UIDS));
    }

    #[test]
    fn a_mentor_title_around_a_placeholder_fails_and_one_around_the_topic_passes() {
        let q = quiz("Quiz: titlme", "en-US", uids_questions());
        assert_fails(&judge("quiz", &q, UIDS), "title");
        let q = quiz("Quiz: dynamic users", "en-US", uids_questions());
        assert_usable(&judge("quiz", &q, UIDS));
        let q = quiz("Quiz", "en-US", uids_questions());
        assert_usable(&judge("quiz", &q, UIDS));
    }

    #[test]
    fn ordinary_phrases_are_not_taken_for_instructions() {
        let mut q = good_uids_quiz();
        q["questions"][0]["explanation"] =
            json!("Before you write a new user to /etc/passwd, check that 65534 is not taken.");
        // (The document itself says "if you write them in hexadecimal".)
        let source = UIDS.replace("you write", "one writes");
        assert_usable(&judge("quiz", &q, &source));
        q["questions"][0]["explanation"] = json!("Nobody is 65534.\nYou write one question.");
        assert_fails(&judge("quiz", &q, &source), "leak");
        assert_usable(&judge("quiz", &q, UIDS));
    }

    #[test]
    fn unknown_kinds_and_shapes_fail() {
        assert_fails(&judge("essay", &json!({"title": "x"}), UIDS), "shape");
        assert_fails(&judge("quiz", &json!("just text"), UIDS), "shape");
        assert_fails(
            &judge("quiz", &json!({"title": "UIDs", "language": "en-US"}), UIDS),
            "shape",
        );
    }

    #[test]
    fn a_few_words_shuffled_over_and_over_fail() {
        let few = [
            "the", "cell", "membrane", "is", "a", "cell", "wall", "of", "cells",
        ];
        // A fixed pseudo-random walk through the few words: no sentence repeats exactly.
        let mut x: u32 = 7;
        let words: Vec<&str> = (0..240)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                few[(x >> 16) as usize % few.len()]
            })
            .collect();
        let text = words.join(" ");
        let g = guide(
            "Cells",
            "en-US",
            &format!("# Cells\n\n### 1. The cell membrane\n\n{text}"),
        );
        let v = judge(
            "study_guide",
            &g,
            "The cell membrane is the wall of a cell.",
        );
        assert_fails(&v, "vocabulary");
    }

    // --- the measures themselves -------------------------------------------------------------

    #[test]
    fn real_documents_read_as_english_and_french_reads_as_french() {
        for doc in [UIDS, ASCII, ZSTD, ZSTD_GUIDE] {
            let (en, fr) = language_scores(doc);
            assert!(en > fr + LANGUAGE_MARGIN, "en {en:.3} fr {fr:.3}");
        }
        let french = "Le système attribue à chaque conteneur une plage de numéros \
                      d'utilisateurs, et les services dynamiques reçoivent les leurs pendant \
                      qu'ils tournent. Pourquoi cette valeur ne peut-elle pas être utilisée ?";
        let (en, fr) = language_scores(french);
        assert!(fr > en + LANGUAGE_MARGIN, "en {en:.3} fr {fr:.3}");
    }

    #[test]
    fn real_documents_are_not_degenerate() {
        for doc in [UIDS, ASCII, ZSTD] {
            let (whole, lowest) = compression(doc);
            assert!(
                whole >= MIN_COMPRESSION_RATIO && lowest >= MIN_COMPRESSION_RATIO,
                "{whole:.2} {lowest:.2}"
            );
        }
        for doc in [UIDS, ZSTD] {
            assert!(mattr(&tokens(doc)) >= MIN_MATTR);
            assert!(word_share(doc) >= MIN_WORD_SHARE);
        }
    }

    #[test]
    fn words_and_numbers_match_fuzzily() {
        let src =
            SourceIndex::new("The compression of small data. Code 0x7F, port 8080, 4294967295.");
        assert!(src.has_word("compressed") && src.has_word("compress"));
        assert!(!src.has_word("comprehension"));
        for n in ["0x7f", "7f", "8080", "4,294,967,295"] {
            assert!(src.has_number(n), "{n}");
        }
        assert!(!src.has_number("8081"));
        assert!(option_supported("Port 8080", &src));
        assert!(!option_supported("Port 8081", &src));
        assert_eq!(edit_distance("titlme", "title"), 1);
        assert_eq!(
            prefixes("compression").collect::<Vec<_>>(),
            ["compression", "compressio", "compressi", "compress"]
        );
        assert_eq!(prefixes("uid").collect::<Vec<_>>(), ["uid"]);
    }
}
