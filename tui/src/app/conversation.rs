//! The conversation as the screen knows it: the stored messages, the reply streaming in, which
//! of the learner's messages wait for their turn, and where the view is scrolled.
//!
//! Scrolling follows the end while the view is at the bottom; once the learner scrolls up, the
//! view stays on what they read however much arrives below. The view records how many rows
//! the conversation took at its last draw ([`Metrics`]), which is what paging moves through.

use std::cell::Cell;
use std::collections::HashMap;

use mentor_shared::chat::{ChatMessage, MessageState, Role};
use mentor_shared::ids::{MessageId, NotebookId};
use mentor_shared::time::Timestamp;

/// Rows the mouse wheel scrolls.
pub const WHEEL_ROWS: usize = 3;

/// One message on screen.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The message (its text grows while it streams).
    pub message: ChatMessage,
    /// Sent while the teacher was replying: waits for its turn.
    pub queued: bool,
    /// Changes whenever the entry changes (the view caches its rendering by it).
    pub rev: u64,
}

/// Where the view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// At the bottom, following new text.
    Follow,
    /// This row at the top of the view.
    At(usize),
}

/// The size of the conversation at the last draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Rows of the whole conversation.
    pub rows: usize,
    /// Rows of the view.
    pub height: usize,
}

impl Metrics {
    /// The top row when following the end.
    pub fn bottom(&self) -> usize {
        self.rows.saturating_sub(self.height)
    }
}

/// The conversation.
#[derive(Debug)]
pub struct Conversation {
    entries: Vec<Entry>,
    index: HashMap<MessageId, usize>,
    revs: u64,
    /// Where the view is.
    pub scroll: Scroll,
    /// Set by the view at each draw.
    pub metrics: Cell<Metrics>,
    /// Messages stored before the first one loaded.
    pub earlier: u64,
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation {
            entries: Vec::new(),
            index: HashMap::new(),
            revs: 0,
            scroll: Scroll::Follow,
            metrics: Cell::new(Metrics::default()),
            earlier: 0,
        }
    }
}

impl Conversation {
    /// The messages, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Replaces everything with a stored conversation (on start and after reconnecting).
    pub fn load(&mut self, messages: Vec<ChatMessage>, earlier: u64) {
        self.entries.clear();
        self.index.clear();
        self.earlier = earlier;
        for m in messages {
            self.upsert(m);
        }
    }

    /// A stored message, new or changed.
    pub fn upsert(&mut self, message: ChatMessage) {
        self.revs += 1;
        let rev = self.revs;
        match self.index.get(&message.id) {
            Some(&i) => {
                let entry = &mut self.entries[i];
                entry.message = message;
                entry.rev = rev;
            }
            None => {
                self.index.insert(message.id, self.entries.len());
                self.entries.push(Entry {
                    message,
                    queued: false,
                    rev,
                });
            }
        }
    }

    /// A piece of a reply.
    pub fn token(&mut self, notebook: NotebookId, id: MessageId, text: &str) {
        if !self.index.contains_key(&id) {
            // The reply started: whatever the learner had queued is now being answered.
            for e in &mut self.entries {
                e.queued = false;
            }
            self.upsert(ChatMessage {
                id,
                notebook_id: notebook,
                role: Role::Assistant,
                text: String::new(),
                tool_calls: Vec::new(),
                tool_call_id: None,
                tool_name: None,
                tool_error: false,
                notice: None,
                state: MessageState::Streaming,
                error: None,
                created: Timestamp::now(),
            });
        }
        self.revs += 1;
        if let Some(&i) = self.index.get(&id) {
            let entry = &mut self.entries[i];
            entry.message.text.push_str(text);
            entry.rev = self.revs;
        }
    }

    /// Marks a message of the learner's as waiting for the reply under way to end.
    pub fn mark_queued(&mut self, id: MessageId) {
        self.revs += 1;
        if let Some(&i) = self.index.get(&id) {
            self.entries[i].queued = true;
            self.entries[i].rev = self.revs;
        }
    }

    /// A turn ended: a reply left streaming (its end was missed) is over.
    pub fn turn_ended(&mut self) {
        self.revs += 1;
        for e in &mut self.entries {
            if e.message.state == MessageState::Streaming {
                e.message.state = MessageState::Complete;
                e.rev = self.revs;
            }
        }
    }

