//! The conversation: messages as stored and shown, the learner profile, and what a client
//! sends and receives to chat. Replies stream as events (see [`crate::jobs::EventBody`]).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ids::{ArtifactId, JobId, MessageId, NotebookId};
use crate::jobs::JobKind;
use crate::time::Timestamp;

/// Who a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The learner.
    User,
    /// The teacher (the model).
    Assistant,
    /// The result of a tool call, as the model sees it.
    Tool,
    /// A fixed sentence the daemon says about a job ("Your podcast is ready…").
    Notice,
    /// A note to the model the learner does not see (e.g. why a job failed).
    SystemNote,
}

impl Role {
    /// Stable lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::Notice => "notice",
            Role::SystemNote => "system_note",
        }
    }

    /// Parses [`Role::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Notice,
            Role::SystemNote,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Finished normally.
    Complete,
    /// Still streaming.
    Streaming,
    /// Stopped by the learner; the text is what had arrived.
    Stopped,
    /// The model failed mid-reply; the text is what had arrived.
    Failed,
}

impl MessageState {
    /// Stable lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Complete => "complete",
            MessageState::Streaming => "streaming",
            MessageState::Stopped => "stopped",
            MessageState::Failed => "failed",
        }
    }

    /// Parses [`MessageState::as_str`]'s output.
    pub fn parse(s: &str) -> Option<MessageState> {
        [
            MessageState::Complete,
            MessageState::Streaming,
            MessageState::Stopped,
            MessageState::Failed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id (from the model, or made up when the server sent none).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as the JSON text the model wrote (possibly invalid).
    pub arguments: String,
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A job was submitted ("I'm generating that for you…").
    Submitted,
    /// A job completed ("Your podcast is ready…").
    Ready,
    /// A job failed ("I had trouble generating that…").
    Failed,
    /// A job was cancelled.
    Cancelled,
}

/// The job a notice is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// The job.
    pub job_id: JobId,
    /// What it makes.
    pub job_kind: JobKind,
    /// Its artifact, if any.
    pub artifact_id: Option<ArtifactId>,
    /// The failure reason (failed jobs only).
    pub reason: Option<String>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Id.
    pub id: MessageId,
    /// The notebook whose conversation it belongs to.
    pub notebook_id: NotebookId,
    /// Who said it.
    pub role: Role,
    /// The text (for a tool message: the result the model saw).
    pub text: String,
    /// Tool calls the teacher made in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a tool message: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// For a tool message: whether the tool refused or failed.
    #[serde(default)]
    pub tool_error: bool,
    /// For a notice: what it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// Where it stands.
    pub state: MessageState,
    /// For a failed message: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    /// When it was created.
    pub created: Timestamp,
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TurnOutcome {
    /// The teacher finished.
    Completed,
    /// The learner stopped the reply.
    Stopped,
    /// The model could not be used; the error says why and what to do.
    Failed {
        /// Why.
        error: ApiError,
    },
}

/// The answer to `chat_send`: the stored message; the reply streams as events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSent {
    /// The learner's message as stored.
    pub message: ChatMessage,
    /// True when a reply was already streaming: this message is answered right after it.
    pub queued: bool,
}

/// A page of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatHistory {
    /// The notebook.
    pub notebook_id: NotebookId,
    /// The messages, oldest first (hidden notes to the model are left out).
    pub messages: Vec<ChatMessage>,
    /// True when a reply is streaming now.
    pub busy: bool,
    /// Messages left out before the first one returned.
    pub earlier: u64,
}

/// The learner, as the teacher knows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// What the teacher calls them.
    pub name: Option<String>,
    /// Their level (free text: "beginner", "second-year student", …).
    pub level: Option<String>,
    /// The language the teacher answers in (`en-US`, `fr-FR`); unset: the daemon's language.
    pub language: Option<String>,
}

/// A change to the profile: `None` keeps a field, `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// New name.
    pub name: Option<String>,
    /// New level.
    pub level: Option<String>,
    /// New language.
    pub language: Option<String>,
}

/// The generator a message asks for when it is a shortcut — `/podcast TOPIC`, `/quiz TOPIC`
/// or `/guide TOPIC` (also `/study-guide`) — with its topic (empty: the notebook's sources
/// as they come). Only these words, followed by a space or nothing, are shortcuts; any other
/// line that starts with `/` is an ordinary message. The daemon makes the shortcut's call
/// itself; clients that read `/` commands of their own pass these on.
pub fn shortcut(text: &str) -> Option<(JobKind, String)> {
    let rest = text.trim().strip_prefix('/')?;
    let (word, topic) = match rest.split_once(char::is_whitespace) {
        Some((word, topic)) => (word, topic),
        None => (rest, ""),
    };
    let kind = match word.to_lowercase().as_str() {
        "podcast" => JobKind::Podcast,
        "quiz" => JobKind::Quiz,
        "guide" | "study-guide" | "study_guide" => JobKind::StudyGuide,
        _ => return None,
    };
    Some((kind, topic.split_whitespace().collect::<Vec<_>>().join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shortcut_words_are_shortcuts() {
        let quiz = |t: &str| Some((JobKind::Quiz, t.to_string()));
        assert_eq!(shortcut("/quiz photosynthesis"), quiz("photosynthesis"));
        assert_eq!(
            shortcut("  /QUIZ   the  water cycle \n"),
            quiz("the water cycle")
        );
        assert_eq!(shortcut("/quiz"), quiz(""));
        assert_eq!(
            shortcut("/podcast les volcans"),
            Some((JobKind::Podcast, "les volcans".into()))
        );
        for guide in ["/guide cells", "/study-guide cells", "/study_guide\tcells"] {
            assert_eq!(
                shortcut(guide),
                Some((JobKind::StudyGuide, "cells".into())),
                "{guide}"
            );
        }
        for text in [
            "quiz me on cells",
            "/quizzes",
            "/usr/bin is where programs live?",
            "/test x",
            "//quiz cells",
            "/",
            "Make a /quiz",
        ] {
            assert_eq!(shortcut(text), None, "{text}");
        }
    }
}
