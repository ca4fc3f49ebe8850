//! The job status lines at the very bottom: one per job, at most three and "+N more", each
//! spinner · heading · progress bar and percentage (only when the job reports progress) ·
//! stage · elapsed time; ✓ when ready, an amber ⚠ with the dismiss key when failed, dim when
//! cancelled. Below them, a passing message, or the key hints when nothing else shows.

use std::time::Instant;

use mentor_shared::i18n::Localizer;
use mentor_shared::jobs::JobStatus;
use mentor_shared::t;
use ratatui::text::{Line, Span};

use super::theme::Theme;
use super::words;
use crate::app::jobs::JobLine;
use crate::app::App;

/// Cells of the progress bar.
const BAR: usize = 12;

/// The rows of the status area.
pub fn lines(
    app: &App,
    l: &Localizer,
    theme: Theme,
    now: Instant,
    width: u16,
) -> Vec<Line<'static>> {
    let shown = app.jobs.shown(now);
    let mut out = Vec::new();
    if shown.more > 0 {
        out.push(Line::styled(
            t!(l, "tui-job-more", count = shown.more),
            theme.dim(),
        ));
    }
    for line in &shown.lines {
        out.push(fit(job_line(line, l, theme, now, true), width, || {
            job_line(line, l, theme, now, false)
        }));
    }
    if let Some((text, _)) = &app.flash {
        out.push(Line::styled(text.clone(), theme.bold()));
    } else if out.is_empty() {
        out.push(Line::styled(words::footer(l), theme.dim()));
    }
    out
}

/// The line, or its shorter form when it does not fit the width.
fn fit(full: Line<'static>, width: u16, short: impl FnOnce() -> Line<'static>) -> Line<'static> {
    if full.width() <= usize::from(width) {
        full
    } else {
        short()
    }
}

/// One job's line (`with_stage`: also the stage, which a narrow terminal leaves out).
pub fn job_line(
    line: &JobLine,
    l: &Localizer,
    theme: Theme,
    now: Instant,
    with_stage: bool,
) -> Line<'static> {
    let heading = words::job_heading(l, line);
    let dot = || Span::styled(" · ", theme.dim());
    match line.job.status {
        JobStatus::Completed => Line::from(vec![
            Span::styled("✓ ", theme.good()),
            Span::styled(heading, theme.good()),
        ]),
        JobStatus::Cancelled => Line::styled(format!("⊘ {heading}"), theme.dim()),
        JobStatus::Error => Line::from(vec![
            Span::styled(format!("⚠ {heading}"), theme.warn()),
            dot(),
            Span::styled(words::dismiss_hint(l), theme.dim()),
        ]),
        JobStatus::Pending | JobStatus::Processing => {
            let mut spans = vec![
                Span::styled(
                    format!("{} ", words::spinner(line.since, now)),
                    theme.accent(),
                ),
                Span::styled(heading, theme.bold()),
            ];
            if let Some(p) = line.job.progress.as_ref().filter(|p| p.total > 0) {
                let filled = usize::from(p.percentage.min(100)) * BAR / 100;
                spans.push(Span::raw(" "));
                spans.push(Span::styled("█".repeat(filled), theme.accent()));
                spans.push(Span::styled("░".repeat(BAR - filled), theme.dim()));
                spans.push(Span::raw(format!(" {:>3}%", p.percentage)));
            }
            if let Some(stage) = words::job_stage(l, line).filter(|_| with_stage) {
                spans.push(dot());
                spans.push(Span::raw(stage));
            }
            spans.push(dot());
            spans.push(Span::styled(words::elapsed(line.elapsed(now)), theme.dim()));
            Line::from(spans)
        }
    }
}
