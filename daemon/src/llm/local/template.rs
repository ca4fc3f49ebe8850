//! The prompt a local model reads: the chat template stored in the model file
//! (`tokenizer.chat_template`, a Jinja template written for Hugging Face's Python), rendered
//! with minijinja and its Python-compatible methods.
//!
//! A template that knows tools (Qwen2.5, Hermes) gets the tools and the calls as it expects
//! them. One that does not (SmolLM2's) gets the tools described in the system message, the
//! model's earlier calls written back as `<tool_call>` blocks, and the tools' results as user
//! messages in `<tool_response>` blocks: the format [`super::tool_calls`] reads back.
//! A model file without a template gets ChatML.

use minijinja::{Environment, Error, ErrorKind};
use serde_json::{json, Value};

/// ChatML, for model files that carry no template.
const CHATML: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n\
{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// A model's chat template, ready to render.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Whether the template handles `tools` and `tool_calls` itself.
    native_tools: bool,
    bos: String,
    eos: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("native_tools", &self.native_tools)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source` (the model's template; `None`: ChatML). `bos` and `eos` are the
    /// model's special tokens as text, which templates may print.
    pub fn new(source: Option<&str>, bos: &str, eos: &str) -> Result<ChatTemplate, String> {
        let source = source.filter(|s| !s.trim().is_empty()).unwrap_or(CHATML);
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_function("strftime_now", |format: String| -> String {
            strftime_now(&format)
        });
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| format!("the model's chat template cannot be read: {e}"))?;
        Ok(ChatTemplate {
            env,
            native_tools: source.contains("tool_calls") || source.contains("tools"),
            bos: bos.to_string(),
            eos: eos.to_string(),
        })
    }

    /// The prompt for `messages` (OpenAI's request format) and `tools` (OpenAI's tool
    /// objects), ending where the assistant's answer begins.
    pub fn render(&self, messages: &[Value], tools: &[Value]) -> Result<String, String> {
        let (messages, tools) = if self.native_tools {
            (native_messages(messages), tools.to_vec())
        } else {
            (described_tools(messages, tools), Vec::new())
        };
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| format!("the model's chat template cannot be read: {e}"))?;
        let mut context = json!({
            "messages": messages,
            "add_generation_prompt": true,
            "bos_token": self.bos,
            "eos_token": self.eos,
        });
        if !tools.is_empty() {
            context["tools"] = json!(tools);
        }
        template
            .render(context)
            .map_err(|e| format!("the model's chat template failed: {e}"))
    }
}

/// Messages for a template that knows tools: call arguments as objects, as those templates
/// print them with `tojson`.
fn native_messages(messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if m.get("content").is_some_and(Value::is_null) {
                m["content"] = json!("");
            }
            if let Some(calls) = m.get_mut("tool_calls").and_then(Value::as_array_mut) {
                for call in calls {
                    let args = &mut call["function"]["arguments"];
                    if let Some(text) = args.as_str() {
                        *args = serde_json::from_str(text).unwrap_or_else(|_| json!({}));
                    }
                }
            }
            m
        })
        .collect()
}

/// Messages for a template that does not know tools (see the module's comment).
fn described_tools(messages: &[Value], tools: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(messages.len() + 1);
    for m in messages {
        let role = m["role"].as_str().unwrap_or("user");
        let content = m["content"].as_str().unwrap_or_default();
        let (role, content) = match role {
            "assistant" => {
                let mut text = content.to_string();
                for call in m["tool_calls"].as_array().into_iter().flatten() {
                    let f = &call["function"];
                    let arguments = f["arguments"]
                        .as_str()
                        .and_then(|a| serde_json::from_str::<Value>(a).ok())
                        .unwrap_or_else(|| json!({}));
                    let written = json!({"name": f["name"], "arguments": arguments});
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&format!("<tool_call>\n{written}\n</tool_call>"));
                }
                ("assistant", text)
            }
            "tool" => (
                "user",
                format!("<tool_response>\n{content}\n</tool_response>"),
            ),
            "system" => ("system", content.to_string()),
            _ => ("user", content.to_string()),
        };
        // Two user messages in a row (a tool's result, then more) become one: several
        // templates require turns to alternate.
        if let Some(last) = out.last_mut() {
            if role == "user" && last["role"] == "user" {
                let joined = format!(
                    "{}\n\n{content}",
                    last["content"].as_str().unwrap_or_default()
                );
                last["content"] = json!(joined);
                continue;
            }
        }
        out.push(json!({"role": role, "content": content}));
    }
    if !tools.is_empty() {
        let rule = tools_rule(tools);
        match out.first_mut() {
            Some(first) if first["role"] == "system" => {
                let text = format!(
                    "{}\n\n{rule}",
                    first["content"].as_str().unwrap_or_default()
                );
                first["content"] = json!(text);
            }
            _ => out.insert(0, json!({"role": "system", "content": rule})),
        }
    }
    out
}

/// The tools, described in the Hermes way.
fn tools_rule(tools: &[Value]) -> String {
    let listed: Vec<String> = tools
        .iter()
        .map(|t| t.get("function").unwrap_or(t).to_string())
        .collect();
    format!(
        "You may call tools. They are listed between <tools></tools>:\n<tools>\n{}\n</tools>\n\
         To call one, write its name and arguments as JSON between <tool_call></tool_call> \
         tags, and nothing else:\n<tool_call>\n{{\"name\": \"tool_name\", \"arguments\": \
         {{\"arg\": \"value\"}}}}\n</tool_call>\nEach result comes back between \
         <tool_response></tool_response> tags.",
        listed.join("\n")
    )
}

/// Today's date for templates that print it (Llama 3's): only `%d`, `%b`, `%B`, `%m` and
/// `%Y` are needed by the templates seen in model files.
fn strftime_now(format: &str) -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    let (y, m, d) = civil(days as i64);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS[(m - 1) as usize];
    format
        .replace("%d", &format!("{d:02}"))
        .replace("%m", &format!("{m:02}"))
        .replace("%Y", &y.to_string())
        .replace("%B", month)
        .replace("%b", &month[..3])
}

/// Year, month and day of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M-Instruct's template, as its model file carries it.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /// The part of Qwen2.5's template that handles tools.
    const QWEN_TOOLS: &str = "{%- if tools %}<|im_start|>system\n{{ messages[0]['content'] if messages[0]['role'] == 'system' else 'You are Qwen.' }}\n# Tools\n<tools>{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools><|im_end|>\n{%- endif %}{%- for message in messages %}{%- if message.role == 'assistant' and message.tool_calls %}<|im_start|>assistant\n{{ message.content }}{%- for tool_call in message.tool_calls %}<tool_call>\n{\"name\": \"{{ tool_call.function.name }}\", \"arguments\": {{ tool_call.function.arguments | tojson }}}\n</tool_call>{%- endfor %}<|im_end|>\n{%- elif message.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ message.content }}\n</tool_response><|im_end|>\n{%- elif not (tools and message.role == 'system') %}<|im_start|>{{ message.role }}\n{{ message.content.strip() }}<|im_end|>\n{%- endif %}{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}";

    fn conversation() -> (Vec<Value>, Vec<Value>) {
        let messages = vec![
            json!({"role": "system", "content": "Teach."}),
            json!({"role": "user", "content": "Quiz me"}),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function",
                 "function": {"name": "generate_artifact", "arguments": "{\"artifact_type\":\"quiz\"}"}}
            ]}),
            json!({"role": "tool", "tool_call_id": "c1", "content": "{\"job\":\"j1\"}"}),
        ];
        let tools = vec![json!({"type": "function", "function": {
            "name": "generate_artifact", "description": "Queue a job.",
            "parameters": {"type": "object"}}})];
        (messages, tools)
    }

    #[test]
    fn a_template_without_tools_gets_them_described() {
        let t = ChatTemplate::new(Some(SMOLLM2), "", "<|im_end|>").expect("compiles");
        let (messages, tools) = conversation();
        let prompt = t.render(&messages, &tools).expect("renders");
        assert!(
            prompt.starts_with("<|im_start|>system\nTeach.\n\nYou may call tools."),
            "{prompt}"
        );
        assert!(
            prompt.contains("\"name\":\"generate_artifact\""),
            "{prompt}"
        );
        assert!(
            prompt.contains("<|im_start|>assistant\n<tool_call>\n{\"arguments\":{\"artifact_type\":\"quiz\"},\"name\":\"generate_artifact\"}\n</tool_call><|im_end|>"),
            "{prompt}"
        );
        assert!(
            prompt.contains(
                "<|im_start|>user\n<tool_response>\n{\"job\":\"j1\"}\n</tool_response><|im_end|>"
            ),
            "{prompt}"
        );
        assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt}");
    }

    #[test]
    fn a_template_with_tools_gets_them_as_it_expects() {
        let t = ChatTemplate::new(Some(QWEN_TOOLS), "", "<|im_end|>").expect("compiles");
        let (messages, tools) = conversation();
        let prompt = t.render(&messages, &tools).expect("renders");
        assert!(
            prompt.contains("# Tools\n<tools>\n{\"function\":"),
            "{prompt}"
        );
        assert!(
            prompt.contains("<tool_call>\n{\"name\": \"generate_artifact\", \"arguments\": {\"artifact_type\":\"quiz\"}}"),
            "{prompt}"
        );
        assert!(
            prompt.contains("<tool_response>\n{\"job\":\"j1\"}\n</tool_response>"),
            "{prompt}"
        );
    }

    #[test]
    fn no_template_means_chatml_and_a_broken_one_is_an_error() {
        let t = ChatTemplate::new(None, "", "").expect("compiles");
        let prompt = t
            .render(&[json!({"role": "user", "content": "hi"})], &[])
            .expect("renders");
        assert_eq!(
            prompt,
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert!(ChatTemplate::new(Some("{% for %}"), "", "").is_err());
        let raising = ChatTemplate::new(
            Some("{{ raise_exception('roles must alternate') }}"),
            "",
            "",
        )
        .expect("compiles");
        let e = raising.render(&[], &[]).expect_err("raises");
        assert!(e.contains("roles must alternate"), "{e}");
    }

    #[test]
    fn dates_are_right() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_781), (2026, 11, 24));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}
