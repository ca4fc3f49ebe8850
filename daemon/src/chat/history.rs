//! What the model is sent of a conversation: the newest messages that fit the history budget
//! (the system prompt is apart and never trimmed), shaped so that every OpenAI-compatible
//! server's chat template accepts them.

use mentor_shared::chat::{ChatMessage, MessageState, NoticeKind, Role};

use super::prompt::estimate_tokens;
use crate::llm::WireMessage;

/// Estimated tokens of one stored message (text, tool calls, a little framing).
pub fn cost(m: &ChatMessage) -> u32 {
    let calls: u32 = m
        .tool_calls
        .iter()
        .map(|c| estimate_tokens(&c.name) + estimate_tokens(&c.arguments) + 4)
        .sum();
    estimate_tokens(&m.text) + calls + 4
}

/// Turns stored messages (oldest first) into the model's messages:
/// - replies that are streaming now, and failed ones with no text, are left out;
/// - the "I'm generating that" notice is left out (the tool result already tells the model),
///   other notices become the teacher's own words;
/// - notes to the model are passed as the learner's turn, clearly marked (many chat templates
///   refuse a system message anywhere but first);
/// - tool results whose call was trimmed away are dropped, and a call whose results are
///   missing gets an error result, so calls and results always pair up;
/// - consecutive plain messages of the same role are merged (some templates insist that
///   roles alternate).
pub fn to_wire(messages: &[ChatMessage]) -> Vec<WireMessage> {
    let mut out: Vec<WireMessage> = Vec::new();
    let mut open_calls: Vec<String> = Vec::new();
    for m in messages {
        // Close calls that got no result (a turn stopped between call and result).
        if m.role != Role::Tool && !open_calls.is_empty() {
            for id in open_calls.drain(..) {
                out.push(WireMessage::Tool {
                    tool_call_id: id,
                    content: r#"{"error":"no result: the turn was stopped"}"#.into(),
                });
            }
        }
        match m.role {
            Role::User => push_text(&mut out, true, &m.text),
            Role::Assistant => {
                if m.state == MessageState::Streaming {
                    continue;
                }
                if m.tool_calls.is_empty() {
                    if !m.text.trim().is_empty() {
                        push_text(&mut out, false, &m.text);
                    }
                } else {
                    open_calls = m.tool_calls.iter().map(|c| c.id.clone()).collect();
                    out.push(WireMessage::Assistant {
                        content: m.text.clone(),
                        tool_calls: m.tool_calls.clone(),
                    });
                }
            }
            Role::Tool => {
                let Some(id) = &m.tool_call_id else { continue };
                let Some(at) = open_calls.iter().position(|c| c == id) else {
                    continue;
                };
                open_calls.remove(at);
                out.push(WireMessage::Tool {
                    tool_call_id: id.clone(),
                    content: m.text.clone(),
                });
            }
            Role::Notice => {
                if m.notice.as_ref().map(|n| n.kind) != Some(NoticeKind::Submitted) {
                    push_text(&mut out, false, &m.text);
                }
            }
            Role::SystemNote => {
                let note = format!("[Note from Mentor, not written by the learner]\n{}", m.text);
                push_text(&mut out, true, &note);
            }
        }
    }
    for id in open_calls {
        out.push(WireMessage::Tool {
            tool_call_id: id,
            content: r#"{"error":"no result: the turn was stopped"}"#.into(),
        });
    }
    // A conversation the model continues must not open with its own words.
    while matches!(
        out.first(),
        Some(WireMessage::Assistant { .. } | WireMessage::Tool { .. })
    ) {
        out.remove(0);
    }
    out
}

fn push_text(out: &mut Vec<WireMessage>, user: bool, text: &str) {
    match (out.last_mut(), user) {
        (Some(WireMessage::User(prev)), true) => {
            prev.push_str("\n\n");
            prev.push_str(text);
        }
        (
            Some(WireMessage::Assistant {
                content,
                tool_calls,
            }),
            false,
        ) if tool_calls.is_empty() => {
            content.push_str("\n\n");
            content.push_str(text);
        }
        (_, true) => out.push(WireMessage::User(text.to_string())),
        (_, false) => out.push(WireMessage::Assistant {
            content: text.to_string(),
            tool_calls: Vec::new(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mentor_shared::chat::{Notice, ToolCall};
    use mentor_shared::ids::{JobId, MessageId, NotebookId};
    use mentor_shared::jobs::JobKind;
    use mentor_shared::time::Timestamp;

    /// A complete message of `role` saying `text` (for the chat's unit tests).
    pub(crate) fn msg(role: Role, text: &str) -> ChatMessage {
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
            created: Timestamp(0),
        }
    }

    fn call(id: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: "search_sources".into(),
            arguments: "{}".into(),
        }
    }

    fn tool(id: &str) -> ChatMessage {
        let mut m = msg(Role::Tool, "{}");
        m.tool_call_id = Some(id.into());
        m
    }

    fn notice(kind: NoticeKind, text: &str) -> ChatMessage {
        let mut m = msg(Role::Notice, text);
        m.notice = Some(Notice {
            kind,
            job_id: JobId::new(),
            job_kind: JobKind::Quiz,
            artifact_id: None,
            reason: None,
        });
        m
    }

    fn roles(w: &[WireMessage]) -> Vec<&'static str> {
        w.iter()
            .map(|m| match m {
                WireMessage::System(_) => "system",
                WireMessage::User(_) => "user",
                WireMessage::Assistant { tool_calls, .. } if tool_calls.is_empty() => "assistant",
                WireMessage::Assistant { .. } => "calls",
                WireMessage::Tool { .. } => "tool",
            })
            .collect()
    }

    #[test]
    fn calls_and_results_always_pair_up() {
        let mut asked = msg(Role::Assistant, "");
        asked.tool_calls = vec![call("a"), call("b")];
        let wire = to_wire(&[
            tool("orphan"),
            msg(Role::User, "hi"),
            asked,
            tool("a"),
            msg(Role::User, "again"),
        ]);
        assert_eq!(roles(&wire), ["user", "calls", "tool", "tool", "user"]);
    }

    #[test]
    fn notices_and_notes_read_naturally() {
        let mut streaming = msg(Role::Assistant, "partial");
        streaming.state = MessageState::Streaming;
        let wire = to_wire(&[
            notice(NoticeKind::Ready, "Your quiz is ready"),
            msg(Role::User, "make a quiz"),
            notice(NoticeKind::Submitted, "I'm generating that"),
            msg(Role::Assistant, "Meanwhile, photosynthesis…"),
            notice(NoticeKind::Failed, "I had trouble generating that."),
            msg(Role::SystemNote, "The quiz failed: timeout"),
            msg(Role::User, "ok"),
            streaming,
        ]);
        assert_eq!(roles(&wire), ["user", "assistant", "user"]);
        let WireMessage::Assistant { content, .. } = &wire[1] else {
            panic!("not an assistant message")
        };
        assert!(content.contains("Meanwhile") && content.contains("trouble"));
        assert!(!content.contains("I'm generating"));
        let WireMessage::User(last) = &wire[2] else {
            panic!("not a user message")
        };
        assert!(last.contains("Note from Mentor") && last.ends_with("ok"));
    }
}
