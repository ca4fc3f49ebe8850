//! The message composer widget: draws an [`Input`] under a rule, with a prompt gutter.
//!
//! It only renders: every editing rule and the wrapping live in the state's `layout`, so what
//! is drawn and where the terminal cursor goes come from the same place.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use crate::app::input::Input;

/// Columns taken by the gutter ("› " on the first row).
const GUTTER: u16 = 2;

/// The composer: a dim rule, then "› " and the text (or a dim placeholder), scrolled to the cursor.
#[derive(Debug, Clone, Copy)]
pub struct InputView<'a> {
    /// The state drawn.
    pub input: &'a Input,
    /// Shown dim while the input is empty.
    pub placeholder: &'a str,
    /// The most text rows shown (the caller passes 5); longer texts scroll.
    pub max_rows: u16,
    /// False under NO_COLOR: modifiers only, no colors.
    pub color: bool,
    /// A dim note right-aligned on the rule, e.g. "queued: 2".
    pub hint: Option<&'a str>,
}

impl InputView<'_> {
    /// How many rows it wants at this width: the rule plus 1..=max_rows text rows.
    pub fn height(&self, width: u16) -> u16 {
        let rows = self.input.layout(text_width(width)).rows.len();
        u16::try_from(rows)
            .unwrap_or(u16::MAX)
            .min(self.max_rows())
            .saturating_add(1)
    }

    /// Where the terminal cursor goes when rendered in `area` (always inside it).
    pub fn cursor_position(&self, area: Rect) -> Position {
        if area.is_empty() {
            return area.as_position();
        }
        let layout = self.input.layout(text_width(area.width));
        let (top, _) = self.window(
            layout.rows.len(),
            layout.cursor.0,
            area.height.saturating_sub(1),
        );
        let row = usize::from(layout.cursor.0).saturating_sub(top);
        let y = u16::try_from(row)
            .unwrap_or(u16::MAX)
            .saturating_add(area.y.saturating_add(1));
        let x = area
            .x
            .saturating_add(GUTTER)
            .saturating_add(layout.cursor.1);
        Position {
            x: x.min(area.right() - 1),
            y: y.min(area.bottom() - 1),
        }
    }

    /// A `max_rows` of 0 would hide the text being typed: show at least one row.
    fn max_rows(&self) -> u16 {
        self.max_rows.max(1)
    }

    /// The first layout row shown and how many rows are shown, given `text_rows` rows of room.
    fn window(&self, layout_rows: usize, cursor_row: u16, text_rows: u16) -> (usize, usize) {
        let shown = usize::from(text_rows.min(self.max_rows())).min(layout_rows);
        let cursor_row = usize::from(cursor_row).min(layout_rows.saturating_sub(1));
        // Stateless scrolling: the least scroll that keeps the cursor's row in view, so render
        // and cursor_position agree without the widget keeping an offset.
        ((cursor_row + 1).saturating_sub(shown), shown)
    }
}

impl Widget for InputView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let styles = Styles::new(self.color);
        for x in area.left()..area.right() {
            buf[(x, area.y)].set_symbol("─").set_style(styles.rule);
        }
        if let Some(hint) = self.hint {
            render_hint(hint, area, buf, styles.hint);
        }

        let text_rows = area.height - 1;
        if text_rows == 0 {
            return;
        }
        let width = text_width(area.width);
        let text_x = area.x.saturating_add(GUTTER.min(area.width));
        let max_width = usize::from(width);
        if self.input.is_empty() {
            buf.set_stringn(
                area.x,
                area.y + 1,
                "›",
                usize::from(area.width),
                styles.prompt,
            );
            buf.set_stringn(
                text_x,
                area.y + 1,
                self.placeholder,
                max_width,
                styles.placeholder,
            );
            return;
        }

        let layout = self.input.layout(width);
        let (top, shown) = self.window(layout.rows.len(), layout.cursor.0, text_rows);
        let hidden_below = top + shown < layout.rows.len();
        for (i, row) in layout.rows.iter().skip(top).take(shown).enumerate() {
            let y = area.y + 1 + i as u16;
            // The prompt marks where the message starts; arrows say more is scrolled away.
            let (mark, style) = if top + i == 0 {
                ("›", styles.prompt)
            } else if i == 0 {
                ("↑", styles.rule)
            } else if i + 1 == shown && hidden_below {
                ("↓", styles.rule)
            } else {
                ("", styles.rule)
            };
            buf.set_stringn(area.x, y, mark, usize::from(area.width), style);
            buf.set_stringn(text_x, y, row, max_width, Style::new());
        }
    }
}

