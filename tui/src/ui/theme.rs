//! The few styles the screen uses, in one place. With NO_COLOR every style falls back to
//! modifiers (bold, dim, reversed), so meaning never rests on color alone: a failure still
//! reads as one through its ⚠ and its words.

use ratatui::style::{Color, Modifier, Style};

/// Styles, with or without color.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// Whether colors may be used.
    pub color: bool,
}

impl Theme {
    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color {
            colored
        } else {
            plain
        }
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// Emphasis.
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The learner's own words' marker.
    pub fn learner(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            self.bold(),
        )
    }

    /// Good news: connected, ready.
    pub fn good(&self) -> Style {
        self.pick(Style::new().fg(Color::Green), self.bold())
    }

    /// Something needs attention (amber): a failed job, a lost connection.
    pub fn warn(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Indexed(214))
                .add_modifier(Modifier::BOLD),
            self.bold(),
        )
    }

    /// An error.
    pub fn error(&self) -> Style {
        self.pick(Style::new().fg(Color::Red), self.bold())
    }

    /// The spinner and progress.
    pub fn accent(&self) -> Style {
        self.pick(Style::new().fg(Color::Magenta), Style::new())
    }

    /// A selected row.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// The header bar.
    pub fn header(&self) -> Style {
        self.pick(
            Style::new().bg(Color::Indexed(236)).fg(Color::Indexed(252)),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
}
