//! The terminal client's widgets. They only draw: everything they show is in [`App`], and the
//! time is passed in (the spinner's frame and the elapsed times are functions of it).
//!
//! Layout, top to bottom: the header, the conversation (with the artifacts panel to its right
//! when open), the input, and the job status lines pinned to the very bottom.

pub mod conversation;
pub mod header;
pub mod input;
pub mod markdown;
pub mod panels;
pub mod status;
pub mod theme;
pub mod words;

#[cfg(test)]
mod tests;

use std::time::Instant;

use mentor_shared::i18n::Localizer;
use mentor_shared::t;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::{Paragraph, Widget};
use ratatui::Frame;

use self::conversation::LineCache;
use self::input::InputView;
use self::theme::Theme;
use crate::app::{App, Focus, Overlay};

/// Rows the input may grow to before it scrolls.
const INPUT_ROWS: u16 = 5;
/// Narrowest the artifacts panel gets.
const PANEL_MIN: u16 = 28;

/// What the view keeps between frames (caches only; never state the app reads).
#[derive(Debug, Default)]
pub struct ViewCache {
    /// The conversation's rendered rows.
    pub conversation: LineCache,
}

/// Draws the whole screen into a frame and places the cursor.
pub fn draw(frame: &mut Frame, app: &App, cache: &ViewCache, l: &Localizer, now: Instant) {
    let area = frame.area();
    let cursor = render(app, cache, l, now, area, frame.buffer_mut());
    if let Some(p) = cursor {
        frame.set_cursor_position(p);
    }
}

/// Draws the whole screen into a buffer; returns where the cursor goes (none when an
/// overlay has the keyboard).
pub fn render(
    app: &App,
    cache: &ViewCache,
    l: &Localizer,
    now: Instant,
    area: Rect,
    buf: &mut Buffer,
) -> Option<Position> {
    let theme = Theme { color: app.color };
    if area.height < 4 || area.width < 10 {
        Paragraph::new(t!(l, "tui-too-small")).render(area, buf);
        return None;
    }
    let status = status::lines(app, l, theme, now, area.width);
    let placeholder = t!(l, "tui-placeholder");
    let queued = app
        .conversation
        .entries()
        .iter()
        .filter(|e| e.queued)
        .count();
    let hint = (queued > 0).then(|| t!(l, "tui-queued-hint", count = queued));
    let view = InputView {
        input: &app.input,
        placeholder: &placeholder,
        max_rows: INPUT_ROWS,
        color: app.color,
        hint: hint.as_deref(),
    };
    // The status lines and the input keep their rows; the conversation gets what is left
    // (at least one row).
    let status_h = (status.len() as u16).min(area.height.saturating_sub(3));
    let input_h = view
        .height(area.width)
        .min(area.height.saturating_sub(2 + status_h));
    let header = Rect { height: 1, ..area };
    let body_h = area.height - 1 - input_h - status_h;
    let body = Rect {
        y: area.y + 1,
        height: body_h,
        ..area
    };
    let input_area = Rect {
        y: body.y + body_h,
        height: input_h,
        ..area
    };
    let status_area = Rect {
        y: input_area.y + input_h,
        height: status_h,
        ..area
    };
    Paragraph::new(header::line(app, l, theme, area.width)).render(header, buf);

    let (chat_area, panel_area) = if app.panel {
        let panel_w = (area.width / 3).max(PANEL_MIN).min(area.width / 2);
        (
            Rect {
                width: area.width - panel_w,
                ..body
            },
            Some(Rect {
                x: body.x + area.width - panel_w,
                width: panel_w,
                ..body
            }),
        )
    } else {
        (body, None)
    };
    conversation::draw(
        &app.conversation,
        &cache.conversation,
        l,
        theme,
        chat_area,
        buf,
    );
    if let Some(panel) = panel_area {
        panels::artifacts(
            &app.artifacts,
            l,
            theme,
            app.focus == Focus::Artifacts && app.overlay.is_none(),
            panel,
            buf,
        );
    }
    let cursor = view.cursor_position(input_area);
    view.render(input_area, buf);
    app.input_width.set(area.width.saturating_sub(2));
    Paragraph::new(status).render(status_area, buf);

    match &app.overlay {
        Some(Overlay::Help { scroll }) => {
            // The help takes the whole screen below the header.
            let below = Rect {
                y: area.y + 1,
                height: area.height.saturating_sub(1),
                ..area
            };
            let (max, page) = panels::help(l, theme, *scroll, below, buf);
            app.help_max_scroll.set(max);
            app.help_page.set(page);
        }
        Some(Overlay::Reader(r)) => panels::reader(r, l, theme, body, buf),
        Some(Overlay::Quiz(q)) => panels::quiz(q, l, theme, body, buf),
        Some(Overlay::Picker(p)) => panels::picker(p, l, theme, centered(body, 60, 16), buf),
        None => {}
    }
    (app.overlay.is_none() && app.focus == Focus::Input).then_some(cursor)
}

/// A box of at most `w`×`h` in the middle of `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
