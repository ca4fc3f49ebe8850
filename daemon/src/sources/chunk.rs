//! Splits a source's text into chunks that are small enough to index in FTS5
//! and to quote whole inside a prompt.
//!
//! Guarantees, for any input and any `max_chars`:
//!
//! - every chunk is non-empty, not whitespace-only, trimmed, and at most
//!   `max(max_chars, 64)` characters (chars, not bytes);
//! - every non-whitespace character of the input appears in exactly one
//!   chunk, in input order (no overlap, nothing dropped) — only whitespace
//!   between pieces may be normalised;
//! - cuts prefer, in order: blank lines, line breaks, sentence ends, other
//!   whitespace, and only then a hard cut, which lands on a `char` boundary
//!   and avoids separating an emoji or accent from its combining parts.
//!
//! Within a paragraph, chunks are exact substrings of the input; whole
//! paragraphs packed together are joined with `"\n\n"`.

/// Smallest chunk size honoured; below this, chunks lose too much context to
/// be worth retrieving.
const MIN_MAX_CHARS: usize = 64;

/// One piece of a source's text, small enough to index and to quote in a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// 0-based index of the chunk within its source.
    pub position: usize,
    /// The chunk's text: trimmed, never empty.
    pub text: String,
}

/// Splits text into chunks of at most `max_chars` characters (chars, not
/// bytes), preferring paragraph boundaries (blank lines), then line breaks,
/// then sentence ends (". ", "! ", "? "), then whitespace, and only as a last
/// resort a hard cut at a char boundary.
///
/// There is no overlap: every non-whitespace character of the input appears
/// in exactly one chunk, in order. Small paragraphs are packed together
/// (joined with "\n\n") up to `max_chars`. Empty or whitespace-only chunks are
/// never produced. Positions are 0, 1, 2, … `max_chars` is clamped to at
/// least 64.
pub fn chunk_text(text: &str, max_chars: usize) -> Vec<Chunk> {
    let max = max_chars.max(MIN_MAX_CHARS);
    let mut texts: Vec<String> = Vec::new();
    // The chunk being filled with whole paragraphs, and its length in chars.
    let mut current = String::new();
    let mut current_chars = 0;

    for (start, end) in paragraphs(text) {
        let para = &text[start..end];
        let chars = para.chars().count();
        if chars > max {
            flush(&mut texts, &mut current);
            let mut pieces = Vec::new();
            split_range(text, start, end, Level::Lines, max, &mut pieces);
            // The paragraph's tail may still share a chunk with what follows.
            if let Some((a, b)) = pieces.pop() {
                texts.extend(pieces.iter().map(|&(a, b)| text[a..b].to_owned()));
                current.push_str(&text[a..b]);
                current_chars = text[a..b].chars().count();
            }
        } else if current.is_empty() {
            current.push_str(para);
            current_chars = chars;
        } else if current_chars + 2 + chars <= max {
            current.push_str("\n\n");
            current.push_str(para);
            current_chars += 2 + chars;
        } else {
            flush(&mut texts, &mut current);
            current.push_str(para);
            current_chars = chars;
        }
    }
    flush(&mut texts, &mut current);

    texts
        .into_iter()
        .enumerate()
        .map(|(position, text)| Chunk { position, text })
        .collect()
}

fn flush(texts: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        texts.push(std::mem::take(current));
    }
}

/// Byte ranges of the paragraphs (runs of non-blank lines), trimmed.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut para: Option<(usize, usize)> = None;
    let mut line_start = 0;
    for line in text.split('\n') {
        let line_end = line_start + line.len();
        if line.trim().is_empty() {
            out.extend(para.take());
        } else {
            para = Some((para.map_or(line_start, |(s, _)| s), line_end));
        }
        line_start = line_end + 1;
    }
    out.extend(para);
    out.into_iter()
        .filter_map(|(s, e)| trim_range(text, s, e))
        .collect()
}

/// Boundaries tried inside an oversized paragraph, from most to least natural.
#[derive(Debug, Clone, Copy)]
enum Level {
    Lines,
    Sentences,
    Words,
    Hard,
}

