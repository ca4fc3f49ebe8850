//! The message composer's state: the text being written, its cursor, and the sent-history.
//!
//! Pure on purpose: no terminal and no I/O, so every editing rule is unit-testable and the
//! widget that draws it (`ui::input`) only has to render a [`Layout`].

use std::ops::Range;

use unicode_segmentation::{GraphemeCursor, UnicodeSegmentation};
use unicode_width::UnicodeWidthStr;

/// How many sent messages the history keeps; older ones are dropped first.
pub const HISTORY_CAP: usize = 100;

/// What a typed or pasted tab becomes: a tab has no fixed width and ratatui drops control
/// characters when drawing, so a literal '\t' would put the cursor where no text is.
const TAB: &str = "    ";

/// The composer's state: text (may hold '\n'), cursor, sent-history and history browsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    text: String,
    /// Byte index into `text`, always on a grapheme boundary.
    cursor: usize,
    /// Sent messages, oldest first.
    history: Vec<String>,
    /// Index into `history` of the entry shown, while it is shown unmodified.
    browsing: Option<usize>,
    /// The text that was there when browsing started, given back by Down past the newest entry.
    draft: String,
    /// Display column Up/Down aim for, so crossing a short row does not lose the column.
    goal_col: Option<usize>,
    /// The last text removed by Ctrl+W/U/K, for [`Input::yank`].
    killed: String,
}

/// The text laid out for a width: what each visual row shows and where the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The visual rows, each at most the width wide (a lone grapheme wider than the whole width is the exception).
    pub rows: Vec<String>,
    /// The cursor as (row, column) in `rows`; saturates at `u16::MAX` for absurdly long texts.
    pub cursor: (u16, u16),
}

impl Input {
    /// An empty composer with no history.
    pub fn new() -> Input {
        Input::default()
    }

    /// An empty composer that remembers `history` (oldest first), e.g. loaded from disk.
    pub fn with_history(history: Vec<String>) -> Input {
        let mut input = Input::new();
        // Entries come from outside: hold them to the same rules as messages sent here.
        for entry in history {
            input.remember(trim_message(&clean(&entry)).to_owned());
        }
        input
    }

    /// The text being composed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether there is no text at all.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether the text is empty or only whitespace (nothing worth sending).
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// The cursor as a byte index into [`Input::text`], on a grapheme boundary.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Sent messages, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Types one character at the cursor ('\r' is a newline, '\t' four spaces, other controls are ignored).
    pub fn insert_char(&mut self, c: char) {
        let mut buf = [0; 4];
        self.insert_str(c.encode_utf8(&mut buf));
    }

    /// Pastes `s` at the cursor: "\r\n" and "\r" become '\n', tabs four spaces, other control characters are dropped.
    pub fn insert_str(&mut self, s: &str) {
        let s = clean(s);
        if s.is_empty() {
            return;
        }
        self.text.insert_str(self.cursor, &s);
        self.cursor += s.len();
        self.edited();
    }

    /// Starts a new line at the cursor.
    pub fn newline(&mut self) {
        self.insert_str("\n");
    }

    /// Deletes the grapheme before the cursor.
    pub fn backspace(&mut self) {
        let start = prev_boundary(&self.text, self.cursor);
        self.remove(start..self.cursor);
    }

    /// Deletes the grapheme after the cursor.
    pub fn delete(&mut self) {
        let end = next_boundary(&self.text, self.cursor);
        self.remove(self.cursor..end);
    }

    /// Moves the cursor one grapheme left.
    pub fn left(&mut self) {
        self.move_to(prev_boundary(&self.text, self.cursor));
    }

    /// Moves the cursor one grapheme right.
    pub fn right(&mut self) {
        self.move_to(next_boundary(&self.text, self.cursor));
    }

    /// Moves the cursor to the start of the word before it.
    pub fn word_left(&mut self) {
        self.move_to(self.word_start_before());
    }

    /// Moves the cursor to the end of the word after it.
    pub fn word_right(&mut self) {
        self.move_to(self.word_end_after());
    }

    /// Moves the cursor to the start of its line (the text after the previous '\n').
    pub fn home(&mut self) {
        self.move_to(self.line_start());
    }

    /// Moves the cursor to the end of its line (just before the next '\n').
    pub fn end(&mut self) {
        self.move_to(self.line_end());
    }

    /// Ctrl+W: deletes the word before the cursor, or the line break when the cursor starts a line.
    pub fn delete_word_back(&mut self) {
        let line_start = self.line_start();
        if self.cursor == line_start {
            // Stopping at the line start keeps Ctrl+W from eating the line above by surprise.
            self.backspace();
        } else {
            let start = self.word_start_before().max(line_start);
            self.kill(start..self.cursor);
        }
    }

    /// Ctrl+U: deletes from the start of the line to the cursor, or the line break when already there.
    pub fn kill_to_line_start(&mut self) {
        let line_start = self.line_start();
        if self.cursor == line_start {
            self.backspace();
        } else {
            self.kill(line_start..self.cursor);
        }
    }

    /// Ctrl+K: deletes from the cursor to the end of the line, or the line break when already there.
    pub fn kill_to_line_end(&mut self) {
        let line_end = self.line_end();
        if self.cursor == line_end {
            self.delete();
        } else {
            self.kill(self.cursor..line_end);
        }
    }

    /// Ctrl+Y: inserts the text last removed by Ctrl+W, Ctrl+U or Ctrl+K.
    pub fn yank(&mut self) {
        let killed = self.killed.clone();
        self.insert_str(&killed);
    }

