//! The quality gates: what every generator checks in each piece the model writes before the
//! piece is kept, whatever the model. A piece that fails is sent back with the reason (see
//! [`super::step`]); a job whose piece still fails ends with the reason, localized.
//!
//! | rule | what fails it |
//! |------|---------------|
//! | repeated sentence | the same sentence or line (case, spacing and digits ignored) three times or more in a piece, or across the pieces of the artifact written so far |
//! | repeated run | a run of 1 to 12 words repeated four times in a row or more, covering at least 8 words |
//! | counting loop | 8 or more numbers that each count up by one, with at most 3 words between two of them |
//! | symbol soup | a field of 20 or more non-space characters of which fewer than 25 % are letters (short fields such as a numeric option are exempt); in spoken text, any word of 16 or more such characters |
//! | prompt echo | a run of 6 words (3 of them content words) copied from Mentor's own instructions and not in the learner's sources or topic; the sources' delimiters |
//! | title | empty, a placeholder ("Title", "Untitled", …), no word of letters, or (when the topic, notebook and sources give at least 3 content words) no content word from them |
//! | duplicate | two items (questions, concepts, terms, outline points) equal once normalized, or with content-word Jaccard similarity of 0.8 or more (items of at least 3 content words) |
//! | grounding | a quiz question with its right answer, or a key concept with its explanation, that shares fewer than 2 content words (fewer than all of them, when it has only 1 or 2) with the passage it cites, or fewer than 25 % of its content words |
//! | language | text of 8 words or more with more than twice as many function words of the other language (English or French) as of the one asked, plus 2 |
//! | length | a podcast's spoken length outside its format's and length's range ([`length_range`]), from its word count at [`WORDS_PER_MINUTE`]; each segment has its share of the range |
//! | substance | fewer words of substance (content words not about the task, not bare numbers) than the part needs: a quiz question 1, its explanation 3; an overview 6, a concept's explanation 4, a definition 2, a question to think about 2; an outline point 2 |
//! | restated | an overview, a concept's explanation or a definition whose content words are all in its title, name or term |
//! | about the task | text of which more than half the content words (and at least 2) are about questions, answers, options, passages, sources…; an option that names only the quiz's own parts ("Question 2") |
//! | fed back | an answer that copies (a 6-word run) what the model was told about its earlier answer |
//!
//! Content words are the words of 3 letters or more that are not function words, and every
//! word with a digit; they are compared by their first 5 characters, so "membranes" and
//! "membrane", "cellule" and "cellules" match.

use std::collections::{HashMap, HashSet};

use mentor_shared::i18n::{Lang, Localizer};
use mentor_shared::jobs::{PodcastFormat, PodcastLength};
use mentor_shared::t;

/// The speaking rate the podcast's length ranges assume.
pub const WORDS_PER_MINUTE: f64 = 160.0;
/// A sentence or line repeated this often is degenerate.
const REPEATED_SENTENCE: usize = 3;
/// A run of words repeated this often in a row is degenerate…
const REPEATED_RUN: usize = 4;
/// … when it covers at least this many words.
const REPEATED_RUN_WORDS: usize = 8;
/// Longest repeated run looked for, in words.
const RUN_MAX_WORDS: usize = 12;
/// Numbers counting up one by one, this many in a row, are a counting loop.
const COUNTING: usize = 8;
/// Non-space characters from which a field can be symbol soup.
const SOUP_MIN_CHARS: usize = 20;
/// The share of letters below which it is.
const SOUP_LETTERS: f64 = 0.25;
/// A spoken word this long with too few letters cannot be read aloud.
const SOUP_WORD_CHARS: usize = 16;
/// Words in a run copied from the instructions.
const ECHO_WORDS: usize = 6;
/// Content words such a run has at least.
const ECHO_CONTENT_WORDS: usize = 3;
/// Similarity from which two items are duplicates.
const DUPLICATE_JACCARD: f64 = 0.8;
/// Content words a claim shares with its passage at least…
const GROUNDED_WORDS: usize = 2;
/// … and the share of its content words.
const GROUNDED_SHARE: f64 = 0.25;
/// Characters of a word compared.
const STEM_CHARS: usize = 5;

/// What part of an artifact a flaw is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The artifact's title.
    Title,
    /// The study guide's overview.
    Overview,
    /// Quiz question n (1-based).
    Question(usize),
    /// Key concept n.
    Concept(usize),
    /// Glossary entry n.
    Term(usize),
    /// Question to think about n.
    Thought(usize),
    /// The podcast's outline.
    Outline,
    /// Podcast segment n.
    Segment(usize),
    /// The whole podcast episode.
    Episode,
    /// The model's answer to a step, as a whole.
    Answer,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Nothing was written where something must be.
    Empty,
    /// A sentence or line repeated (the sentence).
    RepeatedSentence(String),
    /// A run of words repeated in a row (the run).
    RepeatedRun(String),
    /// Numbers counting up (the first and last).
    Counting(i64, i64),
    /// Digits and symbols instead of words (an excerpt).
    Soup(String),
    /// Text copied from Mentor's instructions (the run).
    Echo(String),
    /// A title that names nothing (the title).
    Title(String),
    /// The same as another item (its part).
    Duplicate(Part),
    /// Not supported by the cited passage (which one, or 0 for none cited).
    Ungrounded(usize),
    /// In the wrong language (the language asked).
    Language(Lang),
    /// Spoken length outside the range (minutes: found, least, most).
    Length(f64, f64, f64),
    /// Two options the same (their numbers, 1-based).
    SameOptions(usize, usize),
    /// The right answer is not one of the options.
    NoAnswer,
    /// One host speaks where both must.
    OneVoice,
    /// Too little said: fewer words of substance than the part needs (found, needed).
    Thin(usize, usize),
    /// Only repeats another field (a concept explained by its name, a term defined by itself).
    Restated,
    /// About the quiz or the instructions (questions, answers, passages), not the subject.
    Meta,
}

