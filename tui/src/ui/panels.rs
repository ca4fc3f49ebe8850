//! What opens beside or over the conversation: the artifacts panel, the reader, the quiz
//! player, the notebook picker and the help (drawn from the keymap itself).

use mentor_shared::i18n::Localizer;
use mentor_shared::jobs::{Artifact, ArtifactStatus};
use mentor_shared::t;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::markdown;
use super::theme::Theme;
use super::words;
use crate::app::keymap::{Context, BINDINGS};
use crate::app::panels::{ArtifactList, Picker, QuizPlayer, QuizStep, Reader};
use crate::cli::artifact::status_name;
use crate::cli::jobs::kind_name;
use crate::cli::output::{age, clip};

fn frame<'a>(title: String, theme: Theme, focused: bool) -> Block<'a> {
    let style = if focused { theme.bold() } else { theme.dim() };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(format!(" {title} "), theme.bold()))
}

/// The artifacts panel.
pub fn artifacts(
    list: &ArtifactList,
    l: &Localizer,
    theme: Theme,
    focused: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let block = frame(t!(l, "tui-artifacts-title"), theme, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if list.items.is_empty() {
        let text = markdown::wrap(
            vec![Span::styled(t!(l, "tui-artifacts-empty"), theme.dim())],
            inner.width,
            vec![],
            vec![],
        );
        Paragraph::new(text).render(inner, buf);
        return;
    }
    let width = usize::from(inner.width);
    let mut lines = Vec::new();
    for (i, a) in list.items.iter().enumerate() {
        let selected = focused && i == list.selected;
        let mark = if i == list.selected { "▸ " } else { "  " };
        // The title, and its age on the right; the kind and status below.
        let age = age(a.created);
        let age_width = age.width();
        let room = width.saturating_sub(2 + age_width + 1);
        let (title, age) = if room >= 4 {
            (clip(&a.title, room), age)
        } else {
            (
                clip(&a.title, width.saturating_sub(2).max(1)),
                String::new(),
            )
        };
        let gap = width.saturating_sub(2 + title.width() + age.width());
        let head = Line::from(vec![
            Span::raw(mark),
            Span::styled(title, theme.bold()),
            Span::raw(" ".repeat(gap)),
            Span::styled(age, theme.dim()),
        ]);
        let detail = Line::from(vec![
            Span::raw("  "),
            Span::styled(status_mark(a), status_style(a, theme)),
            Span::styled(
                clip(
                    &format!("{} · {}", kind_name(l, a.kind), status_name(l, a.status)),
                    width.saturating_sub(4).max(1),
                ),
                theme.dim(),
            ),
        ]);
        if selected {
            lines.push(head.style(theme.selected()));
        } else {
            lines.push(head);
        }
        lines.push(detail);
    }
    // Keep the selection in view.
    let per = 2;
    let height = usize::from(inner.height);
    let skip = (list.selected * per + per).saturating_sub(height);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    Paragraph::new(lines).render(inner, buf);
}

fn status_mark(a: &Artifact) -> &'static str {
    match a.status {
        ArtifactStatus::Generating => "… ",
        ArtifactStatus::Ready => "✓ ",
        ArtifactStatus::Failed => "⚠ ",
        ArtifactStatus::Cancelled => "⊘ ",
    }
}

fn status_style(a: &Artifact, theme: Theme) -> ratatui::style::Style {
    match a.status {
        ArtifactStatus::Ready => theme.good(),
        ArtifactStatus::Failed => theme.warn(),
        _ => theme.dim(),
    }
}

/// An artifact being read: its title, then its Markdown.
pub fn reader(r: &Reader, l: &Localizer, theme: Theme, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let block = frame(r.title.clone(), theme, true).title_bottom(Span::styled(
        format!(" {} ", t!(l, "tui-reader-hint")),
        theme.dim(),
    ));
    let inner = block.inner(area);
    block.render(area, buf);
    let lines = markdown::render(&r.markdown, inner.width, theme.color);
    let top = r
        .top
        .min(lines.len().saturating_sub(usize::from(inner.height)));
    let lines: Vec<Line> = lines.into_iter().skip(top).collect();
    Paragraph::new(lines).render(inner, buf);
}