    /// Empties the text (history is kept).
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.edited();
    }

    /// Up: a visual row up at `width`; on the first row an older history entry if the text is empty or an unedited entry, else the text's start; whether anything changed.
    pub fn up(&mut self, width: u16) -> bool {
        if self.vertical(width, false) {
            return true;
        }
        let older = match self.browsing {
            Some(i) => i.checked_sub(1),
            None if self.text.is_empty() => self.history.len().checked_sub(1),
            None => None,
        };
        if let Some(i) = older {
            if self.browsing.is_none() {
                self.draft = std::mem::take(&mut self.text);
            }
            self.show_entry(i);
            return true;
        }
        self.jump(0)
    }

    /// Down: a visual row down at `width`; on the last row while browsing a newer entry (past the newest, the draft), else the text's end; whether anything changed.
    pub fn down(&mut self, width: u16) -> bool {
        if self.vertical(width, true) {
            return true;
        }
        if let Some(i) = self.browsing {
            if i + 1 < self.history.len() {
                self.show_entry(i + 1);
            } else {
                self.text = std::mem::take(&mut self.draft);
                self.cursor = self.text.len();
                self.browsing = None;
                self.goal_col = None;
            }
            return true;
        }
        self.jump(self.text.len())
    }

    /// Takes the message to send (blank lines before, whitespace after trimmed) into the history and empties the composer; `None` (text kept) when blank.
    pub fn take(&mut self) -> Option<String> {
        let message = trim_message(&self.text).to_owned();
        if message.is_empty() {
            return None;
        }
        self.remember(message.clone());
        self.clear();
        Some(message)
    }

    /// Replaces the text (e.g. from $EDITOR), cleaned like a paste and without the trailing newlines editors add; cursor at the end.
    pub fn set_text(&mut self, text: String) {
        let mut text = clean(&text);
        text.truncate(text.trim_end_matches('\n').len());
        self.cursor = text.len();
        self.text = text;
        self.edited();
    }

    /// Lays the text out for `width` columns (0 counts as 1): wrapped at spaces where possible, inside longer words otherwise, a new row at each '\n'.
    pub fn layout(&self, width: u16) -> Layout {
        let wrapped = wrap(&self.text, width);
        let stop = wrapped.stop_at(self.cursor);
        Layout {
            rows: wrapped
                .rows
                .iter()
                .map(|range| self.text.get(range.clone()).unwrap_or_default().to_owned())
                .collect(),
            cursor: (saturate(stop.row), saturate(stop.col)),
        }
    }

    /// Records a sent message: no blanks, no consecutive duplicates, at most [`HISTORY_CAP`].
    fn remember(&mut self, message: String) {
        if message.is_empty() || self.history.last() == Some(&message) {
            return;
        }
        self.history.push(message);
        let excess = self.history.len().saturating_sub(HISTORY_CAP);
        self.history.drain(..excess);
        // Indices into the history shifted; whoever was browsing starts over.
        self.browsing = None;
    }

    /// Shows history entry `i` for browsing, cursor at its end as shells do.
    fn show_entry(&mut self, i: usize) {
        let Some(entry) = self.history.get(i) else {
            return;
        };
        self.text = entry.clone();
        self.cursor = self.text.len();
        self.browsing = Some(i);
        self.goal_col = None;
    }

    /// Moves the cursor one visual row, aiming at the goal column; false on the first/last row.
    fn vertical(&mut self, width: u16, down: bool) -> bool {
        let wrapped = wrap(&self.text, width);
        let here = wrapped.stop_at(self.cursor);
        let target = if down {
            here.row + 1
        } else {
            match here.row.checked_sub(1) {
                Some(row) => row,
                None => return false,
            }
        };
        let goal = self.goal_col.unwrap_or(here.col);
        let mut on_row = wrapped.stops.iter().filter(|s| s.row == target);
        let Some(&first) = on_row.clone().next() else {
            return false;
        };
        // Stops run left to right within a row: the last one not past the goal is the closest
        // from the left, which never lands inside a wide character.
        let best = on_row.rfind(|s| s.col <= goal).copied().unwrap_or(first);
        self.cursor = best.byte;
        self.goal_col = Some(goal);
        true
    }

    /// Moves the cursor to `to` for Up/Down's fallback; whether it moved.
    fn jump(&mut self, to: usize) -> bool {
        self.goal_col = None;
        let moved = self.cursor != to;
        self.cursor = to;
        moved
    }

    /// A horizontal move: the goal column no longer applies.
    fn move_to(&mut self, to: usize) {
        self.cursor = to;
        self.goal_col = None;
    }

    /// Removes `range` and remembers it for [`Input::yank`].
    fn kill(&mut self, range: Range<usize>) {
        if let Some(removed) = self.text.get(range.clone()).filter(|r| !r.is_empty()) {
            self.killed = removed.to_owned();
        }
        self.remove(range);
    }

    /// Removes `range` (cursor at its start); an empty range changes nothing.
    fn remove(&mut self, range: Range<usize>) {
        if range.is_empty() || self.text.get(range.clone()).is_none() {
            return;
        }
        self.cursor = range.start;
        self.text.replace_range(range, "");
        self.edited();
    }

    /// After any change to the text: keep the cursor on a grapheme boundary and stop browsing.
    fn edited(&mut self) {
        // An insertion or deletion can fuse graphemes around the cursor (a combining mark,
        // a second regional indicator): step past the fused grapheme rather than split it.
        if !is_boundary(&self.text, self.cursor) {
            self.cursor = next_boundary(&self.text, self.cursor);
        }
        // Browsing means "showing an entry unmodified": once edited, Up must not replace it.
        self.browsing = None;
        self.draft.clear();
        self.goal_col = None;
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    /// Where Alt+Left lands: back over separators, then over the word before them.
    fn word_start_before(&self) -> usize {
        let mut pos = self.cursor;
        let mut in_word = false;
        for (i, g) in self.text[..self.cursor].grapheme_indices(true).rev() {
            if is_word(g) {
                in_word = true;
            } else if in_word {
                break;
            }
            pos = i;
        }
        pos
    }

    /// Where Alt+Right lands: over separators, then to the end of the word after them.
    fn word_end_after(&self) -> usize {
        let mut pos = self.cursor;
        let mut in_word = false;
        for (i, g) in self.text[self.cursor..].grapheme_indices(true) {
            if is_word(g) {
                in_word = true;
            } else if in_word {
                break;
            }
            pos = self.cursor + i + g.len();
        }
        pos
    }
}