/// A flaw in a piece the model wrote: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Flaw {
    /// Where.
    pub part: Part,
    /// What.
    pub kind: Kind,
}

impl Flaw {
    fn new(part: Part, kind: Kind) -> Flaw {
        Flaw { part, kind }
    }

    /// What the model is told when asked to write the piece again (English, as every prompt).
    pub fn for_model(&self) -> String {
        let part = match &self.part {
            Part::Title => "the title".to_string(),
            Part::Overview => "the overview".to_string(),
            Part::Question(n) => format!("question {n}"),
            Part::Concept(n) => format!("key concept {n}"),
            Part::Term(n) => format!("glossary entry {n}"),
            Part::Thought(n) => format!("question to think about {n}"),
            Part::Outline => "the outline".to_string(),
            Part::Segment(n) => format!("segment {n}"),
            Part::Episode => "the episode".to_string(),
            Part::Answer => "the answer".to_string(),
        };
        match &self.kind {
            Kind::Empty => format!("{part} is empty; write it"),
            Kind::RepeatedSentence(s) => format!(
                "{part} repeats the same sentence again and again (\"{s}\"); say each thing once"
            ),
            Kind::RepeatedRun(s) => {
                format!("{part} repeats \"{s}\" over and over; write real sentences")
            }
            Kind::Counting(a, b) => format!(
                "{part} counts from {a} to {b} instead of saying something; write real sentences"
            ),
            Kind::Soup(s) => format!(
                "{part} is digits and symbols (\"{s}\"), not words; write it in plain words"
            ),
            Kind::Echo(s) => {
                format!("{part} copies the instructions (\"{s}\"); write about the subject instead")
            }
            Kind::Title(s) => format!(
                "the title \"{s}\" does not name the subject; use a few words from the topic \
                 or the sources"
            ),
            Kind::Duplicate(other) if *other == self.part => {
                format!("{part} says the same thing twice; make each point a different one")
            }
            Kind::Duplicate(other) => {
                let other = Flaw::new(other.clone(), Kind::Empty).for_model();
                let other = other.trim_end_matches(" is empty; write it");
                format!("{part} says the same as {other}; write about something else")
            }
            Kind::Ungrounded(0) => {
                format!("{part} cites no passage; cite the passage it comes from, by its number")
            }
            Kind::Ungrounded(n) => format!(
                "{part} is not supported by passage {n}, which it cites; take it from what \
                 that passage says, using its words"
            ),
            Kind::Language(lang) => format!(
                "{part} is not in {}; write it in {}",
                english_name(*lang),
                english_name(*lang)
            ),
            Kind::Length(found, least, most) => format!(
                "{part} is about {found:.1} minutes long when spoken; it must be {least:.1} to \
                 {most:.1} minutes (about {} to {} words)",
                (least * WORDS_PER_MINUTE).round(),
                (most * WORDS_PER_MINUTE).round()
            ),
            Kind::SameOptions(a, b) => format!(
                "{part}: options {a} and {b} are the same; the four options must all differ, \
                 and exactly one be correct"
            ),
            Kind::NoAnswer => format!(
                "{part}: the answer is not one of the options; set `answer` to the position of \
                 the correct option (0 to 3)"
            ),
            Kind::OneVoice => {
                format!("{part}: only one host speaks; both hosts must take turns")
            }
            Kind::Thin(found, needed) => format!(
                "{part} says too little ({found} words of substance; it needs at least \
                 {needed}): say something real about the subject, from the sources"
            ),
            Kind::Restated => format!(
                "{part} only repeats its own name; explain it in other words, from the sources"
            ),
            Kind::Meta => format!(
                "{part} talks about questions, answers and passages instead of the subject; \
                 write about what the sources teach"
            ),
        }
    }