impl Level {
    fn finer(self) -> Level {
        match self {
            Level::Lines => Level::Sentences,
            Level::Sentences => Level::Words,
            Level::Words | Level::Hard => Level::Hard,
        }
    }
}

/// Splits `text[start..end]` (already trimmed) into trimmed ranges of at most
/// `max` chars, appended to `out` in order. Segments at `level` are packed
/// greedily; any segment still too long is split at the next finer level, so
/// recursion depth is bounded by the number of levels.
fn split_range(
    text: &str,
    start: usize,
    end: usize,
    level: Level,
    max: usize,
    out: &mut Vec<(usize, usize)>,
) {
    if let Level::Hard = level {
        hard_cut(text, start, end, max, out);
        return;
    }
    // Range being packed, with its length in chars.
    let mut current: Option<(usize, usize, usize)> = None;
    for (a, b) in segments(text, start, end, level) {
        let chars = text[a..b].chars().count();
        if chars > max {
            out.extend(current.take().map(|(s, e, _)| (s, e)));
            let mut pieces = Vec::new();
            split_range(text, a, b, level.finer(), max, &mut pieces);
            if let Some((s, e)) = pieces.pop() {
                out.extend(pieces);
                current = Some((s, e, text[s..e].chars().count()));
            }
            continue;
        }
        current = match current {
            None => Some((a, b, chars)),
            Some((s, e, n)) => {
                // Keep the original separator, so chunks stay exact substrings.
                let joined = n + text[e..a].chars().count() + chars;
                if joined <= max {
                    Some((s, b, joined))
                } else {
                    out.push((s, e));
                    Some((a, b, chars))
                }
            }
        };
    }
    out.extend(current.map(|(s, e, _)| (s, e)));
}

/// Trimmed, non-empty segments of `text[start..end]` at the given level.
fn segments(text: &str, start: usize, end: usize, level: Level) -> Vec<(usize, usize)> {
    let slice = &text[start..end];
    let mut raw = Vec::new();
    let mut seg_start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in slice.char_indices() {
        let cut = match level {
            Level::Lines => c == '\n',
            // The cut goes before the whitespace; trimming removes it.
            Level::Sentences => c.is_whitespace() && matches!(prev, Some('.' | '!' | '?')),
            Level::Words => c.is_whitespace(),
            Level::Hard => false,
        };
        if cut {
            raw.push((start + seg_start, start + i));
            seg_start = i;
        }
        prev = Some(c);
    }
    raw.push((start + seg_start, end));
    raw.into_iter()
        .filter_map(|(s, e)| trim_range(text, s, e))
        .collect()
}

/// Cuts a run with no usable boundary into pieces of at most `max` chars.
fn hard_cut(text: &str, start: usize, end: usize, max: usize, out: &mut Vec<(usize, usize)>) {
    let chars: Vec<(usize, char)> = text[start..end]
        .char_indices()
        .map(|(i, c)| (start + i, c))
        .collect();
    let mut from = 0;
    while chars.len() - from > max {
        let limit = from + max;
        // Back off a little so a combining mark, variation selector or ZWJ
        // sequence stays with its base character; give up if that would make
        // the piece much shorter than asked.
        let cut = (limit.saturating_sub(8).max(from + 1)..=limit)
            .rev()
            .find(|&i| !joins_previous(chars[i - 1].1, chars[i].1))
            .unwrap_or(limit);
        out.extend(trim_range(text, chars[from].0, chars[cut].0));
        from = cut;
    }
    if let Some(&(s, _)) = chars.get(from) {
        out.extend(trim_range(text, s, end));
    }
}

/// True if `next` belongs to the same user-perceived character as `prev`, as
/// far as a cheap check without Unicode tables can tell.
fn joins_previous(prev: char, next: char) -> bool {
    prev == '\u{200d}'
        || matches!(next,
            '\u{0300}'..='\u{036f}'     // combining diacritical marks
            | '\u{200d}'                // zero-width joiner
            | '\u{20d0}'..='\u{20ff}'   // combining marks for symbols
            | '\u{fe00}'..='\u{fe0f}'   // variation selectors
            | '\u{1f3fb}'..='\u{1f3ff}' // emoji skin tones
            | '\u{e0020}'..='\u{e007f}' // emoji tag sequences (subdivision flags)
        )
}

