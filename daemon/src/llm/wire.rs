//! The OpenAI chat-completions wire format: the request we send and the stream chunks we
//! accept. Requests carry only standard fields (some servers reject unknown ones); chunks
//! are read leniently, since every server fills them a little differently.

use mentor_shared::chat::ToolCall;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One message of the conversation, as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum WireMessage {
    /// Instructions.
    System(String),
    /// The learner (or a job's prompt).
    User(String),
    /// The model's earlier answer, with the tools it called.
    Assistant {
        /// The text (may be empty when it only called tools).
        content: String,
        /// The calls it made.
        tool_calls: Vec<ToolCall>,
    },
    /// A tool's result.
    Tool {
        /// The call it answers.
        tool_call_id: String,
        /// The result text.
        content: String,
    },
}

impl Serialize for WireMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self {
            WireMessage::System(text) => {
                map.serialize_entry("role", "system")?;
                map.serialize_entry("content", text)?;
            }
            WireMessage::User(text) => {
                map.serialize_entry("role", "user")?;
                map.serialize_entry("content", text)?;
            }
            WireMessage::Assistant {
                content,
                tool_calls,
            } => {
                map.serialize_entry("role", "assistant")?;
                // OpenAI wants `null`, not "", next to tool calls.
                if content.is_empty() && !tool_calls.is_empty() {
                    map.serialize_entry("content", &Value::Null)?;
                } else {
                    map.serialize_entry("content", content)?;
                }
                if !tool_calls.is_empty() {
                    let calls: Vec<Value> = tool_calls
                        .iter()
                        .map(|c| {
                            json!({
                                "id": c.id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments},
                            })
                        })
                        .collect();
                    map.serialize_entry("tool_calls", &calls)?;
                }
            }
            WireMessage::Tool {
                tool_call_id,
                content,
            } => {
                map.serialize_entry("role", "tool")?;
                map.serialize_entry("tool_call_id", tool_call_id)?;
                map.serialize_entry("content", content)?;
            }
        }
        map.end()
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: Value,
}

impl Serialize for ToolSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        })
        .serialize(s)
    }
}

/// A JSON Schema for structured output.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchema {
    /// A short name (`[a-zA-Z0-9_-]`, as OpenAI requires).
    pub name: String,
    /// The schema.
    pub schema: Value,
}

/// One streamed chat completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<WireMessage>,
    /// Tools offered (none: the field is left out).
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature, when not the server's default.
    pub temperature: Option<f32>,
    /// Answer length limit, when wanted.
    pub max_tokens: Option<u32>,
    /// Generate past the end of the answer, up to `max_tokens` (llama.cpp's `ignore_eos`,
    /// honoured by llama-server and the local model; benchmarks use it to time a fixed
    /// number of tokens).
    pub ignore_eos: bool,
}

/// The JSON body of a request, always streamed.
pub(crate) fn body(model: &str, request: &ChatRequest, schema: Option<&JsonSchema>) -> Value {
    let mut body = json!({
        "model": model,
        "messages": request.messages,
        "stream": true,
    });
    if !request.tools.is_empty() {
        body["tools"] = json!(request.tools);
    }
    if let Some(t) = request.temperature {
        // Through the shortest decimal, so 0.7f32 goes out as 0.7, not 0.699999988.
        let t: f64 = t.to_string().parse().unwrap_or(f64::from(t));
        body["temperature"] = json!(t);
    }
    if let Some(n) = request.max_tokens {
        body["max_tokens"] = json!(n);
    }
    if request.ignore_eos {
        body["ignore_eos"] = json!(true);
    }
    if let Some(schema) = schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": schema.name, "schema": schema.schema, "strict": true},
        });
    }
    body
}

/// One `data:` event of the stream.
#[derive(Debug, Deserialize)]
pub(crate) struct Chunk {
    #[serde(default)]
    pub choices: Option<Vec<Choice>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    /// llama.cpp and vLLM report failures inside the stream.
    #[serde(default)]
    pub error: Option<Value>,
}

/// One choice of a chunk (we ask for one).
#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default)]
    pub delta: Option<ChunkDelta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// What a chunk adds.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChunkDelta {
    #[serde(default)]
    pub content: Option<String>,
    /// llama.cpp, vLLM, DeepSeek.
    #[serde(default)]
    pub reasoning_content: Option<String>,
    /// Ollama, OpenRouter (and newer vLLM, sometimes next to `reasoning_content`).
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// A piece of a tool call.
#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallDelta {
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// The function part of a tool-call piece.
#[derive(Debug, Deserialize)]
pub(crate) struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    /// A string fragment (standard) or a whole JSON object (a few servers).
    #[serde(default)]
    pub arguments: Option<Value>,
}

/// Token counts, when the server reports them.
#[derive(Debug, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_serialise_as_openai_expects() {
        let call = ToolCall {
            id: "call_1".into(),
            name: "quiz".into(),
            arguments: r#"{"n":3}"#.into(),
        };
        let request = ChatRequest {
            messages: vec![
                WireMessage::System("be kind".into()),
                WireMessage::User("hi".into()),
                WireMessage::Assistant {
                    content: String::new(),
                    tool_calls: vec![call],
                },
                WireMessage::Tool {
                    tool_call_id: "call_1".into(),
                    content: "done".into(),
                },
                WireMessage::Assistant {
                    content: "ok".into(),
                    tool_calls: vec![],
                },
            ],
            tools: vec![],
            temperature: None,
            max_tokens: Some(10),
            ignore_eos: false,
        };
        let body = body("m", &request, None);
        assert_eq!(
            body,
            json!({
                "model": "m",
                "stream": true,
                "max_tokens": 10,
                "messages": [
                    {"role": "system", "content": "be kind"},
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "quiz", "arguments": "{\"n\":3}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "done"},
                    {"role": "assistant", "content": "ok"},
                ],
            })
        );
    }

    #[test]
    fn tools_and_schema_are_wrapped() {
        let request = ChatRequest {
            messages: vec![WireMessage::User("x".into())],
            tools: vec![ToolSpec {
                name: "t".into(),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: Some(0.7),
            max_tokens: None,
            ignore_eos: false,
        };
        let schema = JsonSchema {
            name: "s".into(),
            schema: json!({"type": "object"}),
        };
        let body = body("m", &request, Some(&schema));
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {
                "name": "t", "description": "d", "parameters": {"type": "object"}}}])
        );
        assert_eq!(body["temperature"], json!(0.7));
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("stream_options").is_none());
    }
}