    /// The flaw for the learner, in their language.
    pub fn localize(&self, l: &Localizer) -> String {
        let part = match &self.part {
            Part::Title => t!(l, "quality-part-title"),
            Part::Overview => t!(l, "quality-part-overview"),
            Part::Question(n) => t!(l, "quality-part-question", n = *n as i64),
            Part::Concept(n) => t!(l, "quality-part-concept", n = *n as i64),
            Part::Term(n) => t!(l, "quality-part-term", n = *n as i64),
            Part::Thought(n) => t!(l, "quality-part-thought", n = *n as i64),
            Part::Outline => t!(l, "quality-part-outline"),
            Part::Segment(n) => t!(l, "quality-part-segment", n = *n as i64),
            Part::Episode => t!(l, "quality-part-episode"),
            Part::Answer => t!(l, "quality-part-answer"),
        };
        match &self.kind {
            Kind::Empty => t!(l, "quality-empty", part = part),
            Kind::RepeatedSentence(s) => {
                t!(
                    l,
                    "quality-repeated-sentence",
                    part = part,
                    text = s.as_str()
                )
            }
            Kind::RepeatedRun(s) => t!(l, "quality-repeated-run", part = part, text = s.as_str()),
            Kind::Counting(a, b) => t!(l, "quality-counting", part = part, from = *a, to = *b),
            Kind::Soup(s) => t!(l, "quality-soup", part = part, text = s.as_str()),
            Kind::Echo(s) => t!(l, "quality-echo", part = part, text = s.as_str()),
            Kind::Title(s) => t!(l, "quality-title", title = s.as_str()),
            Kind::Duplicate(other) if *other == self.part => {
                t!(l, "quality-duplicate-within", part = part)
            }
            Kind::Duplicate(other) => {
                let other = Flaw::new(other.clone(), Kind::Empty).localize_part(l);
                t!(l, "quality-duplicate", part = part, other = other)
            }
            Kind::Ungrounded(0) => t!(l, "quality-uncited", part = part),
            Kind::Ungrounded(n) => t!(l, "quality-ungrounded", part = part, passage = *n as i64),
            Kind::Language(lang) => t!(
                l,
                "quality-language",
                part = part,
                language = lang.tag().to_string()
            ),
            Kind::Length(found, least, most) => t!(
                l,
                "quality-length",
                part = part,
                words = (found * WORDS_PER_MINUTE).round() as i64,
                minutes = format!("{found:.1}"),
                least = format!("{least:.1}"),
                most = format!("{most:.1}")
            ),
            Kind::SameOptions(a, b) => t!(
                l,
                "quality-same-options",
                part = part,
                a = *a as i64,
                b = *b as i64
            ),
            Kind::NoAnswer => t!(l, "quality-no-answer", part = part),
            Kind::OneVoice => t!(l, "quality-one-voice", part = part),
            Kind::Thin(found, needed) => t!(
                l,
                "quality-thin",
                part = part,
                found = *found as i64,
                needed = *needed as i64
            ),
            Kind::Restated => t!(l, "quality-restated", part = part),
            Kind::Meta => t!(l, "quality-meta", part = part),
        }
    }

    fn localize_part(&self, l: &Localizer) -> String {
        match &self.part {
            Part::Question(n) => t!(l, "quality-part-question", n = *n as i64),
            Part::Concept(n) => t!(l, "quality-part-concept", n = *n as i64),
            Part::Term(n) => t!(l, "quality-part-term", n = *n as i64),
            Part::Thought(n) => t!(l, "quality-part-thought", n = *n as i64),
            Part::Segment(n) => t!(l, "quality-part-segment", n = *n as i64),
            _ => t!(l, "quality-part-outline"),
        }
    }
}

fn english_name(lang: Lang) -> &'static str {
    match lang {
        Lang::EnUs => "English",
        Lang::FrFr => "French",
    }
}

/// Function words of English: they make the language check and never count as content.
const ENGLISH: &[&str] = &[
    "the", "and", "is", "are", "was", "were", "of", "to", "in", "that", "it", "its", "with", "for",
    "this", "these", "those", "what", "which", "who", "be", "been", "by", "an", "as", "from", "at",
    "or", "not", "but", "they", "their", "there", "how", "why", "when", "where", "can", "does",
    "do", "has", "have", "will", "would", "into", "than", "then", "also", "each", "other", "such",
    "only", "about", "you", "your", "we", "our", "if", "so", "all", "any", "more", "most", "some",
    "one", "two", "may", "should", "could", "like", "just",
];
/// Function words of French.
const FRENCH: &[&str] = &[
    "le", "la", "les", "des", "du", "de", "et", "est", "sont", "un", "une", "que", "qui", "dans",
    "pour", "sur", "avec", "par", "au", "aux", "ce", "cette", "ces", "il", "elle", "ils", "elles",
    "ne", "pas", "plus", "ou", "où", "mais", "son", "sa", "ses", "leur", "leurs", "nous", "vous",
    "on", "se", "qu", "d", "l", "c", "n", "s", "j", "être", "était", "sont", "ont", "fait",
    "comme", "aussi", "très", "peut", "tout", "tous", "quoi", "quel", "quelle", "comment",
    "pourquoi", "quand", "entre", "sans", "sous", "donc", "alors",
];

/// The words of `text`: lowercase, letters and digits (apostrophes split words).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn is_function_word(w: &str) -> bool {
    ENGLISH.contains(&w) || FRENCH.contains(&w)
}

/// A content word's stem, or `None` for a function word or a word too short.
fn stem(w: &str) -> Option<String> {
    let has_digit = w.chars().any(|c| c.is_ascii_digit());
    if !has_digit && (w.chars().count() < 3 || is_function_word(w)) {
        return None;
    }
    if has_digit {
        return Some(w.to_string());
    }
    // A plural's or a verb's final "s" (or French "x") goes before the cut.
    let w = match w.strip_suffix(['s', 'x']) {
        Some(rest) if rest.chars().count() >= 3 => rest,
        _ => w,
    };
    Some(w.chars().take(STEM_CHARS).collect())
}

