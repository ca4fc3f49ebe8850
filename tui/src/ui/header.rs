//! The header: the notebook's title on the left; the model, the connection and the objectives
//! met on the right. When the width runs out, the right side gives way from its least useful
//! part (the model's name) first.

use mentor_shared::i18n::Localizer;
use mentor_shared::t;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::theme::Theme;
use crate::app::{App, Connection};
use crate::cli::output::clip;

/// The model: its name, marked when it is the local one (with its loading progress).
fn model_label(app: &App, l: &Localizer) -> String {
    let Some(info) = &app.llm else {
        return app.model.clone();
    };
    if info.provider != "local" {
        return info.model.clone();
    }
    let model = info.model.as_str();
    match info.local.as_ref() {
        // The name is only known once loaded: until then it is the file's, not the model's.
        Some(m) if m.state == "loading" => {
            t!(l, "tui-model-loading", percent = m.percent.unwrap_or(0))
        }
        Some(m) if m.state == "failed" => t!(l, "tui-model-failed", model = model),
        _ => t!(l, "tui-model-local", model = model),
    }
}

/// The header row for `width` columns.
pub fn line(app: &App, l: &Localizer, theme: Theme, width: u16) -> Line<'static> {
    let width = usize::from(width);
    let title = app
        .notebook
        .as_ref()
        .map(|n| n.title.clone())
        .unwrap_or_else(|| t!(l, "tui-no-notebook"));
    let (state, state_style) = match (&app.connection, app.no_model) {
        (Connection::Connecting, _) => (format!("◌ {}", t!(l, "tui-connecting")), theme.dim()),
        (Connection::Reconnecting { .. }, _) => {
            (format!("◌ {}", t!(l, "tui-reconnecting")), theme.warn())
        }
        (Connection::Connected, true) => (
            format!("✗ {}", t!(l, "tui-no-model", url = app.model_url.as_str())),
            theme.warn(),
        ),
        (Connection::Connected, false) => (format!("● {}", t!(l, "tui-connected")), theme.good()),
    };
    let objectives = app
        .notebook
        .as_ref()
        .filter(|n| n.objectives_total > 0)
        .map(|n| {
            t!(
                l,
                "tui-objectives",
                met = n.objectives_met,
                total = n.objectives_total
            )
        });
    let mut right: Vec<(String, ratatui::style::Style)> = Vec::new();
    right.push((model_label(app, l), theme.header()));
    right.push((state, state_style));
    if let Some(o) = objectives {
        right.push((o, theme.header()));
    }
    let sep = "  ";
    let left_min = 12.min(width);
    loop {
        let used: usize = right.iter().map(|(t, _)| t.width() + sep.len()).sum();
        if used + left_min + 2 <= width || right.len() <= 1 {
            break;
        }
        right.remove(0);
    }
    let right_width: usize = right.iter().map(|(t, _)| t.width() + sep.len()).sum();
    let room = width.saturating_sub(right_width + 2);
    let left = format!(" {}", clip(&format!("Mentor · {title}"), room.max(1)));
    let pad = width.saturating_sub(left.width() + right_width);
    let mut spans = vec![
        Span::styled(left, theme.header().patch(theme.bold())),
        Span::styled(" ".repeat(pad), theme.header()),
    ];
    for (text, style) in right {
        spans.push(Span::styled(text, theme.header().patch(style)));
        spans.push(Span::styled(sep, theme.header()));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::protocol::{LlmInfo, LocalModelInfo};

    use super::*;

    fn info(provider: &str, state: &str, percent: Option<u8>) -> LlmInfo {
        LlmInfo {
            configured: "auto".into(),
            provider: provider.into(),
            model: if provider == "local" {
                "SmolLM2"
            } else {
                "qwen2.5"
            }
            .into(),
            location: "x".into(),
            local: Some(LocalModelInfo {
                path: "/m.gguf".into(),
                installed: true,
                state: state.into(),
                percent,
                name: None,
                problem: None,
            }),
        }
    }

    #[test]
    fn the_header_names_the_model_in_use_and_its_loading() {
        let mut app = App::new("llama3.2".into(), "http://127.0.0.1:11434/v1".into(), false);
        let (en, fr) = (localizer(Lang::EnUs), localizer(Lang::FrFr));
        assert_eq!(model_label(&app, en), "llama3.2");
        app.llm = Some(info("openai", "unloaded", None));
        assert_eq!(model_label(&app, en), "qwen2.5");
        app.llm = Some(info("local", "loading", Some(42)));
        assert_eq!(model_label(&app, en), "loading the local model… 42%");
        assert_eq!(model_label(&app, fr), "chargement du modèle local… 42 %");
        app.llm = Some(info("local", "ready", None));
        assert_eq!(model_label(&app, en), "SmolLM2 (local)");
        app.llm = Some(info("local", "failed", None));
        assert_eq!(model_label(&app, en), "✗ SmolLM2 (local) cannot load");
    }
}
