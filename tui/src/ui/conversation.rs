//! The conversation view: each message rendered to rows once per change and width (a cache
//! keyed by the entry's revision), then only the rows in view are drawn. A long history costs
//! a sum of row counts per frame, not a Markdown pass per message.

use std::cell::RefCell;
use std::collections::HashMap;

use mentor_shared::chat::{MessageState, NoticeKind, Role};
use mentor_shared::i18n::Localizer;
use mentor_shared::ids::MessageId;
use mentor_shared::t;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::markdown;
use super::theme::Theme;
use super::words;
use crate::app::conversation::{Conversation, Entry, Metrics};
use crate::cli::chat::words as chat_words;

/// Rendered rows of each message, by revision and width.
#[derive(Debug, Default)]
pub struct LineCache {
    rows: RefCell<HashMap<MessageId, Cached>>,
}

#[derive(Debug)]
struct Cached {
    rev: u64,
    width: u16,
    lines: Vec<Line<'static>>,
}

/// Draws the conversation in `area`, recording its size in the conversation's metrics.
pub fn draw(
    conversation: &Conversation,
    cache: &LineCache,
    l: &Localizer,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let width = area.width;
    let mut rows = cache.rows.borrow_mut();
    let entries = conversation.entries();
    // Every entry's rows (cached), then a blank row between entries.
    let mut counts = Vec::with_capacity(entries.len());
    for entry in entries {
        let fresh = rows
            .get(&entry.message.id)
            .is_some_and(|c| c.rev == entry.rev && c.width == width);
        if !fresh {
            let lines = entry_lines(entry, l, theme, width);
            rows.insert(
                entry.message.id,
                Cached {
                    rev: entry.rev,
                    width,
                    lines,
                },
            );
        }
        let n = rows.get(&entry.message.id).map_or(0, |c| c.lines.len());
        counts.push(n);
    }
    let shown: Vec<(usize, usize)> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n))
        .collect();
    let total: usize = shown
        .iter()
        .map(|(_, n)| n + 1)
        .sum::<usize>()
        .saturating_sub(1);
    let height = usize::from(area.height);
    conversation.metrics.set(Metrics {
        rows: total,
        height,
    });
    if total == 0 {
        let hint = Paragraph::new(vec![
            Line::styled(t!(l, "tui-empty-conversation"), theme.dim()),
            Line::styled(t!(l, "tui-empty-shortcuts"), theme.dim()),
        ])
        .wrap(ratatui::widgets::Wrap { trim: false });
        hint.render(area, buf);
        return;
    }
    let top = conversation.top_row(total, height);
    let mut visible: Vec<Line<'static>> = Vec::with_capacity(height);
    let mut row = 0usize;
    for (k, (i, n)) in shown.iter().enumerate() {
        let block = n + usize::from(k + 1 < shown.len());
        if row + block <= top {
            row += block;
            continue;
        }
        if let Some(c) = rows.get(&entries[*i].message.id) {
            for line in &c.lines {
                if row >= top && visible.len() < height {
                    visible.push(line.clone());
                }
                row += 1;
            }
        }
        if k + 1 < shown.len() {
            if row >= top && visible.len() < height {
                visible.push(Line::default());
            }
            row += 1;
        }
        if visible.len() >= height {
            break;
        }
    }
    // A short conversation sits at the bottom, next to the input, as chat clients do.
    let pad = height.saturating_sub(visible.len());
    let area = Rect {
        y: area.y + pad as u16,
        height: area.height - pad as u16,
        ..area
    };
    Paragraph::new(visible).render(area, buf);
    // Forget entries that are gone (another notebook, a reload).
    if rows.len() > entries.len() * 2 + 64 {
        let live: std::collections::HashSet<MessageId> =
            entries.iter().map(|e| e.message.id).collect();
        rows.retain(|id, _| live.contains(id));
    }
}

/// One message's rows.
fn entry_lines(entry: &Entry, l: &Localizer, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let m = &entry.message;
    let indent = || vec![Span::raw("  ")];
    let mut out = Vec::new();
    match m.role {
        Role::SystemNote => {}
        Role::User => {
            let text = m.text.trim_end().to_string();
            out = markdown::wrap(
                vec![Span::raw(text)],
                width,
                vec![Span::styled("› ", theme.learner())],
                indent(),
            );
            if entry.queued {
                out.push(Line::from(vec![
                    Span::raw("  "),
                    Span::styled(format!("↳ {}", t!(l, "tui-queued")), theme.dim()),
                ]));
            }
        }
        Role::Tool => {
            if let Some(text) = chat_words::tool_failure(l, m) {
                out = markdown::wrap(
                    vec![Span::styled(text, theme.warn())],
                    width,
                    vec![Span::styled("⚠ ", theme.warn())],
                    indent(),
                );
            }
        }
        Role::Assistant | Role::Notice => {
            let body_width = width.saturating_sub(2).max(1);
            if !m.text.trim().is_empty() {
                for line in markdown::render(&m.text, body_width, theme.color) {
                    let mut spans = indent();
                    spans.extend(line.spans);
                    out.push(Line::from(spans));
                }
            }
            if let Some(notice) = &m.notice {
                let mark = match notice.kind {
                    NoticeKind::Ready => Some(Span::styled("✓ ", theme.good())),
                    NoticeKind::Failed => Some(Span::styled("⚠ ", theme.warn())),
                    NoticeKind::Submitted | NoticeKind::Cancelled => None,
                };
                if let (Some(mark), Some(first)) = (mark, out.first_mut()) {
                    // The mark takes the indent's place.
                    first.spans[0] = mark;
                }
            }
            for call in &m.tool_calls {
                out.push(Line::from(vec![
                    Span::styled("• ", theme.dim()),
                    Span::styled(words::tool_call(l, call), theme.dim()),
                ]));
            }
            match m.state {
                MessageState::Streaming => {
                    let cursor = Span::styled("▍", theme.accent());
                    match out.last_mut() {
                        Some(last) if m.tool_calls.is_empty() => last.spans.push(cursor),
                        _ => out.push(Line::from(vec![Span::raw("  "), cursor])),
                    }
                }
                MessageState::Stopped => {
                    // Stopped by Mentor (a loop) says why; stopped by the learner needs not.
                    let mark = match &m.error {
                        Some(e) => format!("⏹ {} — {}", t!(l, "tui-stopped"), e.localize(l)),
                        None => format!("⏹ {}", t!(l, "tui-stopped")),
                    };
                    out.extend(markdown::wrap(
                        vec![Span::styled(mark, theme.dim())],
                        width,
                        vec![Span::raw("  ")],
                        indent(),
                    ));
                }
                MessageState::Failed => {
                    let reason = m
                        .error
                        .as_ref()
                        .map(|e| e.localize(l))
                        .unwrap_or_else(|| t!(l, "job-line-no-reason"));
                    out.extend(markdown::wrap(
                        vec![Span::styled(
                            t!(l, "tui-reply-failed", reason = reason.as_str()),
                            theme.error(),
                        )],
                        width,
                        vec![Span::styled("✗ ", theme.error())],
                        indent(),
                    ));
                }
                MessageState::Complete => {}
            }
        }
    }
    out
}
