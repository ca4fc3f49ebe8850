//! Adding up stream chunks into an answer: text, reasoning kept apart, tool calls rebuilt
//! from their fragments, the finish reason and token counts. Pure (no I/O), so every
//! server's quirks are tested here directly as well as over HTTP.
//!
//! Quirks handled: `reasoning_content` (llama.cpp, vLLM, DeepSeek) and `reasoning` (Ollama,
//! OpenRouter); tool-call pieces keyed by `index`, or without one (Ollama sends a whole call
//! in one piece); arguments as a string or as a JSON object; a usage chunk with no choices;
//! `content: null`; role-only deltas; calls without an id.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use mentor_shared::chat::ToolCall;
use mentor_shared::ApiError;
use serde_json::Value;

use super::error::{cap, in_stream, protocol};
use super::wire::{Chunk, ToolCallDelta};

/// A piece of the answer as it streams in.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// Answer text.
    Text(String),
    /// The model's thinking, when the server reports it apart from the answer.
    Reasoning(String),
    /// A tool call began; sent once per call, as soon as its name is known.
    ToolCallStarted {
        /// The call's position in this answer (0, 1, …).
        index: usize,
        /// The tool's name.
        name: String,
    },
}

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    /// Answer text.
    pub text: String,
    /// Reasoning, apart from the text.
    pub reasoning: String,
    /// Tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `length`, `tool_calls`, … when the server said.
    pub finish_reason: Option<String>,
    /// Token counts, when the server reported them.
    pub usage: Option<Usage>,
}

/// Deltas waiting to be handed out; neighbours of the same kind are merged.
#[derive(Debug, Default)]
pub(crate) struct Deltas(VecDeque<Delta>);

impl Deltas {
    /// Adds a delta, appending to the last one when both are text or both reasoning.
    pub fn push(&mut self, delta: Delta) {
        if let Some(last) = self.0.back_mut() {
            match (last, &delta) {
                (Delta::Text(a), Delta::Text(b)) | (Delta::Reasoning(a), Delta::Reasoning(b)) => {
                    a.push_str(b);
                    return;
                }
                _ => {}
            }
        }
        self.0.push_back(delta);
    }

    /// The oldest delta.
    pub fn pop(&mut self) -> Option<Delta> {
        self.0.pop_front()
    }
}

/// A tool call being rebuilt.
#[derive(Debug, Default)]
struct CallParts {
    index: Option<usize>,
    id: String,
    name: String,
    arguments: String,
    announced: bool,
}

/// Makes ids for calls the server sent without one, unique in the daemon's life.
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(0);