fn trim_range(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let slice = &text[start..end];
    let trimmed = slice.trim_start();
    let s = start + (slice.len() - trimmed.len());
    let e = s + trimmed.trim_end().len();
    (s < e).then_some((s, e))
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn non_ws(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Checks every documented guarantee of `chunk_text` for one input.
    fn check(text: &str, max_chars: usize) -> Vec<Chunk> {
        let chunks = chunk_text(text, max_chars);
        let max = max_chars.max(64);
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.position, i);
            assert!(!chunk.text.trim().is_empty(), "blank chunk {i}");
            assert_eq!(chunk.text, chunk.text.trim(), "untrimmed chunk {i}");
            let n = chunk.text.chars().count();
            assert!(n <= max, "chunk {i} has {n} chars > {max}");
        }
        let joined: String = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            non_ws(&joined),
            non_ws(text),
            "content lost, duplicated or reordered"
        );
        chunks
    }

    fn texts(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    /// xorshift64*: deterministic, dependency-free generator for inputs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn empty_and_blank_inputs_give_no_chunks() {
        for text in ["", " ", "\n\n\n", " \t\r\n \u{a0}\u{3000} \n"] {
            assert!(chunk_text(text, 100).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn short_text_is_one_trimmed_chunk() {
        let chunks = check("  \n Hello, world.  \n", 500);
        assert_eq!(
            chunks,
            [Chunk {
                position: 0,
                text: "Hello, world.".into()
            }]
        );
    }

    #[test]
    fn small_paragraphs_are_packed_and_joined() {
        let text = "one\n\n\n\ntwo\n   \nthree\r\n\r\nfour";
        let chunks = check(text, 100);
        assert_eq!(texts(&chunks), ["one\n\ntwo\n\nthree\n\nfour"]);
    }

    #[test]
    fn paragraphs_are_not_split_when_they_fit() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = "c".repeat(10);
        let text = format!("{a}\n\n{b}\n\n{c}");
        let chunks = check(&text, 64);
        // 40 + 2 + 40 > 64, so a and b stay apart; b and c pack together.
        assert_eq!(texts(&chunks), [a, format!("{b}\n\n{c}")]);
    }

    #[test]
    fn exact_fit_is_allowed() {
        let a = "x".repeat(31);
        let text = format!("{a}\n\n{a}");
        let chunks = check(&text, 64);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text.chars().count(), 64);
    }

    #[test]
    fn long_paragraph_splits_at_lines_first() {
        let line = "The quick brown fox. Jumps over the lazy dog";
        let text = [line; 4].join("\n");
        let chunks = check(&text, 100);
        assert_eq!(texts(&chunks), [[line; 2].join("\n"), [line; 2].join("\n")]);
    }

    #[test]
    fn long_line_splits_at_sentences() {
        let s1 = "Chlorophyll absorbs red and blue light strongly.";
        let s2 = "It reflects green light, which is why leaves look green!";
        let s3 = "Does it absorb anything else?";
        let s4 = "Yes, a little";
        let text = format!("{s1} {s2} {s3} {s4}");
        let chunks = check(&text, 64);
        assert_eq!(texts(&chunks), [s1, s2, &format!("{s3} {s4}")]);
    }

    #[test]
    fn long_sentence_splits_at_whitespace() {
        let text = "word ".repeat(40);
        let chunks = check(&text, 64);
        for chunk in &chunks {
            assert!(chunk.text.split(' ').all(|w| w == "word"), "{chunk:?}");
        }
        assert_eq!(chunks.len(), 4);
    }

    #[test]
    fn periods_without_space_are_not_sentence_ends() {
        let text = format!(
            "{} see example.com and v1.2.3 here. {}",
            "a ".repeat(20),
            "b ".repeat(20)
        );
        let chunks = check(&text, 64);
        assert!(chunks.iter().any(|c| c.text.contains("example.com")));
        assert!(chunks.iter().any(|c| c.text.contains("v1.2.3")));
    }

    #[test]
    fn tail_of_split_paragraph_packs_with_next() {
        let long = "y".repeat(100);
        let text = format!("{long}\n\nshort");
        let chunks = check(&text, 64);
        assert_eq!(
            texts(&chunks),
            ["y".repeat(64), format!("{}\n\nshort", "y".repeat(36))]
        );
    }

    #[test]
    fn single_huge_word_is_hard_cut() {
        let word = "z".repeat(10_000);
        let chunks = check(&word, 1000);
        assert_eq!(chunks.len(), 10);
        assert!(chunks.iter().all(|c| c.text.len() == 1000));
        let chunks = check(&word, 0);
        assert_eq!(chunks.len(), 10_000usize.div_ceil(64));
    }

    #[test]
    fn max_chars_is_clamped() {
        let text = "word ".repeat(100);
        for max in [0, 1, 10, 63] {
            let chunks = check(&text, max);
            assert!(chunks.iter().any(|c| c.text.chars().count() > 50), "{max}");
        }
    }

    #[test]
    fn multibyte_text_is_counted_in_chars_and_never_split_inside() {
        // 2-, 3- and 4-byte chars; a byte-based limit would cut far earlier.
        let french = "Crème brûlée à la française, café noir ".repeat(30);
        let chunks = check(&french, 64);
        assert!(chunks.iter().any(|c| c.text.len() > 64));
        let accents = "é".repeat(1_000);
        let chunks = check(&accents, 100);
        assert_eq!(chunks.len(), 10);
        assert!(chunks.iter().all(|c| c.text.chars().all(|ch| ch == 'é')));
        let emoji = "🌱".repeat(500);
        let chunks = check(&emoji, 64);
        assert!(chunks.iter().all(|c| c.text.chars().all(|ch| ch == '🌱')));
        assert_eq!(chunks[0].text.chars().count(), 64);
    }

    #[test]
    fn hard_cut_keeps_combining_sequences_together() {
        // Decomposed "é" (e + U+0301) and a ZWJ family emoji, repeated.
        for unit in ["e\u{301}", "👩\u{200d}🔬", "👍🏽", "❤\u{fe0f}"] {
            let text = unit.repeat(300);
            let chunks = check(&text, 64);
            for c in &chunks {
                let n = c.text.matches(unit).count() * unit.len();
                assert_eq!(n, c.text.len(), "{unit:?} split in {:?}", c.text);
            }
        }
        // A run of nothing but combining marks still makes progress.
        check(&"\u{301}".repeat(500), 64);
    }

    #[test]
    fn generated_inputs_keep_every_char_once_in_order() {
        let vocab = [
            "the",
            "chlorophyll",
            "thylakoid",
            "a",
            "photosynthèse",
            "naïve",
            "café",
            "🌿",
            "👩\u{200d}🔬",
            "e\u{301}",
            "光合作用",
            "Mitochondria",
            "ATP",
            "x",
            "",
        ];
        let seps = [
            " ", " ", " ", " ", ". ", "! ", "? ", ", ", "\n", "\n\n", "\n \n", "\r\n", "\t", "  ",
            "\n\n\n\n", ".", "\u{a0}", "\u{3000}",
        ];
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for round in 0..600 {
            let mut text = String::new();
            for _ in 0..rng.below(400) {
                if rng.below(50) == 0 {
                    // Occasional very long word, to force hard cuts.
                    text.push_str(&"w".repeat(rng.below(300)));
                } else {
                    text.push_str(vocab[rng.below(vocab.len())]);
                }
                text.push_str(seps[rng.below(seps.len())]);
            }
            let max = match round % 4 {
                0 => rng.below(64),
                1 => 64 + rng.below(64),
                2 => 100 + rng.below(400),
                _ => 1_000 + rng.below(2_000),
            };
            check(&text, max);
        }
    }

    #[test]
    fn large_input_is_fast_enough() {
        let text = "Sentence number one is here. Another follows it!\n".repeat(20_000);
        let chunks = check(&text, 800);
        assert!(chunks.len() > 1_000);
    }
}
