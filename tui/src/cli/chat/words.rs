//! The conversation in words: who speaks, tool calls in short, and a stored conversation as
//! text. Pure functions of messages, shared by the live chat and `mentor chat history`.

use mentor_shared::chat::{ChatHistory, ChatMessage, MessageState, Role, ToolCall};
use mentor_shared::i18n::Localizer;
use mentor_shared::t;
use mentor_shared::time::format_duration;
use mentor_shared::time::Timestamp;

use crate::cli::output::clip;

/// Widest a tool argument's value is shown.
const ARG_WIDTH: usize = 40;
/// Widest a tool call or a tool's complaint is shown.
const LINE_WIDTH: usize = 120;

/// Who said a message, in the reader's language (`None`: never shown).
pub fn speaker(l: &Localizer, role: Role) -> Option<String> {
    Some(match role {
        Role::User => t!(l, "chat-role-user"),
        Role::Assistant => t!(l, "chat-role-assistant"),
        Role::Notice => t!(l, "chat-role-notice"),
        Role::Tool => t!(l, "chat-role-tool"),
        Role::SystemNote => return None,
    })
}

/// `Teacher: ` — the lead of a line someone says (French puts a space before the colon).
pub fn said_by(l: &Localizer, who: &str) -> String {
    format!("{} ", t!(l, "chat-speaker", who = who))
}

/// A tool call in short: `→ generate_artifact(artifact_type: "quiz", topic: "cells")`.
pub fn tool_call(call: &ToolCall) -> String {
    let args = match serde_json::from_str::<serde_json::Value>(&call.arguments) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", clip(&v.to_string(), ARG_WIDTH)))
            .collect::<Vec<_>>()
            .join(", "),
        Ok(serde_json::Value::Null) => String::new(),
        Ok(other) => clip(&other.to_string(), ARG_WIDTH),
        // The model wrote invalid JSON: show what it wrote.
        Err(_) => clip(&call.arguments, ARG_WIDTH),
    };
    clip(&format!("→ {}({args})", call.name), LINE_WIDTH)
}

/// The line for a tool that refused or failed (`None` when it worked: the teacher's words
/// and the notices already say what it did).
pub fn tool_failure(l: &Localizer, message: &ChatMessage) -> Option<String> {
    if message.role != Role::Tool || !message.tool_error {
        return None;
    }
    let reason = serde_json::from_str::<serde_json::Value>(&message.text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| message.text.clone());
    let tool = message.tool_name.clone().unwrap_or_default();
    Some(clip(
        &format!(
            "✗ {}",
            t!(l, "chat-tool-failed", tool = tool, reason = reason)
        ),
        LINE_WIDTH,
    ))
}

/// The mark after a reply that did not end normally.
pub fn state_mark(l: &Localizer, message: &ChatMessage) -> Option<String> {
    match message.state {
        MessageState::Complete => None,
        MessageState::Streaming => Some(t!(l, "chat-mark-streaming")),
        MessageState::Stopped => Some(match &message.error {
            Some(e) => format!("{} {}", t!(l, "chat-mark-stopped"), e.localize(l)),
            None => t!(l, "chat-mark-stopped"),
        }),
        MessageState::Failed => {
            let reason = message
                .error
                .as_ref()
                .map(|e| e.localize(l))
                .unwrap_or_else(|| t!(l, "job-line-no-reason"));
            Some(t!(l, "chat-mark-failed", reason = reason))
        }
    }
}

