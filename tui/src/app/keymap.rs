//! Every key the terminal client answers to, in one table. The handlers look actions up here
//! and the help overlay is drawn from the same table, so the help can never list a key that
//! does nothing or miss one that does something.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where the keyboard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Anywhere (unless an overlay takes the key first).
    Global,
    /// Writing a message.
    Chat,
    /// The artifacts panel has the focus.
    Artifacts,
    /// Reading an artifact (transcript, study guide).
    Reader,
    /// Taking a quiz.
    Quiz,
    /// Choosing a notebook.
    Picker,
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Quit Mentor.
    Quit,
    /// Show or hide the help.
    Help,
    /// Show or hide the artifacts panel.
    ToggleArtifacts,
    /// Open the notebook picker.
    Notebooks,
    /// Copy the teacher's last reply to the clipboard (OSC 52).
    CopyReply,
    /// Dismiss the newest failed job's line.
    DismissFailed,
    /// Move the focus between the message and the artifacts panel.
    FocusNext,
    /// Send the message.
    Send,
    /// Start a new line in the message.
    Newline,
    /// Edit the message in `$VISUAL` / `$EDITOR`.
    Editor,
    /// Stop the reply being written.
    StopReply,
    /// Scroll the conversation up a page.
    PageUp,
    /// Scroll the conversation down a page.
    PageDown,
    /// Scroll to the start of the conversation.
    Top,
    /// Scroll to the end (and follow new text again).
    Bottom,
    /// Previous item.
    Up,
    /// Next item.
    Down,
    /// Open the selected item.
    Open,
    /// Play a podcast.
    Play,
    /// Export an artifact's file.
    Export,
    /// Retry a failed job.
    Retry,
    /// Cancel a running job.
    CancelJob,
    /// Close what is open / go back.
    Back,
    /// Create a notebook.
    NewNotebook,
    /// Answer a quiz question with option a–d.
    Choose,
}

/// A key and its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(pub KeyCode, pub KeyModifiers);

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const ALT: KeyModifiers = KeyModifiers::ALT;

/// One line of the keymap.
#[derive(Debug)]
pub struct Binding {
    /// Where it applies.
    pub context: Context,
    /// The keys (the first is the one shown in hints).
    pub keys: &'static [Key],
    /// What they do.
    pub action: Action,
    /// The Fluent id of the help text.
    pub help: &'static str,
}