    /// Whether a reply is streaming.
    pub fn streaming(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.message.state == MessageState::Streaming)
    }

    /// The teacher's last reply with words in it (what the copy key copies).
    pub fn last_reply(&self) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .filter(|e| e.message.role == Role::Assistant)
            .map(|e| e.message.text.as_str())
            .find(|t| !t.trim().is_empty())
    }

    /// Scrolls up by `rows`.
    pub fn scroll_up(&mut self, rows: usize) {
        let m = self.metrics.get();
        let top = match self.scroll {
            Scroll::Follow => m.bottom(),
            Scroll::At(top) => top.min(m.bottom()),
        };
        self.scroll = Scroll::At(top.saturating_sub(rows));
        self.settle();
    }

    /// Scrolls down by `rows`; reaching the end follows again.
    pub fn scroll_down(&mut self, rows: usize) {
        if let Scroll::At(top) = self.scroll {
            self.scroll = Scroll::At(top + rows);
            self.settle();
        }
    }

    /// Goes to the first row.
    pub fn top(&mut self) {
        self.scroll = Scroll::At(0);
        self.settle();
    }

    /// Goes to the end and follows.
    pub fn bottom(&mut self) {
        self.scroll = Scroll::Follow;
    }

    /// A page: the view's height less two rows of context.
    pub fn page(&self) -> usize {
        self.metrics.get().height.saturating_sub(2).max(1)
    }

    /// The top row to draw for a conversation of `rows` rows in a view of `height`.
    pub fn top_row(&self, rows: usize, height: usize) -> usize {
        let bottom = rows.saturating_sub(height);
        match self.scroll {
            Scroll::Follow => bottom,
            Scroll::At(top) => top.min(bottom),
        }
    }

    fn settle(&mut self) {
        if let Scroll::At(top) = self.scroll {
            let m = self.metrics.get();
            if top >= m.bottom() {
                self.scroll = Scroll::Follow;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: Role, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageId::new(),
            notebook_id: NotebookId::new(),
            role,
            text: text.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
            tool_error: false,
            notice: None,
            state: MessageState::Complete,
            error: None,
            created: Timestamp::now(),
        }
    }

    #[test]
    fn tokens_grow_one_reply_and_a_queued_message_is_answered_next() {
        let mut c = Conversation::default();
        let nb = NotebookId::new();
        let first = MessageId::new();
        c.token(nb, first, "Light ");
        c.token(nb, first, "matters.");
        let queued = message(Role::User, "And water?");
        let queued_id = queued.id;
        c.upsert(queued);
        c.mark_queued(queued_id);
        assert!(c.entries()[1].queued);
        assert_eq!(c.entries()[0].message.text, "Light matters.");
        assert!(c.streaming());
        c.turn_ended();
        assert!(!c.streaming());
        assert!(
            c.entries()[1].queued,
            "still waiting until its reply starts"
        );
        c.token(nb, MessageId::new(), "Water");
        assert!(!c.entries()[1].queued);
        assert_eq!(c.last_reply(), Some("Water"));
    }

    #[test]
    fn revisions_change_with_every_change() {
        let mut c = Conversation::default();
        let m = message(Role::User, "hi");
        let id = m.id;
        c.upsert(m.clone());
        let before = c.entries()[0].rev;
        c.mark_queued(id);
        assert_ne!(c.entries()[0].rev, before);
    }

    #[test]
    fn scrolling_up_stays_put_and_the_end_follows_again() {
        let mut c = Conversation::default();
        c.metrics.set(Metrics {
            rows: 100,
            height: 20,
        });
        assert_eq!(c.top_row(100, 20), 80);
        c.scroll_up(c.page());
        assert_eq!(c.scroll, Scroll::At(62));
        // More text arrives below: the view does not move.
        assert_eq!(c.top_row(130, 20), 62);
        c.metrics.set(Metrics {
            rows: 130,
            height: 20,
        });
        c.scroll_down(18);
        assert_eq!(c.scroll, Scroll::At(80));
        c.scroll_down(100);
        assert_eq!(c.scroll, Scroll::Follow);
        c.top();
        assert_eq!(c.top_row(130, 20), 0);
        c.bottom();
        assert_eq!(c.top_row(130, 20), 110);
    }

    #[test]
    fn a_short_conversation_cannot_scroll_away_from_the_end() {
        let mut c = Conversation::default();
        c.metrics.set(Metrics {
            rows: 5,
            height: 20,
        });
        c.scroll_up(3);
        assert_eq!(c.scroll, Scroll::Follow);
    }
}