/// The stems of the content words of `text`.
pub fn content(text: &str) -> HashSet<String> {
    words(text).iter().filter_map(|w| stem(w)).collect()
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// The sentences and lines of `text`, normalized (words only, digits as `#`), of at least
/// 3 words.
fn sentences(text: &str) -> Vec<(String, String)> {
    text.split(['.', '!', '?', ';', '\n'])
        .filter_map(|s| {
            let w = words(s);
            (w.len() >= 3).then(|| {
                let key = w
                    .iter()
                    .map(|w| {
                        if w.chars().all(|c| c.is_ascii_digit()) {
                            "#".to_string()
                        } else {
                            w.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                (key, s.trim().to_string())
            })
        })
        .collect()
}

/// Degenerate text in one piece: repetition, runs, counting, soup. `earlier` is the text of
/// the artifact written before it (a sentence there counts towards the repetition).
pub fn degenerate(part: &Part, text: &str, earlier: &[&str]) -> Result<(), Flaw> {
    let flaw = |kind| Err(Flaw::new(part.clone(), kind));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in earlier {
        for (key, _) in sentences(e) {
            *seen.entry(key).or_default() += 1;
        }
    }
    for (key, shown) in sentences(text) {
        let n = seen.entry(key).or_default();
        *n += 1;
        if *n >= REPEATED_SENTENCE {
            return flaw(Kind::RepeatedSentence(excerpt(&shown)));
        }
    }
    let w = words(text);
    if let Some((a, b)) = counting(&w) {
        return flaw(Kind::Counting(a, b));
    }
    if let Some(run) = repeated_run(&w) {
        return flaw(Kind::RepeatedRun(excerpt(&run)));
    }
    soup(part, text)
}

/// Words a repeated run covers before a streamed chat reply counts as looping (replies hold
/// tables and code, so this is longer than in an artifact).
const LOOP_RUN_WORDS: usize = 24;

/// Where a streamed reply starts looping: the byte offset of the second time a sentence said
/// three times (or more) was said, or of the first repetition of a long run of words; `None`
/// while it does not loop. Code blocks (between ``` fences) and table rows (lines starting
/// with `|`) are not prose and are left out; a sentence needs 3 words, 2 of them of letters.
pub fn looping(text: &str) -> Option<usize> {
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut words: Vec<(usize, String)> = Vec::new();
    let mut fenced = false;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let at = line_start;
        line_start += line.len();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || trimmed.starts_with('|') {
            continue;
        }
        let mut start = 0;
        for (i, c) in line.char_indices() {
            let end = i + c.len_utf8();
            if matches!(c, '.' | '!' | '?' | ';' | '\n') || end == line.len() {
                let sentence = &line[start..end];
                let w = self::words(sentence);
                let lettered = w
                    .iter()
                    .filter(|w| w.chars().all(char::is_alphabetic))
                    .count();
                if w.len() >= 3 && lettered >= 2 {
                    let offset = at + start + (sentence.len() - sentence.trim_start().len());
                    let times = seen.entry(w.join(" ")).or_default();
                    times.push(offset);
                    if times.len() >= REPEATED_SENTENCE {
                        return Some(times[1]);
                    }
                }
                start = end;
            }
        }
        let mut from = 0;
        for piece in line.split(|c: char| !c.is_alphanumeric()) {
            let offset = at + from;
            from += piece.len() + 1;
            if !piece.is_empty() {
                words.push((offset, piece.to_lowercase()));
            }
        }
    }
    let plain: Vec<String> = words.iter().map(|(_, w)| w.clone()).collect();
    run_start(&plain, LOOP_RUN_WORDS).map(|(first, p)| words[first + p].0)
}

/// Where a repeated run starts (a word index) and its length in words, for runs of 1 to
/// [`RUN_MAX_WORDS`] words repeated [`REPEATED_RUN`] times in a row or more and covering
/// `min_words` or more, with a word of letters in the run.
fn run_start(words: &[String], min_words: usize) -> Option<(usize, usize)> {
    for p in 1..=RUN_MAX_WORDS {
        let needed = REPEATED_RUN.max(min_words.div_ceil(p));
        if words.len() < p * needed {
            break;
        }
        let mut same = 0;
        for i in p..words.len() {
            if words[i] == words[i - p] {
                same += 1;
                let first = i + 1 - same - p;
                let lettered = words[first..first + p]
                    .iter()
                    .any(|w| w.chars().all(char::is_alphabetic));
                if same + p >= p * needed && lettered {
                    return Some((first, p));
                }
            } else {
                same = 0;
            }
        }
    }
    None
}

/// Symbol soup: a field of digits and symbols.
pub fn soup(part: &Part, text: &str) -> Result<(), Flaw> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() >= SOUP_MIN_CHARS {
        let letters = chars.iter().filter(|c| c.is_alphabetic()).count();
        if (letters as f64) < SOUP_LETTERS * chars.len() as f64 {
            return Err(Flaw::new(part.clone(), Kind::Soup(excerpt(text.trim()))));
        }
    }
    Ok(())
}

/// Symbol soup in spoken text: also any word that cannot be read aloud.
pub fn unspeakable(part: &Part, text: &str) -> Result<(), Flaw> {
    soup(part, text)?;
    for word in text.split_whitespace() {
        let n = word.chars().count();
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        if n >= SOUP_WORD_CHARS && (letters as f64) < SOUP_LETTERS * n as f64 {
            return Err(Flaw::new(part.clone(), Kind::Soup(excerpt(word))));
        }
    }
    Ok(())
}

/// A counting loop: the first and last number of it.
fn counting(words: &[String]) -> Option<(i64, i64)> {
    let mut run: Option<(i64, i64, usize, usize)> = None; // first, last, count, position
    for (i, w) in words.iter().enumerate() {
        let Ok(n) = w.parse::<i64>() else { continue };
        run = match run {
            Some((first, last, count, at)) if n == last + 1 && i - at <= 4 => {
                if count + 1 >= COUNTING {
                    return Some((first, n));
                }
                Some((first, n, count + 1, i))
            }
            _ => Some((n, n, 1, i)),
        };
    }
    None
}

/// A run of words repeated in a row, as text.
fn repeated_run(words: &[String]) -> Option<String> {
    run_start(words, REPEATED_RUN_WORDS).map(|(first, p)| words[first..first + p].join(" "))
}

/// The runs of Mentor's own instructions a piece must not copy.
pub struct Echo {
    runs: HashSet<String>,
}

impl Echo {
    /// From the instructions (the system message as sent) and what in it is the learner's
    /// (the passages, the topic, the outline…), whose runs may be repeated.
    pub fn new(instructions: &str, learners: &[&str]) -> Echo {
        let allowed: HashSet<String> = learners.iter().flat_map(|t| shingles(t)).collect();
        let runs = shingles(instructions)
            .into_iter()
            .filter(|run| {
                run.split(' ').filter(|w| stem(w).is_some()).count() >= ECHO_CONTENT_WORDS
            })
            .filter(|run| !allowed.contains(run))
            .collect();
        Echo { runs }
    }

    /// Checks one piece.
    pub fn check(&self, part: &Part, text: &str) -> Result<(), Flaw> {
        let flaw = |run: String| Err(Flaw::new(part.clone(), Kind::Echo(excerpt(&run))));
        for marker in [
            "<<<",
            ">>>",
            "[note from mentor",
            "not written by the learner",
        ] {
            if text.to_lowercase().contains(marker) {
                return flaw(marker.trim_start_matches('[').to_string());
            }
        }
        match shingles(text).into_iter().find(|s| self.runs.contains(s)) {
            Some(run) => flaw(run),
            None => Ok(()),
        }
    }
}

fn shingles(text: &str) -> Vec<String> {
    let w = words(text);
    w.windows(ECHO_WORDS).map(|run| run.join(" ")).collect()
}

/// Words about the quiz or the task itself, not a subject (English and French stems).
const META: &[&str] = &[
    "quest", "answe", "optio", "passa", "sourc", "quiz", "expla", "corre", "choic", "repon",
    "répon", "suppo", "write", "écrir", "segme", "outli", "earli", "mentor",
];

fn is_meta(stem: &str) -> bool {
    META.iter().any(|m| stem.starts_with(m))
}

/// The words of substance in `text`: content words that are not about the task itself and
/// not bare numbers.
pub fn substance(text: &str) -> usize {
    words(text)
        .iter()
        .filter_map(|w| stem(w))
        .filter(|s| !is_meta(s) && !s.chars().all(|c| c.is_ascii_digit()))
        .count()
}

/// Whether `text` has a word about the task itself (a question, an answer, a passage…).
pub fn mentions_task(text: &str) -> bool {
    words(text)
        .iter()
        .filter_map(|w| stem(w))
        .any(|s| is_meta(&s))
}

/// Checks that `text` says something: at least `needed` words of substance.
pub fn says(part: &Part, text: &str, needed: usize) -> Result<(), Flaw> {
    let found = substance(text);
    if found < needed {
        return Err(Flaw::new(part.clone(), Kind::Thin(found, needed)));
    }
    Ok(())
}

/// Checks that `text` is about the subject, not the task: of its content words, at most half
/// (or just one) may be about questions, answers, passages….
pub fn about_the_subject(part: &Part, text: &str) -> Result<(), Flaw> {
    let stems: Vec<String> = words(text).iter().filter_map(|w| stem(w)).collect();
    let meta = stems.iter().filter(|s| is_meta(s)).count();
    if meta >= 2 && meta * 2 > stems.len() {
        return Err(Flaw::new(part.clone(), Kind::Meta));
    }
    Ok(())
}

/// Checks that `text` (an explanation, a definition) is more than `name` again.
pub fn beyond(part: &Part, text: &str, name: &str) -> Result<(), Flaw> {
    let named = content(name);
    let said = content(text);
    if said.is_empty() || said.is_subset(&named) {
        return Err(Flaw::new(part.clone(), Kind::Restated));
    }
    Ok(())
}

/// Placeholder titles, lowercase.
const PLACEHOLDERS: &[&str] = &[
    "title",
    "untitled",
    "no title",
    "the title",
    "your title",
    "title here",
    "podcast",
    "podcast title",
    "episode",
    "episode title",
    "quiz",
    "study guide",
    "guide",
    "n/a",
    "none",
    "tbd",
    "todo",
    "lorem ipsum",
    "titre",
    "sans titre",
    "titre du podcast",
    "épisode",
    "guide d'étude",
];

/// Checks a title: it names something, from the `subject` (topic, notebook title, passages)
/// when that says enough to tell.
pub fn title(title: &str, subject: &HashSet<String>) -> Result<(), Flaw> {
    let shown = title.trim();
    let flaw = || Err(Flaw::new(Part::Title, Kind::Title(excerpt(shown))));
    if shown.is_empty() {
        return Err(Flaw::new(Part::Title, Kind::Empty));
    }
    let lower = shown.to_lowercase();
    let bare = lower.trim_matches(|c: char| !c.is_alphanumeric());
    if PLACEHOLDERS.contains(&bare) || !shown.chars().any(char::is_alphabetic) {
        return flaw();
    }
    soup(&Part::Title, shown)?;
    if subject.len() >= 3 && content(shown).is_disjoint(subject) {
        return flaw();
    }
    Ok(())
}

/// Whether two items say the same: equal once normalized, or alike in their content words.
pub fn same_item(a: &str, b: &str) -> bool {
    let norm = |t: &str| words(t).join(" ");
    if norm(a) == norm(b) && !norm(a).is_empty() {
        return true;
    }
    let (ca, cb) = (content(a), content(b));
    if ca.len() < 3 || cb.len() < 3 {
        return false;
    }
    let shared = ca.intersection(&cb).count() as f64;
    let union = ca.union(&cb).count() as f64;
    shared / union >= DUPLICATE_JACCARD
}

/// The first earlier item that `item` duplicates.
pub fn duplicate<'a>(
    item: &str,
    earlier: impl IntoIterator<Item = (Part, &'a str)>,
) -> Option<Part> {
    earlier
        .into_iter()
        .find(|(_, e)| same_item(item, e))
        .map(|(p, _)| p)
}

/// Whether `claim` is supported by `passage`: see the module's table.
pub fn supported(claim: &str, passage: &str) -> bool {
    let claim = content(claim);
    if claim.is_empty() {
        return true;
    }
    let passage = content(passage);
    let shared = claim.intersection(&passage).count();
    shared >= GROUNDED_WORDS.min(claim.len())
        && shared as f64 >= GROUNDED_SHARE * claim.len() as f64
}

/// Checks the language of a piece of 8 words or more.
pub fn language(part: &Part, text: &str, lang: Lang) -> Result<(), Flaw> {
    let w = words(text);
    if w.len() < 8 {
        return Ok(());
    }
    let en = w.iter().filter(|w| ENGLISH.contains(&w.as_str())).count();
    let fr = w.iter().filter(|w| FRENCH.contains(&w.as_str())).count();
    let (asked, other) = match lang {
        Lang::EnUs => (en, fr),
        Lang::FrFr => (fr, en),
    };
    if other > 2 * asked + 2 {
        return Err(Flaw::new(part.clone(), Kind::Language(lang)));
    }
    Ok(())
}

/// The range of a podcast's spoken length, in minutes.
///
/// | format    | short | default | long   |
/// |-----------|-------|---------|--------|
/// | brief     | 1–3   | 2–6     | 4–10   |
/// | deep dive | 2–6   | 4–12    | 8–20   |
pub fn length_range(format: PodcastFormat, length: PodcastLength) -> (f64, f64) {
    match (format, length) {
        (PodcastFormat::Brief, PodcastLength::Short) => (1.0, 3.0),
        (PodcastFormat::Brief, PodcastLength::Default) => (2.0, 6.0),
        (PodcastFormat::Brief, PodcastLength::Long) => (4.0, 10.0),
        (PodcastFormat::DeepDive, PodcastLength::Short) => (2.0, 6.0),
        (PodcastFormat::DeepDive, PodcastLength::Default) => (4.0, 12.0),
        (PodcastFormat::DeepDive, PodcastLength::Long) => (8.0, 20.0),
    }
}

/// The minutes `text` takes to say.
pub fn spoken_minutes(text: &str) -> f64 {
    text.split_whitespace().count() as f64 / WORDS_PER_MINUTE
}

/// Checks a spoken length against a range (minutes).
pub fn length(part: &Part, minutes: f64, (least, most): (f64, f64)) -> Result<(), Flaw> {
    if minutes < least || minutes > most {
        return Err(Flaw::new(part.clone(), Kind::Length(minutes, least, most)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGE: &str = "The mitochondrion is the organelle that makes most of the cell's \
        ATP through cellular respiration. Its inner membrane folds into cristae.";

    fn kind(r: Result<(), Flaw>) -> Option<Kind> {
        r.err().map(|f| f.kind)
    }

    #[test]
    fn repeated_sentences_fail_and_varied_prose_passes() {
        let looped = "The quiz about \"magic rules\" could not be generated. ".repeat(8);
        assert!(matches!(
            kind(degenerate(&Part::Segment(1), &looped, &[])),
            Some(Kind::RepeatedSentence(_))
        ));
        // Across pieces: twice before, once now.
        let once = "Cells divide by mitosis to grow.";
        let before = "Cells divide by mitosis to grow. Cells divide by mitosis to grow.";
        assert!(degenerate(&Part::Segment(2), once, &[before]).is_err());
        // Digits do not make a loop's lines different.
        let numbered = "Step 1 is done now. Step 2 is done now. Step 3 is done now.";
        assert!(degenerate(&Part::Segment(1), numbered, &[]).is_err());
        degenerate(&Part::Segment(1), PASSAGE, &[PASSAGE]).unwrap();
        // Two mentions of the same fact are fine.
        degenerate(&Part::Segment(1), once, &[once]).unwrap();
    }

    #[test]
    fn runs_and_counting_loops_fail_but_numbers_in_prose_pass() {
        let run = "energy energy energy energy energy energy energy energy energy";
        assert!(matches!(
            kind(degenerate(&Part::Overview, run, &[])),
            Some(Kind::RepeatedRun(_))
        ));
        let two = "in the cell in the cell in the cell in the cell";
        assert!(matches!(
            kind(degenerate(&Part::Overview, two, &[])),
            Some(Kind::RepeatedRun(_))
        ));
        let echo = "Every turn is exactly one of: Alex. Write every turn in English. #1. #2. \
            #3. #4. #5. #6. #7. #8. #9. #10";
        assert_eq!(
            kind(degenerate(&Part::Segment(1), echo, &[])),
            Some(Kind::Counting(1, 8))
        );
        let honest = "Ports 80 and 443 serve HTTP; 8080 and 8081 are common for tests, and \
            version 1.2.3 came in 2021.";
        degenerate(&Part::Question(1), honest, &[]).unwrap();
        // A short list counted in prose is not a loop.
        degenerate(&Part::Overview, "Steps 1, 2, 3 and 4 come first.", &[]).unwrap();
        // "very very" once is emphasis, not a loop.
        degenerate(&Part::Overview, "It is very very small.", &[]).unwrap();
    }

    #[test]
    fn symbol_soup_fails_and_short_numeric_fields_pass() {
        let soup_text = "1.0.1.2206.233.00.0x274.1.1.1.1";
        assert!(matches!(
            kind(degenerate(&Part::Outline, soup_text, &[])),
            Some(Kind::Soup(_))
        ));
        soup(&Part::Question(1), "0x7F").unwrap();
        soup(&Part::Question(1), "8080").unwrap();
        soup(&Part::Question(1), "127.0.0.1:8080").unwrap();
        soup(
            &Part::Question(1),
            "The DEL character has the code 0x7F (127).",
        )
        .unwrap();
        // A long unreadable word in speech fails, even inside prose.
        let spoken = "The address is 2001:0db8:85a3:0000:0000:8a2e:0370:7334 for this host.";
        assert!(unspeakable(&Part::Segment(1), spoken).is_err());
        unspeakable(&Part::Segment(1), "Port 8080 is the usual test port.").unwrap();
    }

    #[test]
    fn echoes_of_the_instructions_fail_but_the_sources_words_pass() {
        let instructions = format!(
            "You write the transcript of an educational podcast episode. Every turn's \
             speaker is exactly one of: Alex. Write every turn in English.\n{PASSAGE}"
        );
        let echo = Echo::new(&instructions, &[PASSAGE]);
        let copied = "Every turn's speaker is exactly one of: Alex. Write every turn in English.";
        assert!(matches!(
            kind(echo.check(&Part::Segment(1), copied)),
            Some(Kind::Echo(_))
        ));
        // Quoting the sources is teaching, not echo.
        echo.check(&Part::Segment(1), PASSAGE).unwrap();
        echo.check(&Part::Segment(1), "Welcome! Today we talk about cells.")
            .unwrap();
        assert!(echo
            .check(&Part::Segment(1), "<<<SOURCES>>> passage 1")
            .is_err());
        assert!(echo
            .check(
                &Part::Question(2),
                "[Note from Mentor, not written by the learner]"
            )
            .is_err());
    }

    #[test]
    fn titles_must_name_the_subject() {
        let subject = content(&format!("cell biology {PASSAGE}"));
        assert!(matches!(
            kind(title("titlme", &subject)),
            Some(Kind::Title(_))
        ));
        assert_eq!(kind(title("  ", &subject)), Some(Kind::Empty));
        assert!(title("Untitled", &subject).is_err());
        assert!(title("Title:", &subject).is_err());
        assert!(title("1.2.3.4", &subject).is_err());
        title("Inside the mitochondrion", &subject).unwrap();
        title("Les mitochondries", &subject).unwrap();
        // With little to compare to, any title of words will do.
        title("A tour of the sky", &content("Stars")).unwrap();
    }

    #[test]
    fn duplicates_are_found_in_other_words_too() {
        assert!(same_item("What makes ATP?", "what makes atp"));
        assert!(same_item(
            "Which organelle makes most ATP in cells?",
            "Which organelle in cells makes most of the ATP?"
        ));
        assert!(!same_item(
            "Which organelle makes most ATP in cells?",
            "What folds the inner membrane into cristae?"
        ));
        let earlier = [(
            Part::Question(1),
            "Which organelle makes most ATP in cells?",
        )];
        assert_eq!(
            duplicate(
                "Which organelle in cells makes the most ATP?",
                earlier.clone()
            ),
            Some(Part::Question(1))
        );
        assert_eq!(duplicate("What are cristae?", earlier), None);
    }

    #[test]
    fn claims_must_share_words_with_their_passage() {
        supported(
            "Which organelle makes most of the cell's ATP? The mitochondrion",
            PASSAGE,
        )
        .then_some(())
        .unwrap();
        assert!(!supported("What is the capital of France? Paris", PASSAGE));
        // One shared word is not enough for a long claim.
        assert!(!supported(
            "Which planet has rings made of ice and dust? Saturn, the cell",
            PASSAGE
        ));
        // Numbers count: an honest numeric question about a table.
        let table = "Code 127 (0x7F) is DEL. Code 32 (0x20) is SPACE.";
        assert!(supported("Which code is DEL? 0x7F", table));
        // Plurals and French endings share a stem.
        assert!(supported(
            "Que font les mitochondries ? L'ATP des cellules",
            "Les mitochondries produisent l'ATP de la cellule."
        ));
    }

    #[test]
    fn the_wrong_language_fails() {
        let english = "The mitochondrion is the organelle that makes most of the energy.";
        let french = "La mitochondrie est l'organite qui produit la plus grande part de l'énergie.";
        language(&Part::Overview, english, Lang::EnUs).unwrap();
        language(&Part::Overview, french, Lang::FrFr).unwrap();
        assert_eq!(
            kind(language(&Part::Overview, english, Lang::FrFr)),
            Some(Kind::Language(Lang::FrFr))
        );
        assert!(language(&Part::Overview, french, Lang::EnUs).is_err());
        // English technical words in French prose are fine.
        language(
            &Part::Overview,
            "Le protocole HTTP utilise le port 80 et le header Content-Type pour les réponses.",
            Lang::FrFr,
        )
        .unwrap();
        // Too short to tell.
        language(&Part::Question(1), "ATP synthase", Lang::FrFr).unwrap();
    }

    #[test]
    fn a_looping_reply_is_cut_where_the_loop_starts() {
        let line = "The quiz about \"magic rules\" could not be generated. ";
        let looped = format!("Let me explain. {}", line.repeat(8));
        let at = looping(&looped).unwrap();
        assert_eq!(&looped[..at], format!("Let me explain. {line}"));
        let run = format!("Sure: {}", "and then ".repeat(20));
        let at = looping(&run).unwrap();
        assert_eq!(&run[..at], "Sure: and then ");
        // Prose, code and tables with repeats are not loops.
        let honest = "A table:\n| 0 | 0 | 0 |\n| 0 | 0 | 0 |\n| 0 | 0 | 0 |\n\
            ```\nx = x + 1;\nx = x + 1;\nx = x + 1;\n```\n\
            The cell makes ATP. The nucleus holds DNA. The cell makes ATP, as we said.";
        assert_eq!(looping(honest), None);
        assert_eq!(looping(&"0 ".repeat(40)), None);
        assert_eq!(looping("Très bien. Très bien."), None);
    }

    #[test]
    fn pieces_must_say_something_about_the_subject() {
        // What the 135M model wrote, and Mentor once kept.
        assert!(matches!(
            kind(says(&Part::Question(1), "Question 1", 2)),
            Some(Kind::Thin(0, 2))
        ));
        assert!(says(&Part::Thought(1), "what", 3).is_err());
        let meta = "Question 3 of the passage is not supported by passage 1. The answer is \
            that the question is not possible.";
        assert_eq!(
            kind(about_the_subject(&Part::Question(3), meta)),
            Some(Kind::Meta)
        );
        assert_eq!(
            kind(beyond(
                &Part::Concept(1),
                "The Shared MIME-info Database",
                "The Shared MIME-info Database"
            )),
            Some(Kind::Restated)
        );
        // Real questions, explanations and definitions pass.
        let q = "Which flush value makes deflate() finish the stream?";
        says(&Part::Question(1), q, 2).unwrap();
        about_the_subject(&Part::Question(1), q).unwrap();
        about_the_subject(
            &Part::Question(2),
            "Which answer does the server send when the request is correct?",
        )
        .unwrap();
        beyond(
            &Part::Concept(1),
            "A database of file types that maps file names and contents to MIME types.",
            "Shared MIME-info Database",
        )
        .unwrap();
        says(
            &Part::Question(4),
            "What is the decimal code of DEL in ASCII?",
            2,
        )
        .unwrap();
    }

    #[test]
    fn podcast_lengths_have_ranges() {
        let range = length_range(PodcastFormat::Brief, PodcastLength::Short);
        assert_eq!(range, (1.0, 3.0));
        // Ten minutes for a brief, short episode is not what was asked.
        assert!(matches!(
            kind(length(&Part::Episode, 10.15, range)),
            Some(Kind::Length(..))
        ));
        let words = "word ".repeat(320);
        length(&Part::Episode, spoken_minutes(&words), range).unwrap();
        assert!(length(&Part::Episode, spoken_minutes("Too short."), range).is_err());
        for format in [PodcastFormat::Brief, PodcastFormat::DeepDive] {
            let mut last = (0.0, 0.0);
            for len in [
                PodcastLength::Short,
                PodcastLength::Default,
                PodcastLength::Long,
            ] {
                let r = length_range(format, len);
                assert!(r.0 < r.1 && r.0 > last.0 && r.1 > last.1, "{r:?}");
                last = r;
            }
        }
    }

    #[test]
    fn every_flaw_reads_in_both_languages() {
        use mentor_shared::i18n::localizer;
        let kinds = [
            Kind::Empty,
            Kind::RepeatedSentence("a b c".into()),
            Kind::RepeatedRun("a b".into()),
            Kind::Counting(1, 8),
            Kind::Soup("1.2.3".into()),
            Kind::Echo("write every turn in english".into()),
            Kind::Title("titlme".into()),
            Kind::Duplicate(Part::Question(1)),
            Kind::Duplicate(Part::Outline),
            Kind::Ungrounded(0),
            Kind::Ungrounded(3),
            Kind::Language(Lang::FrFr),
            Kind::Length(10.2, 1.0, 3.0),
            Kind::SameOptions(1, 3),
            Kind::NoAnswer,
            Kind::OneVoice,
            Kind::Thin(1, 4),
            Kind::Restated,
            Kind::Meta,
        ];
        let parts = [
            Part::Title,
            Part::Overview,
            Part::Question(2),
            Part::Concept(2),
            Part::Term(2),
            Part::Thought(2),
            Part::Outline,
            Part::Segment(2),
            Part::Episode,
            Part::Answer,
        ];
        for lang in [Lang::EnUs, Lang::FrFr] {
            for k in &kinds {
                for p in &parts {
                    let f = Flaw::new(p.clone(), k.clone());
                    let text = f.localize(localizer(lang));
                    assert!(!text.contains("quality-") && !text.is_empty(), "{text}");
                    assert!(!f.for_model().is_empty());
                }
            }
        }
    }
}