/// The keymap. Earlier lines win when two could match.
pub const BINDINGS: &[Binding] = &[
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::Char('c'), CTRL)],
        action: Action::Quit,
        help: "tui-key-quit",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::F(1), NONE), Key(KeyCode::Char('?'), NONE)],
        action: Action::Help,
        help: "tui-key-help",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::F(2), NONE), Key(KeyCode::Char('t'), CTRL)],
        action: Action::ToggleArtifacts,
        help: "tui-key-artifacts",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::Char('n'), CTRL)],
        action: Action::Notebooks,
        help: "tui-key-notebooks",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::Char('y'), CTRL)],
        action: Action::CopyReply,
        help: "tui-key-copy",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::Char('d'), CTRL)],
        action: Action::DismissFailed,
        help: "tui-key-dismiss",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::Tab, NONE)],
        action: Action::FocusNext,
        help: "tui-key-focus",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::PageUp, NONE)],
        action: Action::PageUp,
        help: "tui-key-page-up",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::PageDown, NONE)],
        action: Action::PageDown,
        help: "tui-key-page-down",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::Home, CTRL), Key(KeyCode::Home, NONE)],
        action: Action::Top,
        help: "tui-key-top",
    },
    Binding {
        context: Context::Global,
        keys: &[Key(KeyCode::End, CTRL), Key(KeyCode::End, NONE)],
        action: Action::Bottom,
        help: "tui-key-bottom",
    },
    Binding {
        context: Context::Chat,
        keys: &[Key(KeyCode::Enter, NONE)],
        action: Action::Send,
        help: "tui-key-send",
    },
    Binding {
        context: Context::Chat,
        keys: &[
            Key(KeyCode::Enter, SHIFT),
            Key(KeyCode::Enter, ALT),
            Key(KeyCode::Char('j'), CTRL),
        ],
        action: Action::Newline,
        help: "tui-key-newline",
    },
    Binding {
        context: Context::Chat,
        keys: &[Key(KeyCode::Char('g'), CTRL), Key(KeyCode::Char('e'), CTRL)],
        action: Action::Editor,
        help: "tui-key-editor",
    },
    Binding {
        context: Context::Chat,
        keys: &[Key(KeyCode::Esc, NONE)],
        action: Action::StopReply,
        help: "tui-key-stop",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Up, NONE), Key(KeyCode::Char('k'), NONE)],
        action: Action::Up,
        help: "tui-key-up",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Down, NONE), Key(KeyCode::Char('j'), NONE)],
        action: Action::Down,
        help: "tui-key-down",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Enter, NONE)],
        action: Action::Open,
        help: "tui-key-open",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Char('p'), NONE)],
        action: Action::Play,
        help: "tui-key-play",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Char('e'), NONE)],
        action: Action::Export,
        help: "tui-key-export",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Char('r'), NONE)],
        action: Action::Retry,
        help: "tui-key-retry",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Char('x'), NONE)],
        action: Action::CancelJob,
        help: "tui-key-cancel-job",
    },
    Binding {
        context: Context::Artifacts,
        keys: &[Key(KeyCode::Esc, NONE)],
        action: Action::Back,
        help: "tui-key-back",
    },
    Binding {
        context: Context::Reader,
        keys: &[Key(KeyCode::Up, NONE), Key(KeyCode::Char('k'), NONE)],
        action: Action::Up,
        help: "tui-key-scroll-up",
    },
    Binding {
        context: Context::Reader,
        keys: &[Key(KeyCode::Down, NONE), Key(KeyCode::Char('j'), NONE)],
        action: Action::Down,
        help: "tui-key-scroll-down",
    },
    Binding {
        context: Context::Reader,
        keys: &[Key(KeyCode::Char('p'), NONE)],
        action: Action::Play,
        help: "tui-key-play",
    },
    Binding {
        context: Context::Reader,
        keys: &[Key(KeyCode::Char('e'), NONE)],
        action: Action::Export,
        help: "tui-key-export",
    },
    Binding {
        context: Context::Reader,
        keys: &[Key(KeyCode::Esc, NONE), Key(KeyCode::Char('q'), NONE)],
        action: Action::Back,
        help: "tui-key-back",
    },
    Binding {
        context: Context::Quiz,
        keys: &[
            Key(KeyCode::Char('a'), NONE),
            Key(KeyCode::Char('b'), NONE),
            Key(KeyCode::Char('c'), NONE),
            Key(KeyCode::Char('d'), NONE),
        ],
        action: Action::Choose,
        help: "tui-key-choose",
    },
    Binding {
        context: Context::Quiz,
        keys: &[Key(KeyCode::Up, NONE)],
        action: Action::Up,
        help: "tui-key-up",
    },
    Binding {
        context: Context::Quiz,
        keys: &[Key(KeyCode::Down, NONE)],
        action: Action::Down,
        help: "tui-key-down",
    },
    Binding {
        context: Context::Quiz,
        keys: &[Key(KeyCode::Enter, NONE)],
        action: Action::Open,
        help: "tui-key-answer",
    },
    Binding {
        context: Context::Quiz,
        keys: &[Key(KeyCode::Esc, NONE), Key(KeyCode::Char('q'), NONE)],
        action: Action::Back,
        help: "tui-key-back",
    },
    Binding {
        context: Context::Picker,
        keys: &[Key(KeyCode::Up, NONE)],
        action: Action::Up,
        help: "tui-key-up",
    },
    Binding {
        context: Context::Picker,
        keys: &[Key(KeyCode::Down, NONE)],
        action: Action::Down,
        help: "tui-key-down",
    },
    Binding {
        context: Context::Picker,
        keys: &[Key(KeyCode::Enter, NONE)],
        action: Action::Open,
        help: "tui-key-switch",
    },
    Binding {
        context: Context::Picker,
        keys: &[Key(KeyCode::Char('n'), CTRL)],
        action: Action::NewNotebook,
        help: "tui-key-new-notebook",
    },
    Binding {
        context: Context::Picker,
        keys: &[Key(KeyCode::Esc, NONE)],
        action: Action::Back,
        help: "tui-key-back",
    },
];

impl Key {
    /// The key as a key event would carry it (crossterm reports Shift on upper-case letters
    /// and on some symbols; those match their binding without it). A plain letter matches in
    /// either case (the quiz shows its options as A–D; Caps Lock stays harmless).
    fn matches(&self, event: &KeyEvent) -> bool {
        let mods = event.modifiers & (CTRL | SHIFT | ALT);
        match (self.0, event.code) {
            (KeyCode::Char(want), KeyCode::Char(got)) if self.1 == NONE => {
                (want == got || (want.is_ascii_alphabetic() && want.eq_ignore_ascii_case(&got)))
                    && (mods == NONE || mods == SHIFT)
            }
            (want, got) => want == got && mods == self.1,
        }
    }