/// Normalizes typed or pasted text: one newline kind, no tabs, no control characters (which
/// would move the terminal's own cursor or be drawn as nothing).
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push_str(TAB),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The part of a message worth sending: no blank lines before it (the first line's indentation
/// stays, it may be code), no whitespace after it.
fn trim_message(text: &str) -> &str {
    let Some(first) = text.find(|c: char| !c.is_whitespace()) else {
        return "";
    };
    let start = text[..first].rfind('\n').map_or(0, |i| i + 1);
    text[start..].trim_end()
}

/// Whether a grapheme belongs to a word for word motions (punctuation and spaces separate).
fn is_word(g: &str) -> bool {
    g.chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Whether a grapheme is a space a row may wrap after; no-break spaces are not.
fn is_break_space(g: &str) -> bool {
    g.chars()
        .next()
        .is_some_and(|c| c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}'))
}

/// A grapheme's width in terminal cells, computed as ratatui's buffer does so the cursor lands
/// where the text is drawn (halfwidth katakana sound marks take a cell there).
fn grapheme_width(g: &str) -> usize {
    g.width()
        + g.chars()
            .filter(|c| matches!(c, '\u{ff9e}' | '\u{ff9f}'))
            .count()
}

fn is_boundary(text: &str, at: usize) -> bool {
    if at == 0 || at >= text.len() {
        return true;
    }
    if !text.is_char_boundary(at) {
        return false;
    }
    // Given the whole text as one chunk the cursor never needs more context, so Err cannot
    // happen; treating it as a boundary is the harmless answer.
    GraphemeCursor::new(at, text.len(), true)
        .is_boundary(text, 0)
        .unwrap_or(true)
}

fn next_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let at = floor_char_boundary(text, at);
    GraphemeCursor::new(at, text.len(), true)
        .next_boundary(text, 0)
        .ok()
        .flatten()
        .unwrap_or(text.len())
}

fn prev_boundary(text: &str, at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let at = floor_char_boundary(text, at.min(text.len()));
    GraphemeCursor::new(at, text.len(), true)
        .prev_boundary(text, 0)
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// `at` moved back onto a char boundary (the cursor always is one; this guards the slicing).
fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn saturate(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// A cursor position and where it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stop {
    byte: usize,
    row: usize,
    col: usize,
}

/// The text wrapped for one width.
#[derive(Debug)]
struct Wrapped {
    /// The byte range each visual row shows (spaces hanging past the edge left out).
    rows: Vec<Range<usize>>,
    /// Every cursor position (grapheme boundary) in byte order, with where it is drawn.
    stops: Vec<Stop>,
}

impl Wrapped {
    fn stop_at(&self, byte: usize) -> Stop {
        let i = match self.stops.binary_search_by_key(&byte, |s| s.byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        self.stops.get(i).copied().unwrap_or(Stop {
            byte: 0,
            row: 0,
            col: 0,
        })
    }
}

/// One grapheme being placed on a row.
#[derive(Debug, Clone, Copy)]
struct Cell {
    byte: usize,
    len: usize,
    width: usize,
    space: bool,
}

fn wrap(text: &str, width: u16) -> Wrapped {
    // A zero-wide area still gets a layout: one grapheme per row, no infinite loop.
    let width = usize::from(width.max(1));
    let mut out = Wrapped {
        rows: Vec::new(),
        stops: Vec::new(),
    };
    let mut line_start = 0;
    for line in text.split('\n') {
        wrap_line(line, line_start, width, &mut out);
        line_start += line.len() + 1;
    }
    out
}

/// Wraps one logical line (no '\n') that starts at byte `base`.
fn wrap_line(line: &str, base: usize, width: usize, out: &mut Wrapped) {
    let mut row: Vec<Cell> = Vec::new();
    let mut col = 0;
    for (i, g) in line.grapheme_indices(true) {
        let cell = Cell {
            byte: base + i,
            len: g.len(),
            width: grapheme_width(g),
            space: is_break_space(g),
        };
        // Spaces may hang past the edge, so a wrapped row never starts with the space
        // it wrapped at.
        if !cell.space {
            while col + cell.width > width && !row.is_empty() {
                // Wrap after the row's last space so the word moves down whole; a row with no
                // space is one long word and breaks where it is.
                let k = match row.iter().rposition(|c| c.space) {
                    Some(p) => p + 1,
                    None => row.len(),
                };
                push_row(out, &row[..k], width, None);
                row.drain(..k);
                col = row.iter().map(|c| c.width).sum();
            }
        }
        col += cell.width;
        row.push(cell);
    }
    push_row(out, &row, width, Some(base + line.len()));
}

/// Adds a row of `cells`; `line_end` is the byte where the logical line ends when this row is its last.
fn push_row(out: &mut Wrapped, cells: &[Cell], width: usize, line_end: Option<usize>) {
    let r = out.rows.len();
    let start = cells.first().map_or(line_end.unwrap_or(0), |c| c.byte);
    let mut visible_end = start;
    let mut col = 0;
    for cell in cells {
        // A position past the edge (before a hanging space) is drawn where the next typed
        // character would go: the start of the next row.
        out.stops.push(if col < width {
            Stop {
                byte: cell.byte,
                row: r,
                col,
            }
        } else {
            Stop {
                byte: cell.byte,
                row: r + 1,
                col: 0,
            }
        });
        // Only a lone grapheme wider than the whole row may overflow; the renderer clips it.
        if col + cell.width <= width || col == 0 {
            visible_end = cell.byte + cell.len;
        }
        col += cell.width;
    }
    out.rows.push(start..visible_end);
    if let Some(end) = line_end {
        if col < width {
            out.stops.push(Stop {
                byte: end,
                row: r,
                col,
            });
        } else {
            // The line fills its last row: the end of it gets a row of its own, so the cursor
            // never sits past the edge.
            out.stops.push(Stop {
                byte: end,
                row: r + 1,
                col: 0,
            });
            out.rows.push(end..end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u16 = 80;

    /// `text` as is (not cleaned, unlike `set_text`) with the cursor at its end.
    fn input(text: &str) -> Input {
        Input {
            text: text.to_owned(),
            cursor: text.len(),
            ..Input::default()
        }
    }

    /// `text` with the cursor at byte `at`.
    fn at(text: &str, at: usize) -> Input {
        let mut i = input(text);
        i.cursor = at;
        i
    }

    fn rows(text: &str, width: u16) -> Vec<String> {
        input(text).layout(width).rows
    }

    // ---- inserting ----

    #[test]
    fn new_is_empty() {
        let i = Input::new();
        assert_eq!(i.text(), "");
        assert_eq!(i.cursor(), 0);
        assert!(i.is_empty());
        assert!(i.is_blank());
        assert!(i.history().is_empty());
    }

    #[test]
    fn is_blank_vs_is_empty() {
        let i = input("  \n ");
        assert!(!i.is_empty());
        assert!(i.is_blank());
        assert!(!input(" x ").is_blank());
    }

    #[test]
    fn insert_char_appends_and_advances() {
        let mut i = Input::new();
        for c in "héllo".chars() {
            i.insert_char(c);
        }
        assert_eq!(i.text(), "héllo");
        assert_eq!(i.cursor(), "héllo".len());
    }

    #[test]
    fn insert_char_in_the_middle() {
        let mut i = at("ac", 1);
        i.insert_char('b');
        assert_eq!(i.text(), "abc");
        assert_eq!(i.cursor(), 2);
    }

    #[test]
    fn insert_char_controls() {
        let mut i = Input::new();
        i.insert_char('\u{1b}');
        i.insert_char('\u{7}');
        i.insert_char('\0');
        assert_eq!(i.text(), "");
        i.insert_char('\t');
        assert_eq!(i.text(), "    ");
        i.insert_char('\r');
        assert_eq!(i.text(), "    \n");
        assert_eq!(i.cursor(), 5);
    }

    #[test]
    fn insert_str_normalizes_paste() {
        let mut i = Input::new();
        i.insert_str("a\r\nb\rc\nd\te\u{1b}[31mf\u{7}\u{85}g\u{2028}h");
        assert_eq!(i.text(), "a\nb\nc\nd    e[31mfg\nh");
        assert_eq!(i.cursor(), i.text().len());
    }

    #[test]
    fn insert_str_crlf_split_keeps_one_newline_each() {
        let mut i = Input::new();
        i.insert_str("\r\n\r\n\n\r");
        assert_eq!(i.text(), "\n\n\n\n");
    }

    #[test]
    fn insert_str_keeps_unicode() {
        let mut i = at("[]", 1);
        i.insert_str("日本 👩‍👩‍👧 e\u{301}");
        assert_eq!(i.text(), "[日本 👩‍👩‍👧 e\u{301}]");
        assert_eq!(i.cursor(), i.text().len() - 1);
    }

    #[test]
    fn insert_str_empty_or_only_controls_changes_nothing() {
        let mut i = Input::with_history(vec!["old".into()]);
        assert!(i.up(W));
        i.insert_str("");
        i.insert_str("\u{1b}\u{0}");
        assert_eq!(i.text(), "old");
        // Still browsing: nothing was edited.
        assert!(i.down(W));
        assert_eq!(i.text(), "");
    }

    #[test]
    fn newline_inserts_line_break() {
        let mut i = at("ab", 1);
        i.newline();
        assert_eq!(i.text(), "a\nb");
        assert_eq!(i.cursor(), 2);
    }

    #[test]
    fn combining_mark_typed_after_letter_keeps_cursor_after_grapheme() {
        let mut i = input("e");
        i.insert_char('\u{301}');
        assert_eq!(i.text(), "e\u{301}");
        assert_eq!(i.cursor(), 3);
        i.left();
        assert_eq!(i.cursor(), 0);
    }

    #[test]
    fn insertion_that_fuses_graphemes_snaps_cursor_to_a_boundary() {
        // A regional indicator typed before another forms one flag: the cursor must not
        // end up inside it.
        let mut i = at("\u{1f1f8}", 0);
        i.insert_char('\u{1f1fa}');
        assert_eq!(i.text(), "🇺🇸");
        assert_eq!(i.cursor(), 8);
        // A combining mark pasted before a letter attaches to the letter before the cursor.
        let mut i = at("ab", 1);
        i.insert_char('\u{301}');
        assert_eq!(i.cursor(), 3);
        assert!(is_boundary(i.text(), i.cursor()));
    }

    // ---- deleting ----

    #[test]
    fn backspace_and_delete_at_the_ends_do_nothing() {
        let mut i = at("ab", 0);
        i.backspace();
        assert_eq!((i.text(), i.cursor()), ("ab", 0));
        let mut i = input("ab");
        i.delete();
        assert_eq!((i.text(), i.cursor()), ("ab", 2));
        let mut i = Input::new();
        i.backspace();
        i.delete();
        assert_eq!((i.text(), i.cursor()), ("", 0));
    }

    #[test]
    fn backspace_removes_previous_grapheme() {
        let mut i = at("abc", 2);
        i.backspace();
        assert_eq!((i.text(), i.cursor()), ("ac", 1));
    }

    #[test]
    fn backspace_removes_whole_graphemes() {
        for g in ["e\u{301}", "👩‍👩‍👧", "🇫🇷", "日", "👍🏽", "\n"] {
            let mut i = input(&format!("a{g}"));
            i.backspace();
            assert_eq!((i.text(), i.cursor()), ("a", 1), "{g:?}");
        }
    }

    #[test]
    fn delete_removes_whole_next_grapheme() {
        for g in ["e\u{301}", "👩‍👩‍👧", "🇫🇷", "日", "\n"] {
            let mut i = at(&format!("a{g}b"), 1);
            i.delete();
            assert_eq!((i.text(), i.cursor()), ("ab", 1), "{g:?}");
        }
    }

    #[test]
    fn deletion_that_fuses_graphemes_keeps_cursor_on_boundary() {
        let mut i = at("🇺x🇸", 5);
        i.backspace();
        assert_eq!(i.text(), "🇺🇸");
        assert!(is_boundary(i.text(), i.cursor()));
    }

    // ---- moving ----

    #[test]
    fn left_right_step_over_graphemes() {
        let text = "e\u{301}👩‍👩‍👧日\na";
        let mut i = at(text, 0);
        let mut stops = vec![0];
        for _ in 0..10 {
            i.right();
            stops.push(i.cursor());
        }
        assert_eq!(stops, vec![0, 3, 21, 24, 25, 26, 26, 26, 26, 26, 26]);
        let mut back = vec![];
        for _ in 0..7 {
            i.left();
            back.push(i.cursor());
        }
        assert_eq!(back, vec![25, 24, 21, 3, 0, 0, 0]);
    }

    #[test]
    fn left_right_on_empty() {
        let mut i = Input::new();
        i.left();
        i.right();
        assert_eq!(i.cursor(), 0);
    }

    #[test]
    fn word_right_goes_to_word_ends() {
        let mut i = at("foo bar,  baz_qux 12", 0);
        let mut ends = vec![];
        for _ in 0..5 {
            i.word_right();
            ends.push(i.cursor());
        }
        assert_eq!(ends, vec![3, 7, 17, 20, 20]);
    }

    #[test]
    fn word_left_goes_to_word_starts() {
        let mut i = input("foo bar,  baz_qux 12");
        let mut starts = vec![];
        for _ in 0..5 {
            i.word_left();
            starts.push(i.cursor());
        }
        assert_eq!(starts, vec![18, 10, 4, 0, 0]);
    }

    #[test]
    fn word_motions_cross_lines_and_unicode() {
        let mut i = input("héllo\n  wörld");
        i.word_left();
        assert_eq!(i.cursor(), "héllo\n  ".len());
        i.word_left();
        assert_eq!(i.cursor(), 0);
        i.word_right();
        assert_eq!(i.cursor(), "héllo".len());
        i.word_right();
        assert_eq!(i.cursor(), i.text().len());
    }

    #[test]
    fn word_motions_treat_combining_sequences_as_letters() {
        let mut i = input("cafe\u{301} ok");
        i.word_left();
        i.word_left();
        assert_eq!(i.cursor(), 0);
        i.word_right();
        assert_eq!(i.cursor(), "cafe\u{301}".len());
    }

    #[test]
    fn home_and_end_work_on_the_current_line() {
        let mut i = at("one\ntwo\nthree", 5);
        i.home();
        assert_eq!(i.cursor(), 4);
        i.home();
        assert_eq!(i.cursor(), 4);
        i.end();
        assert_eq!(i.cursor(), 7);
        i.end();
        assert_eq!(i.cursor(), 7);
        let mut i = at("one\ntwo\nthree", 0);
        i.end();
        assert_eq!(i.cursor(), 3);
        let mut i = input("one\ntwo\nthree");
        i.home();
        assert_eq!(i.cursor(), 8);
        let mut i = Input::new();
        i.home();
        i.end();
        assert_eq!(i.cursor(), 0);
    }

    // ---- killing ----

    #[test]
    fn delete_word_back_removes_word_and_spaces_before_cursor() {
        let mut i = input("hello big  world  ");
        i.delete_word_back();
        assert_eq!(i.text(), "hello big  ");
        i.delete_word_back();
        assert_eq!(i.text(), "hello ");
        i.delete_word_back();
        assert_eq!(i.text(), "");
        i.delete_word_back();
        assert_eq!(i.text(), "");
    }

    #[test]
    fn delete_word_back_in_the_middle() {
        let mut i = at("one two three", 7);
        i.delete_word_back();
        assert_eq!((i.text(), i.cursor()), ("one  three", 4));
    }

    #[test]
    fn delete_word_back_stays_on_its_line() {
        let mut i = input("first\n  second");
        i.delete_word_back();
        assert_eq!(i.text(), "first\n  ");
        i.delete_word_back();
        assert_eq!(i.text(), "first\n");
        // At a line start it removes only the line break.
        i.delete_word_back();
        assert_eq!(i.text(), "first");
    }

    #[test]
    fn kill_to_line_start() {
        let mut i = at("one\ntwo three", 8);
        i.kill_to_line_start();
        assert_eq!((i.text(), i.cursor()), ("one\nthree", 4));
        i.kill_to_line_start();
        assert_eq!((i.text(), i.cursor()), ("onethree", 3));
        let mut i = at("abc", 0);
        i.kill_to_line_start();
        assert_eq!(i.text(), "abc");
    }

    #[test]
    fn kill_to_line_end() {
        let mut i = at("one two\nthree", 3);
        i.kill_to_line_end();
        assert_eq!((i.text(), i.cursor()), ("one\nthree", 3));
        i.kill_to_line_end();
        assert_eq!((i.text(), i.cursor()), ("onethree", 3));
        let mut i = input("abc");
        i.kill_to_line_end();
        assert_eq!(i.text(), "abc");
    }

    #[test]
    fn yank_inserts_last_killed_text() {
        let mut i = input("hello world");
        i.delete_word_back();
        i.home();
        i.yank();
        assert_eq!((i.text(), i.cursor()), ("worldhello ", 5));
        // A joined line break does not replace what yank gives back.
        let mut i = input("a\nb");
        i.home();
        i.kill_to_line_end();
        i.kill_to_line_start();
        i.yank();
        assert_eq!(i.text(), "ab");
        let mut i = Input::new();
        i.yank();
        assert_eq!(i.text(), "");
    }

    // ---- sending ----

    #[test]
    fn take_trims_and_clears() {
        let mut i = input("\n  \n  indented\nline  \n\n ");
        i.insert_str("\t\n");
        assert_eq!(i.take().as_deref(), Some("  indented\nline"));
        assert_eq!(i.text(), "");
        assert_eq!(i.cursor(), 0);
        assert_eq!(i.history(), ["  indented\nline"]);
    }

    #[test]
    fn take_blank_returns_none_and_keeps_text() {
        assert_eq!(Input::new().take(), None);
        let mut i = input(" \n ");
        assert_eq!(i.take(), None);
        assert_eq!(i.text(), " \n ");
        assert!(i.history().is_empty());
    }

    #[test]
    fn take_dedupes_consecutive_history() {
        let mut i = Input::new();
        for m in ["a", "a ", "b", "a", "a"] {
            i.insert_str(m);
            assert!(i.take().is_some());
        }
        assert_eq!(i.history(), ["a", "b", "a"]);
    }

    #[test]
    fn history_is_capped() {
        let mut i = Input::new();
        for n in 0..HISTORY_CAP + 5 {
            i.insert_str(&n.to_string());
            i.take();
        }
        assert_eq!(i.history().len(), HISTORY_CAP);
        assert_eq!(i.history()[0], "5");
        assert_eq!(i.history()[HISTORY_CAP - 1], (HISTORY_CAP + 4).to_string());
    }

    #[test]
    fn with_history_cleans_dedupes_and_caps() {
        let mut old: Vec<String> = vec!["x\r\ny\t".into(), "  ".into(), "x\ny".into()];
        old.extend((0..HISTORY_CAP).map(|n| n.to_string()));
        let i = Input::with_history(old);
        assert_eq!(i.history().len(), HISTORY_CAP);
        assert_eq!(i.history()[0], "0");
        let i = Input::with_history(vec!["x\r\ny\t".into(), "  ".into(), "x\ny".into()]);
        assert_eq!(i.history(), ["x\ny"]);
        assert!(i.is_empty());
    }

    #[test]
    fn set_text_cleans_and_puts_cursor_at_end() {
        let mut i = at("old", 1);
        i.set_text("from editor\r\n\tindented\n\n".into());
        assert_eq!(i.text(), "from editor\n    indented");
        assert_eq!(i.cursor(), i.text().len());
        i.set_text(String::new());
        assert_eq!((i.text(), i.cursor()), ("", 0));
    }

    #[test]
    fn clear_keeps_history() {
        let mut i = Input::with_history(vec!["a".into()]);
        i.insert_str("draft");
        i.clear();
        assert!(i.is_empty());
        assert_eq!(i.history(), ["a"]);
    }

    // ---- history browsing ----

    fn with_history() -> Input {
        Input::with_history(vec!["first".into(), "second".into(), "third".into()])
    }

    #[test]
    fn up_on_empty_browses_back_and_down_comes_back() {
        let mut i = with_history();
        assert!(i.up(W));
        assert_eq!((i.text(), i.cursor()), ("third", 5));
        assert!(i.up(W));
        assert_eq!(i.text(), "second");
        assert!(i.up(W));
        assert_eq!(i.text(), "first");
        // Oldest entry: Up goes to the start, then has nothing left to do.
        assert!(i.up(W));
        assert_eq!((i.text(), i.cursor()), ("first", 0));
        assert!(!i.up(W));
        assert!(i.down(W));
        assert_eq!(i.text(), "second");
        assert!(i.down(W));
        assert_eq!(i.text(), "third");
        // Past the newest entry: the (empty) draft is back.
        assert!(i.down(W));
        assert_eq!((i.text(), i.cursor()), ("", 0));
        assert!(!i.down(W));
    }

    #[test]
    fn up_without_history_does_nothing() {
        let mut i = Input::new();
        assert!(!i.up(W));
        assert!(!i.down(W));
        assert_eq!(i.text(), "");
    }

    #[test]
    fn up_in_a_half_written_message_does_not_lose_it() {
        let mut i = with_history();
        i.insert_str("half written");
        assert!(i.up(W));
        assert_eq!((i.text(), i.cursor()), ("half written", 0));
        assert!(!i.up(W));
        assert_eq!(i.text(), "half written");
        assert!(i.down(W));
        assert_eq!(i.cursor(), i.text().len());
        assert!(!i.down(W));
        assert_eq!(i.text(), "half written");
    }

    #[test]
    fn editing_a_browsed_entry_stops_browsing() {
        let mut i = with_history();
        i.up(W);
        i.insert_char('!');
        assert_eq!(i.text(), "third!");
        // Up must not replace the edited text with an older entry.
        assert!(i.up(W));
        assert_eq!((i.text(), i.cursor()), ("third!", 0));
        assert!(!i.up(W));
        assert!(i.down(W));
        assert!(!i.down(W));
        assert_eq!(i.text(), "third!");
    }

    #[test]
    fn moving_inside_a_browsed_entry_keeps_browsing() {
        let mut i = with_history();
        i.up(W);
        i.left();
        i.word_left();
        assert!(i.up(W));
        assert_eq!(i.text(), "second");
    }

    #[test]
    fn sending_a_browsed_entry_records_it_again() {
        let mut i = with_history();
        i.up(W);
        i.up(W);
        assert_eq!(i.take().as_deref(), Some("second"));
        assert_eq!(i.history(), ["first", "second", "third", "second"]);
        // Browsing starts over from the newest.
        i.up(W);
        assert_eq!(i.text(), "second");
    }

    #[test]
    fn multi_line_entry_is_walked_before_older_entries() {
        let mut i = Input::with_history(vec!["old".into(), "line one\nline two".into()]);
        assert!(i.up(W));
        assert_eq!(i.text(), "line one\nline two");
        assert_eq!(i.layout(W).cursor, (1, 8));
        assert!(i.up(W));
        assert_eq!(i.layout(W).cursor, (0, 8));
        assert!(i.up(W));
        assert_eq!(i.text(), "old");
        assert!(i.down(W));
        assert_eq!(i.text(), "line one\nline two");
        assert_eq!(i.layout(W).cursor, (1, 8));
        assert!(i.down(W));
        assert_eq!(i.text(), "");
    }

    #[test]
    fn set_text_while_browsing_stops_browsing() {
        let mut i = with_history();
        i.up(W);
        i.set_text("edited".into());
        assert!(i.up(W));
        assert_eq!((i.text(), i.cursor()), ("edited", 0));
    }

    // ---- up/down between rows ----

    #[test]
    fn up_down_keep_the_column() {
        let mut i = at("abcdef\nabcdef", 3);
        assert!(i.down(W));
        assert_eq!(i.cursor(), 10);
        assert!(i.up(W));
        assert_eq!(i.cursor(), 3);
    }

    #[test]
    fn up_down_remember_the_goal_column_across_a_short_row() {
        let mut i = input("abcdefgh\nab\nabcdefgh");
        i.up(W);
        assert_eq!(i.layout(W).cursor, (1, 2));
        i.up(W);
        assert_eq!(i.layout(W).cursor, (0, 8));
        i.down(W);
        i.down(W);
        assert_eq!(i.layout(W).cursor, (2, 8));
        // A horizontal move forgets the goal.
        i.up(W);
        i.left();
        i.up(W);
        assert_eq!(i.layout(W).cursor, (0, 1));
    }

    #[test]
    fn up_down_move_between_soft_wrapped_rows() {
        // Rows at width 6: "hello " / "world " / "again".
        let mut i = input("hello world again");
        assert_eq!(i.layout(6).cursor, (2, 5));
        assert!(i.up(6));
        assert_eq!(i.layout(6).cursor, (1, 5));
        assert_eq!(i.cursor(), 11);
        assert!(i.up(6));
        assert_eq!(i.cursor(), 5);
        assert!(i.up(6));
        assert_eq!(i.cursor(), 0);
        assert!(i.down(6));
        assert_eq!(i.layout(6).cursor, (1, 0));
    }

    #[test]
    fn up_down_never_land_inside_a_wide_character() {
        // Column 3 on "abcd" is in the middle of "日本" (cols 2..4 is 本): land before it.
        let mut i = at("日本語\nabcd", "日本語\nabc".len());
        i.up(W);
        assert_eq!(i.cursor(), "日".len());
        assert_eq!(i.layout(W).cursor, (0, 2));
    }

    #[test]
    fn up_down_at_tiny_widths_do_not_hang() {
        for width in [0, 1, 2] {
            let mut i = input("日本 ab\n\ncd e\u{301}f 👩‍👩‍👧");
            let mut moves = 0;
            while i.up(width) {
                moves += 1;
                assert!(moves < 100);
            }
            assert_eq!(i.cursor(), 0);
            while i.down(width) {
                moves += 1;
                assert!(moves < 200);
            }
            assert_eq!(i.cursor(), i.text().len());
        }
    }

    // ---- layout ----

    #[test]
    fn layout_empty() {
        let l = Input::new().layout(10);
        assert_eq!(l.rows, [""]);
        assert_eq!(l.cursor, (0, 0));
    }

    #[test]
    fn layout_explicit_newlines() {
        let l = input("a\n\nbc\n").layout(10);
        assert_eq!(l.rows, ["a", "", "bc", ""]);
        assert_eq!(l.cursor, (3, 0));
        assert_eq!(at("a\n\nbc\n", 4).layout(10).cursor, (2, 1));
    }

    #[test]
    fn layout_soft_wraps_at_spaces() {
        assert_eq!(rows("the quick brown fox", 10), ["the quick ", "brown fox"]);
        // A full last row gets an empty row after it, for the cursor at its end.
        assert_eq!(rows("aa bb cc dd", 5), ["aa bb", "cc dd", ""]);
    }

    #[test]
    fn layout_hard_wraps_long_words() {
        assert_eq!(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // The word first moves down whole, then breaks.
        assert_eq!(rows("ab cdefgh", 5), ["ab ", "cdefg", "h"]);
    }

    #[test]
    fn layout_keeps_indentation() {
        assert_eq!(rows("    code", 10), ["    code"]);
        assert_eq!(rows("  abc def", 6), ["  abc ", "def"]);
    }

    #[test]
    fn layout_no_break_space_does_not_wrap() {
        assert_eq!(rows("ab 10\u{a0}km", 6), ["ab ", "10\u{a0}km"]);
    }

    #[test]
    fn layout_cursor_at_soft_wrap_boundary_is_at_next_row_start() {
        // "hello " / "world": after the space is the start of "world".
        assert_eq!(at("hello world", 6).layout(6).cursor, (1, 0));
        assert_eq!(at("hello world", 5).layout(6).cursor, (0, 5));
        assert_eq!(at("hello world", 7).layout(6).cursor, (1, 1));
    }

    #[test]
    fn layout_full_row_puts_cursor_on_a_row_of_its_own() {
        let l = input("hello").layout(5);
        assert_eq!(l.rows, ["hello", ""]);
        assert_eq!(l.cursor, (1, 0));
        // Not only for the cursor's line: the layout does not depend on the cursor.
        let l = at("hello\nx", 0).layout(5);
        assert_eq!(l.rows, ["hello", "", "x"]);
        assert_eq!(l.cursor, (0, 0));
        assert_eq!(at("hello\nx", 4).layout(5).cursor, (0, 4));
        assert_eq!(at("hello\nx", 5).layout(5).cursor, (1, 0));
        assert_eq!(at("hello\nx", 6).layout(5).cursor, (2, 0));
    }

    #[test]
    fn layout_spaces_hang_past_the_edge() {
        // The space after "hello" does not start the next row.
        let l = input("hello world").layout(5);
        assert_eq!(l.rows, ["hello", "world", ""]);
        // Before the hanging space the cursor is drawn where typing would put text.
        assert_eq!(at("hello world", 5).layout(5).cursor, (1, 0));
        assert_eq!(at("hello world", 6).layout(5).cursor, (1, 0));
        let l = input("hello   ").layout(5);
        assert_eq!(l.rows, ["hello", ""]);
        assert_eq!(l.cursor, (1, 0));
        assert_eq!(rows("ab      cd", 4), ["ab  ", "cd"]);
    }

    #[test]
    fn layout_typing_past_the_edge_flows_onto_the_next_row() {
        let mut i = Input::new();
        let mut cursors = vec![];
        for c in "abcd ef".chars() {
            i.insert_char(c);
            cursors.push(i.layout(4).cursor);
        }
        assert_eq!(
            cursors,
            [(0, 1), (0, 2), (0, 3), (1, 0), (1, 0), (1, 1), (1, 2)]
        );
        assert_eq!(i.layout(4).rows, ["abcd", "ef"]);
    }

    #[test]
    fn layout_wide_chars_never_straddle_the_edge() {
        let l = input("ab日本").layout(5);
        assert_eq!(l.rows, ["ab日", "本"]);
        assert_eq!(l.cursor, (1, 2));
        assert_eq!(at("ab日本", 5).layout(5).cursor, (1, 0));
        let l = input("👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧").layout(5);
        assert_eq!(l.rows, ["👩‍👩‍👧👩‍👩‍👧", "👩‍👩‍👧"]);
        assert_eq!(l.cursor, (1, 2));
    }

    #[test]
    fn layout_combining_marks_take_no_column() {
        let l = input("e\u{301}e\u{301}").layout(2);
        assert_eq!(l.rows, ["e\u{301}e\u{301}", ""]);
        assert_eq!(at("e\u{301}e\u{301}", 3).layout(2).cursor, (0, 1));
    }

    #[test]
    fn layout_width_one() {
        let l = input("ab 日").layout(1);
        assert_eq!(l.rows, ["a", "b", "日", ""]);
        assert_eq!(l.cursor, (3, 0));
    }

    #[test]
    fn layout_width_zero_is_width_one() {
        for text in ["", "abc", "a b\n日本\n", "  "] {
            assert_eq!(input(text).layout(0), input(text).layout(1), "{text:?}");
        }
    }

    #[test]
    fn layout_of_very_many_rows_saturates_instead_of_wrapping_around() {
        let i = input(&"\n".repeat(70_000));
        let l = i.layout(10);
        assert_eq!(l.rows.len(), 70_001);
        assert_eq!(l.cursor, (u16::MAX, 0));
    }

    // ---- robustness ----

    const TRICKY: &[&str] = &[
        "",
        " ",
        "\n",
        "a",
        "hello world, this is a longer message that wraps",
        "e\u{301}\u{302}x\u{301}",
        "\u{301}leading combining mark",
        "👩‍👩‍👧 🇫🇷🇩🇪 👍🏽 日本語のテキスト",
        "   leading and trailing   \n\n  ",
        "tab\there\r\nand\rcr",
        "\u{200b}\u{200d}zero\u{feff}width",
        "ｶﾞｷﾞ halfwidth",
        "ab\u{3000}\u{3000}cd ideographic spaces",
        "a\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}b",
    ];

    /// What layout promises, at every cursor position.
    fn check_layout(i: &Input, width: u16) {
        let w = usize::from(width.max(1));
        let l = i.layout(width);
        assert!(!l.rows.is_empty());
        assert!(usize::from(l.cursor.0) < l.rows.len(), "{i:?} at {width}");
        assert!(usize::from(l.cursor.1) < w, "{i:?} at {width}: {l:?}");
        for row in &l.rows {
            let row_width: usize = row.graphemes(true).map(grapheme_width).sum();
            assert!(
                row_width <= w || row.graphemes(true).count() == 1,
                "{row:?} wider than {width}"
            );
        }
    }

    #[test]
    fn every_position_in_tricky_texts_lays_out_within_the_width() {
        for text in TRICKY {
            for width in 0..=12 {
                let mut i = at(&clean(text), 0);
                loop {
                    check_layout(&i, width);
                    let before = i.cursor();
                    i.right();
                    if i.cursor() == before {
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn layout_rows_cover_the_text() {
        // Joined back (with the hanging spaces the rows leave out), rows are the text.
        for text in TRICKY {
            let text = clean(text);
            for width in 1..=12 {
                let wrapped = wrap(&text, width);
                let mut rebuilt = String::new();
                let mut last = 0;
                for r in &wrapped.rows {
                    assert!(r.start >= last, "{text:?} {width}");
                    rebuilt.push_str(&text[last..r.start]);
                    rebuilt.push_str(&text[r.clone()]);
                    last = r.end;
                }
                rebuilt.push_str(&text[last..]);
                assert_eq!(rebuilt, text);
                // Every grapheme boundary is a cursor stop, in order.
                let bytes: Vec<usize> = wrapped.stops.iter().map(|s| s.byte).collect();
                let mut boundaries: Vec<usize> =
                    text.grapheme_indices(true).map(|(i, _)| i).collect();
                boundaries.push(text.len());
                assert_eq!(bytes, boundaries, "{text:?} {width}");
            }
        }
    }

    #[test]
    fn random_edits_never_panic_and_keep_the_cursor_on_a_boundary() {
        // A fixed pseudo-random walk over every operation, so failures reproduce.
        let mut seed: u64 = 0x5eed;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let pieces = [
            "a",
            " ",
            "\n",
            "é",
            "e\u{301}",
            "\u{301}",
            "🇺",
            "🇸",
            "日",
            "👩‍👩‍👧",
            "\t",
            "\r",
        ];
        let mut i = Input::with_history(vec!["one".into(), "two\nlines".into()]);
        for _ in 0..5_000 {
            let width = next(14) as u16;
            match next(22) {
                0..=5 => i.insert_str(pieces[next(pieces.len() as u64) as usize]),
                6 => i.newline(),
                7 => i.backspace(),
                8 => i.delete(),
                9 => i.left(),
                10 => i.right(),
                11 => i.word_left(),
                12 => i.word_right(),
                13 => i.home(),
                14 => i.end(),
                15 => i.delete_word_back(),
                16 => i.kill_to_line_start(),
                17 => i.kill_to_line_end(),
                18 => {
                    i.up(width);
                }
                19 => {
                    i.down(width);
                }
                20 => i.yank(),
                _ => {
                    if next(4) == 0 {
                        i.take();
                    }
                }
            }
            assert!(i.cursor() <= i.text().len());
            assert!(is_boundary(i.text(), i.cursor()), "{i:?}");
            assert!(!i.text().contains(|c: char| c.is_control() && c != '\n'));
            check_layout(&i, width);
        }
    }
}
