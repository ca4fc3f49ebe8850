//! Where a live conversation is written. Two layouts:
//!
//! - `Reply` (`mentor chat --message`): stdout carries the teacher's reply and nothing else,
//!   so `mentor chat -m … > answer.md` keeps just the answer; tool calls, notices and job
//!   lines go to stderr.
//! - `Plain` (`mentor chat --plain`): the whole conversation on stdout, one speaker per line,
//!   for screen readers and pipes. No animation and no cursor movement: text is only ever
//!   appended. Lines that come while a reply streams (a job's status) wait for its end, so a
//!   reply is never cut in two.
//!
//! Every write goes through `out!`, which flushes: each token reaches the reader at once.

use std::collections::HashMap;
use std::io::IsTerminal;

use mentor_shared::chat::{ChatMessage, MessageState, Role};
use mentor_shared::i18n::Localizer;
use mentor_shared::ids::MessageId;
use mentor_shared::t;

use super::words;

/// How the conversation is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The reply on stdout, the rest on stderr.
    Reply,
    /// Everything on stdout, one line per speaker.
    Plain,
}

/// The live conversation's writer.
pub struct Printer {
    layout: Layout,
    /// stdout is a terminal (a partial line there may be ended before writing on stderr).
    stdout_tty: bool,
    /// Speaker labels in bold (plain layout on a terminal, NO_COLOR unset).
    bold: bool,
    /// stdout has a line without its newline yet.
    open: bool,
    /// The prompt is the open line.
    prompt_shown: bool,
    /// The reply being written on stdout.
    reply: Option<MessageId>,
    /// Bytes of each reply already written.
    written: HashMap<MessageId, usize>,
    /// Replies written so far (the reply layout puts a blank line between two).
    replies: usize,
    /// Lines waiting for the streaming reply to end (plain layout).
    held: Vec<String>,
}

impl Printer {
    /// A writer for this layout.
    pub fn new(layout: Layout) -> Printer {
        let stdout_tty = std::io::stdout().is_terminal();
        let bold = layout == Layout::Plain
            && stdout_tty
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            layout,
            stdout_tty,
            bold,
            open: false,
            prompt_shown: false,
            reply: None,
            written: HashMap::new(),
            replies: 0,
            held: Vec::new(),
        }
    }

    /// True while a reply is being written.
    pub fn streaming(&self) -> bool {
        self.reply.is_some()
    }

    /// True while the prompt waits for the learner.
    pub fn prompt_shown(&self) -> bool {
        self.prompt_shown
    }

    fn label(&self, l: &Localizer, who: &str) -> String {
        let text = words::said_by(l, who);
        if self.bold {
            format!("\x1b[1m{}\x1b[0m ", text.trim_end())
        } else {
            text
        }
    }

    /// Ends stdout's open line, if any.
    pub fn end_line(&mut self) {
        if self.open {
            out!("\n");
            self.open = false;
        }
        self.prompt_shown = false;
    }

    /// More text of a reply.
    pub fn token(&mut self, l: &Localizer, id: MessageId, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.reply != Some(id) {
            self.begin_reply(l, id);
        }
        out!("{text}");
        *self.written.entry(id).or_default() += text.len();
        self.open = !text.ends_with('\n');
    }

    fn begin_reply(&mut self, l: &Localizer, id: MessageId) {
        self.finish_reply();
        self.end_line();
        match self.layout {
            Layout::Reply => {
                if self.replies > 0 {
                    outln!();
                }
            }
            Layout::Plain => {
                let lead = self.label(l, &t!(l, "chat-role-assistant"));
                out!("{lead}");
                self.open = true;
            }
        }
        self.replies += 1;
        self.reply = Some(id);
    }

    /// The final record of a reply: writes what had not arrived as tokens, ends its line and
    /// marks a stopped reply (a failed one is told by the end of the turn).
    pub fn reply_done(&mut self, l: &Localizer, message: &ChatMessage) {
        if message.role != Role::Assistant {
            return;
        }
        let done = self.written.get(&message.id).copied().unwrap_or(0);
        if let Some(rest) = message.text.get(done..) {
            let rest = if done == 0 { rest.trim_start() } else { rest };
            self.token(l, message.id, rest);
        }
        if self.reply == Some(message.id) {
            self.end_line();
            self.reply = None;
            if self.layout == Layout::Plain && message.state == MessageState::Stopped {
                outln!("{}", t!(l, "chat-mark-stopped"));
            }
        }
        self.release_held();
    }

    fn finish_reply(&mut self) {
        if self.reply.take().is_some() {
            self.end_line();
        }
    }

    /// Forgets the reply being written (the connection was lost: its end will not come).
    pub fn reset(&mut self) {
        self.finish_reply();
        self.release_held();
    }

    fn release_held(&mut self) {
        if self.reply.is_some() {
            return;
        }
        for line in std::mem::take(&mut self.held) {
            self.end_line();
            outln!("{line}");
        }
    }

    /// A line beside the reply: a tool call, a job's status.
    pub fn aside(&mut self, line: &str) {
        match self.layout {
            Layout::Reply => {
                if self.open && self.stdout_tty {
                    // Same screen: do not write in the middle of the reply's line.
                    out!("\n");
                    self.open = false;
                }
                eprintln!("{line}");
            }
            Layout::Plain => {
                if self.reply.is_some() {
                    self.held.push(line.to_string());
                } else {
                    self.end_line();
                    outln!("{line}");
                }
            }
        }
    }

    /// Something someone said in one piece: a notice from the teacher, a message the learner
    /// sent from another client.
    pub fn said(&mut self, l: &Localizer, role: Role, text: &str) {
        let Some(who) = words::speaker(l, role) else {
            return;
        };
        match self.layout {
            // On stderr, beside the reply: the words alone.
            Layout::Reply => self.aside(text.trim()),
            Layout::Plain => {
                // A notice is the teacher talking, said as such.
                let who = if role == Role::Notice {
                    t!(l, "chat-role-assistant")
                } else {
                    who
                };
                let line = format!("{}{}", self.label(l, &who), text.trim());
                self.aside(&line);
            }
        }
    }

    /// The learner's own message, said back when it came from a pipe (a terminal has shown
    /// it already), so that a transcript reads as a conversation.
    pub fn echo(&mut self, l: &Localizer, text: &str) {
        let line = format!("{}{}", self.label(l, &t!(l, "chat-role-user")), text.trim());
        self.feedback(&line);
    }

    /// An error, on stderr, off the reply's line.
    pub fn error(&mut self, text: &str) {
        if self.stdout_tty {
            self.end_line();
        }
        eprintln!("mentor: {text}");
    }

    /// The plain chat's prompt, when the learner types on a terminal.
    pub fn prompt(&mut self) {
        self.end_line();
        out!("> ");
        self.open = true;
        self.prompt_shown = true;
    }

    /// The learner pressed Enter on a terminal: its echo has ended the open line (the
    /// prompt's, or the reply's when they typed while it streamed).
    pub fn input_entered(&mut self) {
        self.open = false;
        self.prompt_shown = false;
    }

    /// An answer to something the learner just did (a command, a message queued): said at
    /// once, even in the middle of a reply, which then goes on on the next line.
    pub fn feedback(&mut self, line: &str) {
        match self.layout {
            Layout::Reply => self.aside(line),
            Layout::Plain => {
                self.end_line();
                outln!("{line}");
            }
        }
    }
}