/// The answer so far.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    text: String,
    reasoning: String,
    calls: Vec<CallParts>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl Assembler {
    /// Adds one `data:` payload (not `[DONE]`), pushing what it shows to `out`.
    pub fn feed(&mut self, url: &str, data: &str, out: &mut Deltas) -> Result<(), ApiError> {
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            let what = if serde_json::from_str::<Value>(data).is_ok() {
                "a chunk has an unexpected shape"
            } else {
                "a `data:` line is not JSON"
            };
            protocol(url, format!("{what} ({e}): {}", cap(data, 120)))
        })?;
        if let Some(error) = &chunk.error {
            if !error.is_null() {
                return Err(in_stream(url, &serde_json::json!({ "error": error })));
            }
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens.unwrap_or(0),
                completion_tokens: usage.completion_tokens.unwrap_or(0),
            });
        }
        // We ask for one choice; ignore any other a server might add.
        for choice in chunk.choices.unwrap_or_default() {
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            if let Some(delta) = choice.delta {
                // Newer vLLM sends both fields with the same text: take one.
                let reasoning = delta.reasoning_content.or(delta.reasoning);
                if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                    self.reasoning.push_str(&r);
                    out.push(Delta::Reasoning(r));
                }
                if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
                    self.text.push_str(&t);
                    out.push(Delta::Text(t));
                }
                for call in delta.tool_calls.unwrap_or_default() {
                    self.tool_call_piece(call, out);
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish_reason = Some(reason);
            }
        }
        Ok(())
    }

    /// Whether the server said the answer is complete.
    pub fn finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The usage so far.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The finish reason so far.
    pub fn finish_reason(&self) -> Option<&str> {
        self.finish_reason.as_deref()
    }

    /// Tool calls seen so far.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    fn tool_call_piece(&mut self, piece: ToolCallDelta, out: &mut Deltas) {
        let (name, arguments) = match piece.function {
            Some(f) => (f.name.unwrap_or_default(), f.arguments),
            None => (String::new(), None),
        };
        let id = piece.id.unwrap_or_default();
        let at = match piece.index {
            Some(i) => self.calls.iter().position(|c| c.index == Some(i)),
            // Without an index: the same call as the last one unless it names a new one.
            None => self.calls.last().and_then(|last| {
                let continues =
                    (id.is_empty() && name.is_empty()) || (!id.is_empty() && id == last.id);
                continues.then(|| self.calls.len() - 1)
            }),
        };
        let at = at.unwrap_or_else(|| {
            self.calls.push(CallParts {
                index: piece.index,
                ..CallParts::default()
            });
            self.calls.len() - 1
        });
        let call = &mut self.calls[at];
        if call.id.is_empty() {
            call.id = id;
        }
        if call.name.is_empty() {
            call.name = name;
        }
        match arguments {
            Some(Value::String(s)) => call.arguments.push_str(&s),
            Some(Value::Null) | None => {}
            // A whole object instead of text (a few servers).
            Some(other) => call.arguments.push_str(&other.to_string()),
        }
        if !call.announced && !call.name.is_empty() {
            call.announced = true;
            out.push(Delta::ToolCallStarted {
                index: at,
                name: call.name.clone(),
            });
        }
    }

    /// The answer as assembled so far.
    pub fn completion(self) -> Completion {
        let tool_calls = self
            .calls
            .into_iter()
            .filter(|c| !(c.name.is_empty() && c.arguments.is_empty()))
            .map(|c| ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{}", NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed))
                } else {
                    c.id
                },
                name: c.name,
                // Servers send "" for a call without arguments; "{}" is what they accept back.
                arguments: if c.arguments.trim().is_empty() {
                    "{}".to_string()
                } else {
                    c.arguments
                },
            })
            .collect();
        Completion {
            text: self.text,
            reasoning: self.reasoning,
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
        }
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> (Vec<Delta>, Completion) {
        let mut asm = Assembler::default();
        let mut out = Deltas::default();
        for c in chunks {
            asm.feed("u", c, &mut out).expect("valid chunk");
        }
        let deltas = std::iter::from_fn(|| out.pop()).collect();
        (deltas, asm.completion())
    }

    #[test]
    fn text_and_reasoning_stay_apart() {
        let (deltas, done) = run(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"hmm "}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"so"}}]}"#,
            r#"{"choices":[{"delta":{"content":"Hi"}}]}"#,
            r#"{"choices":[{"delta":{"content":" there"},"finish_reason":"stop"}]}"#,
        ]);
        assert_eq!(
            deltas,
            [
                Delta::Reasoning("hmm so".into()),
                Delta::Text("Hi there".into())
            ]
        );
        assert_eq!(done.text, "Hi there");
        assert_eq!(done.reasoning, "hmm so");
        assert_eq!(done.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn both_reasoning_fields_count_once() {
        let (_, done) =
            run(&[r#"{"choices":[{"delta":{"reasoning_content":"a","reasoning":"a"}}]}"#]);
        assert_eq!(done.reasoning, "a");
    }

    #[test]
    fn indexed_pieces_make_calls() {
        let (deltas, done) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"one","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"two","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        ]);
        assert_eq!(
            deltas,
            [
                Delta::ToolCallStarted {
                    index: 0,
                    name: "one".into()
                },
                Delta::ToolCallStarted {
                    index: 1,
                    name: "two".into()
                },
            ]
        );
        let calls: Vec<_> = done
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, [("a", "one", r#"{"x":1}"#), ("b", "two", "{}")]);
    }

    #[test]
    fn pieces_without_index() {
        let (_, done) = run(&[
            // Ollama: a whole call per piece, arguments possibly as an object, no id.
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"one","arguments":{"a":1}}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"two","arguments":"{\"b\":"}}]}}]}"#,
            // No id, no name: continues the last call.
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"2}"}}]}}]}"#,
        ]);
        assert_eq!(done.tool_calls.len(), 2);
        assert_eq!(done.tool_calls[0].name, "one");
        assert_eq!(done.tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(done.tool_calls[1].arguments, r#"{"b":2}"#);
        assert!(done.tool_calls[0].id.starts_with("call_"));
        assert_ne!(done.tool_calls[0].id, done.tool_calls[1].id);
    }

    #[test]
    fn usage_without_choices_and_garbage() {
        let (_, done) = run(&[
            r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
        ]);
        assert_eq!(
            done.usage,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 3
            })
        );
        let mut asm = Assembler::default();
        let err = asm
            .feed("u", "{not json", &mut Deltas::default())
            .expect_err("garbage");
        assert!(
            matches!(err, ApiError::LlmProtocol { ref reason, .. } if reason.contains("not JSON"))
        );
        let err = asm
            .feed(
                "u",
                r#"{"choices":[{"delta":{"content":5}}]}"#,
                &mut Deltas::default(),
            )
            .expect_err("wrong shape");
        assert!(
            matches!(err, ApiError::LlmProtocol { ref reason, .. } if reason.contains("unexpected shape"))
        );
    }
}