/// Draws " hint " right-aligned on the rule, one "─" from the edge; left out when it does not fit.
fn render_hint(hint: &str, area: Rect, buf: &mut Buffer, style: Style) {
    // The caller's string is drawn as one line: control characters would skew its width.
    let hint: String = hint.chars().filter(|c| !c.is_control()).collect();
    if hint.is_empty() {
        return;
    }
    let label = format!(" {hint} ");
    let Ok(label_width) = u16::try_from(label.width()) else {
        return;
    };
    // Keep a bit of rule on both sides so the note reads as part of it.
    if label_width.saturating_add(2) > area.width {
        return;
    }
    let x = area.right() - 1 - label_width;
    buf.set_stringn(x, area.y, &label, usize::from(label_width), style);
}

/// Text columns left beside the gutter.
fn text_width(width: u16) -> u16 {
    width.saturating_sub(GUTTER)
}

/// The composer's styles; without color, dimness and emphasis are modifiers only.
#[derive(Debug, Clone, Copy)]
struct Styles {
    rule: Style,
    prompt: Style,
    placeholder: Style,
    hint: Style,
}

impl Styles {
    fn new(color: bool) -> Styles {
        if color {
            let dim = Style::new().fg(Color::DarkGray);
            Styles {
                rule: dim,
                prompt: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                placeholder: dim,
                hint: dim,
            }
        } else {
            let dim = Style::new().add_modifier(Modifier::DIM);
            Styles {
                rule: dim,
                prompt: Style::new().add_modifier(Modifier::BOLD),
                placeholder: dim,
                hint: dim,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;

    fn view(input: &Input) -> InputView<'_> {
        InputView {
            input,
            placeholder: "Ask the teacher…",
            max_rows: 5,
            color: true,
            hint: None,
        }
    }

    fn typed(text: &str) -> Input {
        let mut input = Input::new();
        input.insert_str(text);
        input
    }

    /// Renders `view` at `width` and its own height into a fresh terminal, cursor included.
    fn draw(view: InputView<'_>, width: u16) -> Terminal<TestBackend> {
        let height = view.height(width);
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("infallible");
        terminal
            .draw(|frame| {
                let area = frame.area();
                frame.render_widget(view, area);
                frame.set_cursor_position(view.cursor_position(area));
            })
            .expect("infallible");
        terminal
    }

    /// The screen as text, with the cursor marked under it.
    fn screen(terminal: &Terminal<TestBackend>) -> String {
        let backend = terminal.backend();
        let cursor = backend.cursor_position();
        format!("{backend}cursor: ({}, {})", cursor.x, cursor.y)
    }

    /// The screen's rows as plain text, styles left out.
    fn lines(terminal: &Terminal<TestBackend>) -> Vec<String> {
        let buffer = terminal.backend().buffer();
        buffer
            .content()
            .chunks(usize::from(buffer.area.width))
            .map(|row| row.iter().map(|cell| cell.symbol()).collect())
            .collect()
    }

    #[test]
    fn empty_shows_placeholder() {
        let input = Input::new();
        insta::assert_snapshot!(screen(&draw(view(&input), 30)));
    }

    #[test]
    fn one_line() {
        let input = typed("hello there");
        insta::assert_snapshot!(screen(&draw(view(&input), 30)));
    }

    #[test]
    fn wrapped_long_text_scrolls_to_the_cursor_at_the_end() {
        let input = typed(
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen \
             fifteen sixteen seventeen",
        );
        let v = view(&input);
        assert_eq!(v.height(20), 6);
        insta::assert_snapshot!(screen(&draw(v, 20)));
    }

    #[test]
    fn wrapped_long_text_scrolls_to_the_cursor_at_the_start() {
        let mut input = typed(
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen \
             fifteen sixteen seventeen",
        );
        while input.up(18) {}
        insta::assert_snapshot!(screen(&draw(view(&input), 20)));
    }

    #[test]
    fn scrolled_to_the_middle_shows_both_arrows() {
        let mut input = typed("1\n2\n3\n4\n5\n6\n7\n8\n9");
        // Row 7 of 9 ("7"): the view scrolls just enough to show it.
        input.up(18);
        input.up(18);
        insta::assert_snapshot!(screen(&draw(view(&input), 20)));
    }

    #[test]
    fn with_hint() {
        let input = typed("still typing");
        let v = InputView {
            hint: Some("queued: 2"),
            ..view(&input)
        };
        insta::assert_snapshot!(screen(&draw(v, 30)));
    }

    #[test]
    fn hint_too_wide_is_left_out() {
        let input = Input::new();
        let v = InputView {
            hint: Some("a hint far too long for this"),
            ..view(&input)
        };
        assert_eq!(lines(&draw(v, 12)), ["────────────", "› Ask the te"]);
    }

    #[test]
    fn wide_chars_and_cursor_column() {
        let mut input = typed("日本語 text");
        input.home();
        input.right();
        insta::assert_snapshot!(screen(&draw(view(&input), 12)));
    }

    #[test]
    fn styles_with_color() {
        let input = Input::new();
        let v = InputView {
            hint: Some("1"),
            ..view(&input)
        };
        insta::assert_debug_snapshot!(draw(v, 10).backend().buffer());
    }

    #[test]
    fn no_color_uses_modifiers_only() {
        let input = typed("hi");
        let v = InputView {
            hint: Some("1"),
            color: false,
            ..view(&input)
        };
        let terminal = draw(v, 10);
        let buffer = terminal.backend().buffer();
        for cell in buffer.content() {
            assert_eq!(cell.fg, Color::Reset, "{cell:?}");
            assert_eq!(cell.bg, Color::Reset, "{cell:?}");
        }
        assert!(buffer[(0, 0)].modifier.contains(Modifier::DIM));
        assert!(buffer[(0, 1)].modifier.contains(Modifier::BOLD));
        let empty = Input::new();
        let terminal = draw(
            InputView {
                color: false,
                ..view(&empty)
            },
            10,
        );
        assert!(terminal.backend().buffer()[(2, 1)]
            .modifier
            .contains(Modifier::DIM));
    }

    #[test]
    fn height_counts_the_rule_and_caps_the_rows() {
        assert_eq!(view(&Input::new()).height(40), 2);
        assert_eq!(view(&typed("a\nb")).height(40), 3);
        assert_eq!(view(&typed(&"x\n".repeat(20))).height(40), 6);
        let empty = Input::new();
        let zero = InputView {
            max_rows: 0,
            ..view(&empty)
        };
        assert_eq!(zero.height(40), 2);
        let long = typed(&"x\n".repeat(70_000));
        let huge = InputView {
            max_rows: u16::MAX,
            ..view(&long)
        };
        assert_eq!(huge.height(40), u16::MAX);
    }

    #[test]
    fn cursor_position_is_relative_to_the_area() {
        let input = typed("ab");
        let area = Rect::new(5, 10, 20, 3);
        assert_eq!(view(&input).cursor_position(area), Position::new(9, 11));
    }

    #[test]
    fn tiny_areas_do_not_panic_and_keep_the_cursor_inside() {
        let texts = [
            "",
            "hello world",
            "日本語\n\n👩‍👩‍👧 e\u{301}",
            &"long ".repeat(50),
        ];
        for text in texts {
            let mut input = typed(text);
            input.up(1);
            for width in 0..6 {
                for height in 0..4 {
                    let area = Rect::new(1, 1, width, height);
                    let mut buf = Buffer::empty(Rect::new(0, 0, 8, 6));
                    let v = InputView {
                        hint: Some("queued: 1"),
                        ..view(&input)
                    };
                    v.render(area, &mut buf);
                    let _ = v.height(width);
                    let pos = v.cursor_position(area);
                    if !area.is_empty() {
                        assert!(area.contains(pos), "{text:?} {area:?} {pos:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn render_outside_the_buffer_is_clipped() {
        let input = typed("hello");
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 2));
        view(&input).render(Rect::new(5, 1, 40, 10), &mut buf);
        assert_eq!(buf[(5, 1)].symbol(), "─");
    }
}