/// A stored conversation as text: each message under its speaker and age, tool calls in
/// short, tool failures and unfinished replies marked.
pub fn history(l: &Localizer, h: &ChatHistory, now: Timestamp) -> String {
    let mut blocks: Vec<Vec<String>> = Vec::new();
    if h.earlier > 0 {
        blocks.push(vec![t!(l, "chat-history-earlier", count = h.earlier)]);
    }
    for m in &h.messages {
        if m.role == Role::Tool {
            // A tool's result belongs to the teacher's message that called it.
            if let (Some(line), Some(last)) = (tool_failure(l, m), blocks.last_mut()) {
                last.push(line);
            }
            continue;
        }
        let Some(who) = speaker(l, m.role) else {
            continue;
        };
        let age = t!(l, "age-ago", age = format_duration(m.created.age(now)));
        let mut block = vec![format!("{who} · {age}")];
        if !m.text.trim().is_empty() {
            block.extend(m.text.trim_end().lines().map(str::to_string));
        }
        block.extend(m.tool_calls.iter().map(tool_call));
        block.extend(state_mark(l, m));
        blocks.push(block);
    }
    if h.busy {
        blocks.push(vec![t!(l, "chat-history-busy")]);
    }
    blocks
        .iter()
        .map(|b| b.join("\n"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::ids::{MessageId, NotebookId};
    use mentor_shared::ApiError;

    const T0: i64 = 1_800_000_000_000;

    fn msg(role: Role, text: &str) -> ChatMessage {
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
            created: Timestamp(T0),
        }
    }

    fn call(arguments: &str) -> ToolCall {
        ToolCall {
            id: "c1".into(),
            name: "generate_artifact".into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn tool_calls_are_short() {
        assert_eq!(
            tool_call(&call(r#"{"topic": "cells", "artifact_type": "quiz"}"#)),
            r#"→ generate_artifact(artifact_type: "quiz", topic: "cells")"#
        );
        assert_eq!(tool_call(&call("")), "→ generate_artifact()");
        assert_eq!(tool_call(&call("{oops")), "→ generate_artifact({oops)");
        let long = format!(r#"{{"topic": "{}"}}"#, "x".repeat(200));
        assert!(tool_call(&call(&long)).chars().count() < 80);
    }

    #[test]
    fn only_failed_tools_are_told() {
        let l = localizer(Lang::EnUs);
        let mut result = msg(Role::Tool, r#"{"error": "unknown artifact type"}"#);
        result.tool_name = Some("generate_artifact".into());
        assert_eq!(tool_failure(l, &result), None);
        result.tool_error = true;
        assert_eq!(
            tool_failure(l, &result).as_deref(),
            Some("✗ generate_artifact failed: unknown artifact type")
        );
    }

    #[test]
    fn history_reads_like_a_conversation() {
        let l = localizer(Lang::EnUs);
        let mut reply = msg(Role::Assistant, "Sure.");
        reply.tool_calls = vec![call(r#"{"artifact_type": "quiz"}"#)];
        let mut stopped = msg(Role::Assistant, "Osmosis is");
        stopped.state = MessageState::Stopped;
        let mut failed = msg(Role::Assistant, "");
        failed.state = MessageState::Failed;
        failed.error = Some(ApiError::ShuttingDown);
        let h = ChatHistory {
            notebook_id: NotebookId::new(),
            messages: vec![
                msg(Role::User, "Make me a quiz"),
                reply,
                msg(Role::Tool, "{}"),
                msg(Role::Notice, "I'm generating that for you."),
                stopped,
                failed,
            ],
            busy: false,
            earlier: 2,
        };
        let text = history(l, &h, Timestamp(T0 + 65_000));
        let expected = "\
(2 earlier messages are not shown: leave out --limit to see the whole conversation.)

You · 1m 05s ago
Make me a quiz

Teacher · 1m 05s ago
Sure.
→ generate_artifact(artifact_type: \"quiz\")

Teacher (notice) · 1m 05s ago
I'm generating that for you.

Teacher · 1m 05s ago
Osmosis is
[stopped]

Teacher · 1m 05s ago
[failed: The daemon is shutting down. Try again in a moment.]";
        assert_eq!(text, expected);
    }

    #[test]
    fn french_labels() {
        let l = localizer(Lang::FrFr);
        assert_eq!(said_by(l, &t!(l, "chat-role-assistant")), "Professeur : ");
        let mut m = msg(Role::Assistant, "");
        m.state = MessageState::Stopped;
        assert_eq!(state_mark(l, &m).as_deref(), Some("[interrompue]"));
    }
}