    /// How the key is written in the help: `Ctrl+G`, `F1`, `PageUp`.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.1.contains(CTRL) {
            out.push_str("Ctrl+");
        }
        if self.1.contains(ALT) {
            out.push_str("Alt+");
        }
        if self.1.contains(SHIFT) {
            out.push_str("Shift+");
        }
        match self.0 {
            KeyCode::Char(c) if self.1.contains(CTRL) => out.push(c.to_ascii_uppercase()),
            KeyCode::Char(c) => out.push(c),
            KeyCode::F(n) => out.push_str(&format!("F{n}")),
            KeyCode::Enter => out.push_str("Enter"),
            KeyCode::Esc => out.push_str("Esc"),
            KeyCode::Tab => out.push_str("Tab"),
            KeyCode::PageUp => out.push_str("PageUp"),
            KeyCode::PageDown => out.push_str("PageDown"),
            KeyCode::Home => out.push_str("Home"),
            KeyCode::End => out.push_str("End"),
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            other => out.push_str(&format!("{other:?}")),
        }
        out
    }
}

/// The action of a key in a context (its own bindings first, then the global ones).
pub fn action(context: Context, event: &KeyEvent) -> Option<Action> {
    let find = |ctx: Context| {
        BINDINGS
            .iter()
            .filter(|b| b.context == ctx)
            .find(|b| b.keys.iter().any(|k| k.matches(event)))
            .map(|b| b.action)
    };
    find(context).or_else(|| {
        if context == Context::Global {
            None
        } else {
            find(Context::Global)
        }
    })
}

/// The keys of an action in a context, as the help writes them (`Ctrl+D`).
pub fn keys_of(context: Context, action: Action) -> String {
    BINDINGS
        .iter()
        .find(|b| (b.context == context || b.context == Context::Global) && b.action == action)
        .map(|b| {
            b.keys
                .iter()
                .map(Key::label)
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn context_bindings_come_before_global_ones() {
        let esc = key(KeyCode::Esc, NONE);
        assert_eq!(action(Context::Chat, &esc), Some(Action::StopReply));
        assert_eq!(action(Context::Artifacts, &esc), Some(Action::Back));
        let ctrl_c = key(KeyCode::Char('c'), CTRL);
        assert_eq!(action(Context::Quiz, &ctrl_c), Some(Action::Quit));
        assert_eq!(
            action(Context::Quiz, &key(KeyCode::Char('c'), NONE)),
            Some(Action::Choose)
        );
    }

    #[test]
    fn plain_letters_match_in_either_case_but_not_with_ctrl() {
        let upper_b = key(KeyCode::Char('B'), SHIFT);
        assert_eq!(action(Context::Quiz, &upper_b), Some(Action::Choose));
        let caps_r = key(KeyCode::Char('R'), NONE);
        assert_eq!(action(Context::Artifacts, &caps_r), Some(Action::Retry));
        let ctrl_b = key(KeyCode::Char('b'), CTRL);
        assert_eq!(action(Context::Quiz, &ctrl_b), None);
        assert_eq!(action(Context::Quiz, &key(KeyCode::Char('e'), NONE)), None);
    }

    #[test]
    fn newline_has_three_keys_and_enter_alone_sends() {
        for (code, mods) in [
            (KeyCode::Enter, SHIFT),
            (KeyCode::Enter, ALT),
            (KeyCode::Char('j'), CTRL),
        ] {
            assert_eq!(
                action(Context::Chat, &key(code, mods)),
                Some(Action::Newline)
            );
        }
        assert_eq!(
            action(Context::Chat, &key(KeyCode::Enter, NONE)),
            Some(Action::Send)
        );
        // A plain letter is text, not an action.
        assert_eq!(action(Context::Chat, &key(KeyCode::Char('y'), NONE)), None);
    }

    #[test]
    fn every_help_text_exists_in_both_languages() {
        use mentor_shared::i18n::{localizer, Lang};
        for b in BINDINGS {
            for lang in [Lang::EnUs, Lang::FrFr] {
                assert!(localizer(lang).has(b.help), "{} in {lang:?}", b.help);
            }
        }
    }

    #[test]
    fn labels_read_as_people_write_keys() {
        assert_eq!(keys_of(Context::Chat, Action::Editor), "Ctrl+G / Ctrl+E");
        assert_eq!(keys_of(Context::Chat, Action::Help), "F1 / ?");
        assert_eq!(
            keys_of(Context::Chat, Action::Newline),
            "Shift+Enter / Alt+Enter / Ctrl+J"
        );
    }
}