/// The quiz player: one question, its options a–d, then the feedback, then the score.
pub fn quiz(q: &QuizPlayer, l: &Localizer, theme: Theme, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let block = frame(q.quiz.title.clone(), theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    let width = inner.width;
    let total = q.quiz.questions.len();
    let mut lines: Vec<Line<'static>> = Vec::new();
    match (q.step(), q.quiz.questions.get(q.at)) {
        (QuizStep::Done { score, total }, _) => {
            lines.push(Line::styled(
                t!(l, "tui-quiz-score", score = score, total = total),
                theme.bold(),
            ));
            lines.push(Line::default());
            let saved = match &q.saved {
                None => t!(l, "tui-quiz-saving"),
                Some(Ok(())) => t!(l, "tui-quiz-saved"),
                Some(Err(reason)) => t!(l, "tui-quiz-not-saved", reason = reason.as_str()),
            };
            lines.push(Line::styled(saved, theme.dim()));
            lines.push(Line::styled(t!(l, "tui-quiz-close"), theme.dim()));
        }
        (step, Some(question)) => {
            lines.push(Line::styled(
                t!(l, "tui-quiz-question", n = q.at + 1, total = total),
                theme.dim(),
            ));
            lines.extend(markdown::wrap(
                vec![Span::styled(question.question.clone(), theme.bold())],
                width,
                vec![],
                vec![],
            ));
            lines.push(Line::default());
            for (i, option) in question.options.iter().enumerate() {
                let letter = words::letter(i);
                let mut style = ratatui::style::Style::new();
                let mut mark = "  ";
                if let QuizStep::Feedback { chosen, .. } = step {
                    if i == question.answer {
                        style = theme.good();
                        mark = "✓ ";
                    } else if i == chosen {
                        style = theme.error();
                        mark = "✗ ";
                    }
                } else if i == q.cursor {
                    style = theme.selected();
                    mark = "▸ ";
                }
                let wrapped = markdown::wrap(
                    vec![Span::styled(format!("{letter}) {option}"), style)],
                    width,
                    vec![Span::raw(mark)],
                    vec![Span::raw("     ")],
                );
                lines.extend(wrapped);
            }
            lines.push(Line::default());
            if let QuizStep::Feedback { chosen: _, right } = step {
                let verdict = if right {
                    Line::styled(format!("✓ {}", t!(l, "tui-quiz-right")), theme.good())
                } else {
                    let answer = words::letter(question.answer).to_string();
                    Line::styled(
                        format!("✗ {}", t!(l, "tui-quiz-wrong", answer = answer.as_str())),
                        theme.error(),
                    )
                };
                lines.push(verdict);
                lines.extend(markdown::wrap(
                    vec![Span::raw(question.explanation.clone())],
                    width,
                    vec![],
                    vec![],
                ));
                lines.push(Line::default());
                lines.push(Line::styled(t!(l, "tui-quiz-next"), theme.dim()));
            } else {
                lines.push(Line::styled(t!(l, "tui-quiz-choose"), theme.dim()));
            }
        }
        (_, None) => {}
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The notebook picker.
pub fn picker(p: &Picker, l: &Localizer, theme: Theme, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let block = frame(t!(l, "tui-picker-title"), theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = Vec::new();
    if let Some(name) = &p.naming {
        lines.push(Line::styled(t!(l, "tui-picker-new"), theme.bold()));
        lines.push(Line::from(vec![
            Span::styled("› ", theme.learner()),
            Span::raw(name.clone()),
            Span::styled("▍", theme.accent()),
        ]));
    } else if p.notebooks.is_empty() {
        lines.push(Line::styled(t!(l, "tui-picker-empty"), theme.dim()));
    } else {
        let width = usize::from(inner.width);
        for (i, nb) in p.notebooks.iter().enumerate() {
            let current = if Some(nb.id) == p.current {
                "● "
            } else {
                "  "
            };
            let text = clip(
                &format!(
                    "{current}{}  ·  {}",
                    nb.title,
                    t!(l, "tui-picker-sources", count = nb.sources)
                ),
                width.max(1),
            );
            let line = Line::raw(text);
            lines.push(if i == p.selected {
                line.style(theme.selected())
            } else {
                line
            });
        }
        lines.push(Line::default());
        lines.push(Line::styled(t!(l, "tui-picker-hint"), theme.dim()));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The help: every binding of the keymap, grouped by where it applies.
/// The key help, drawn from the keymap: in two columns when there is room, scrolled by
/// `scroll` rows when even that does not fit. Returns how far it can scroll (0 when it all
/// fits) and how many rows it shows.
pub fn help(l: &Localizer, theme: Theme, scroll: u16, area: Rect, buf: &mut Buffer) -> (u16, u16) {
    Clear.render(area, buf);
    let groups = [
        (Context::Global, "tui-help-global"),
        (Context::Chat, "tui-help-chat"),
        (Context::Artifacts, "tui-help-artifacts"),
        (Context::Reader, "tui-help-reader"),
        (Context::Quiz, "tui-help-quiz"),
        (Context::Picker, "tui-help-picker"),
    ];
    // (keys, what they do); a heading has no keys.
    let mut rows: Vec<(Option<String>, String)> = Vec::new();
    for (context, heading) in groups {
        rows.push((None, l.text(heading, None)));
        for b in BINDINGS.iter().filter(|b| b.context == context) {
            let keys = b
                .keys
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(" / ");
            rows.push((Some(keys), l.text(b.help, None)));
        }
        // What a message can start with (the daemon's shortcuts) belongs with writing one.
        if context == Context::Chat {
            rows.push((None, l.text("tui-help-shortcuts", None)));
            let topic = l.text("tui-shortcut-topic", None);
            for (word, what) in [
                ("/quiz", "tui-shortcut-quiz"),
                ("/podcast", "tui-shortcut-podcast"),
                ("/guide", "tui-shortcut-guide"),
            ] {
                rows.push((Some(format!("{word} {topic}")), l.text(what, None)));
            }
        }
    }
    let inner_h = usize::from(area.height.saturating_sub(2));
    let inner_w = usize::from(area.width.saturating_sub(2));
    // Keys longer than this stand on their own row, their description under them.
    const KEY_W: usize = 16;
    // Two columns when each leaves a description some room (longer ones wrap).
    let columns = if inner_w / 2 >= 1 + 4 + KEY_W + 28 {
        2
    } else {
        1
    };
    // Split in even columns, never leaving a heading alone at the bottom of one.
    let mut per = rows.len().div_ceil(columns);
    if columns > 1 && rows.get(per - 1).is_some_and(|r| r.0.is_none()) {
        per -= 1;
    }
    let column_w = (area.width.saturating_sub(2)) / columns as u16;
    let width = column_w.saturating_sub(1).max(1);
    // Each column's lines, a description too long for its row wrapping under itself.
    let laid: Vec<Vec<Line<'static>>> = rows
        .chunks(per.max(1))
        .map(|chunk| {
            let key_w = chunk
                .iter()
                .filter_map(|r| r.0.as_ref().map(|k| k.width()))
                .filter(|w| *w <= KEY_W)
                .max()
                .unwrap_or(0);
            let indent = || vec![Span::raw(" ".repeat(2 + key_w + 2))];
            let mut lines = Vec::new();
            for (keys, what) in chunk {
                let Some(keys) = keys else {
                    lines.push(Line::styled(clip(what, usize::from(width)), theme.bold()));
                    continue;
                };
                let what = vec![Span::raw(what.clone())];
                if keys.width() > key_w {
                    let keys = clip(keys, usize::from(width).saturating_sub(2).max(1));
                    lines.push(Line::styled(format!("  {keys}"), theme.accent()));
                    lines.extend(markdown::wrap(what, width, indent(), indent()));
                } else {
                    let pad = key_w - keys.width();
                    let first = vec![Span::styled(
                        format!("  {keys}{}  ", " ".repeat(pad)),
                        theme.accent(),
                    )];
                    lines.extend(markdown::wrap(what, width, first, indent()));
                }
            }
            lines
        })
        .collect();
    let tall = laid.iter().map(Vec::len).max().unwrap_or(0);
    let max_scroll = tall.saturating_sub(inner_h);
    let scroll = usize::from(scroll).min(max_scroll);
    let hint = if max_scroll > 0 {
        t!(l, "tui-help-scroll")
    } else {
        t!(l, "tui-help-close")
    };
    let block = frame(t!(l, "tui-help-title"), theme, true)
        .title_bottom(Span::styled(format!(" {hint} "), theme.dim()));
    let inner = block.inner(area);
    block.render(area, buf);
    for (i, lines) in laid.into_iter().enumerate() {
        let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
        Paragraph::new(lines).render(
            Rect {
                x: inner.x + column_w * i as u16,
                width: column_w,
                ..inner
            },
            buf,
        );
    }
    (max_scroll as u16, inner.height)
}
