//! Structured output: asking the model for JSON that matches a schema, and getting it.
//!
//! The server is asked with `response_format: json_schema` when it supports it, else with
//! instructions in the prompt (in `auto` mode, the first refusal is remembered). The answer
//! is taken leniently (code fences, prose around the JSON), deserialised and validated; when
//! that fails the model gets one chance to repair it, told exactly what was wrong.

use std::sync::atomic::Ordering;

use mentor_shared::ApiError;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::wire::{self, ChatRequest, JsonSchema, WireMessage};
use super::{Llm, Priority, StructuredMode};

impl Llm {
    /// Asks for JSON matching `schema`, deserialised into `T` and accepted by `validate`.
    /// One repair attempt; then [`ApiError::LlmOutput`] with the last problem. Each request
    /// streams under the usual deadlines and passes the gate at `priority`.
    pub async fn structured<T: DeserializeOwned>(
        &self,
        messages: Vec<WireMessage>,
        schema: &JsonSchema,
        validate: impl Fn(&T) -> Result<(), String> + Send,
        priority: Priority,
    ) -> Result<T, ApiError> {
        self.structured_within(messages, schema, None, validate, priority)
            .await
    }

    /// [`Llm::structured`] with each answer bounded to `max_tokens` (one step of a job: a
    /// request that ends soon leaves the model to a chat soon).
    pub async fn structured_within<T: DeserializeOwned>(
        &self,
        messages: Vec<WireMessage>,
        schema: &JsonSchema,
        max_tokens: Option<u32>,
        validate: impl Fn(&T) -> Result<(), String> + Send,
        priority: Priority,
    ) -> Result<T, ApiError> {
        let mode = self.inner.mode;
        let mut use_schema = match mode {
            StructuredMode::JsonSchema => true,
            StructuredMode::Instructions => false,
            StructuredMode::Auto => !self.inner.schema_refused.load(Ordering::Relaxed),
        };
        let mut messages = messages;
        let text = match self
            .ask(&messages, schema, use_schema, max_tokens, priority)
            .await
        {
            // A prompt too big for the window is not a refusal of the schema.
            Err(
                e @ ApiError::LlmStatus {
                    status: 400 | 404 | 422 | 501,
                    ..
                },
            ) if use_schema
                && mode == StructuredMode::Auto
                && super::window::overflow(&e).is_none() =>
            {
                tracing::debug!(error = %e, "response_format refused; trying instructions");
                let text = self
                    .ask(&messages, schema, false, max_tokens, priority)
                    .await?;
                // Only now: if instructions failed too, the refusal was about something else.
                self.inner.schema_refused.store(true, Ordering::Relaxed);
                tracing::info!(
                    "the model server does not accept response_format; asking for JSON in the \
                     prompt from now on"
                );
                use_schema = false;
                text
            }
            other => other?,
        };
        let problem = match parse(&text, &validate) {
            Ok(value) => return Ok(value),
            Err(problem) => problem,
        };
        let shown: String = text.chars().take(2_000).collect();
        tracing::debug!(%problem, answer = %shown, "structured answer invalid; asking for a repair");
        messages.push(WireMessage::Assistant {
            content: text,
            tool_calls: Vec::new(),
        });
        messages.push(WireMessage::User(format!(
            "Your answer could not be used: {problem}\nAnswer again with only the corrected \
             JSON, matching the schema, and no other text."
        )));
        let text = match self
            .ask(&messages, schema, use_schema, max_tokens, priority)
            .await
        {
            // The repair carries the answer it repairs: when that makes it too big for the
            // window, the answer stays unrepaired (its problem is the error), and the prompt
            // that fitted is not blamed.
            Err(e) if super::window::overflow(&e).is_some() => {
                tracing::debug!(error = %e, "the repair request does not fit the window");
                return Err(ApiError::LlmOutput { reason: problem });
            }
            other => other?,
        };
        parse(&text, &validate).map_err(|reason| {
            let shown: String = text.chars().take(2_000).collect();
            tracing::debug!(problem = %reason, answer = %shown, "structured answer invalid again");
            ApiError::LlmOutput { reason }
        })
    }

    /// One request; the answer's text.
    async fn ask(
        &self,
        messages: &[WireMessage],
        schema: &JsonSchema,
        use_schema: bool,
        max_tokens: Option<u32>,
        priority: Priority,
    ) -> Result<String, ApiError> {
        let mut request = ChatRequest {
            messages: messages.to_vec(),
            max_tokens,
            ..ChatRequest::default()
        };
        if !use_schema {
            add_instructions(&mut request.messages, schema);
        }
        tracing::debug!(
            url = %self.inner.url,
            schema = %schema.name,
            response_format = use_schema,
            ?priority,
            "structured model request"
        );
        let body = wire::body(&self.inner.model, &request, use_schema.then_some(schema));
        let mut stream = self.open(body, priority).await?;
        while stream.next().await?.is_some() {}
        Ok(stream.finish().text)
    }
}

/// Puts the schema in the prompt: appended to the leading system message, or as a new first
/// one. Several chat templates (Mistral's, Gemma's) refuse a system message anywhere else.
fn add_instructions(messages: &mut Vec<WireMessage>, schema: &JsonSchema) {
    let pretty = serde_json::to_string_pretty(&schema.schema).unwrap_or_default();
    let rule = format!(
        "Answer with only a JSON value that matches this JSON Schema, with no text before or \
         after it and no code fences:\n{pretty}"
    );
    match messages.first_mut() {
        Some(WireMessage::System(system)) => {
            system.push_str("\n\n");
            system.push_str(&rule);
        }
        _ => messages.insert(0, WireMessage::System(rule)),
    }
}

/// The answer as a `T` that passes `validate`, or what is wrong with it (for the model to
/// read in the repair request, and for the user in the final error).
fn parse<T: DeserializeOwned>(
    text: &str,
    validate: &impl Fn(&T) -> Result<(), String>,
) -> Result<T, String> {
    let json = extract_json(text).ok_or_else(|| {
        if text.trim().is_empty() {
            "the answer was empty".to_string()
        } else {
            "the answer contains no JSON object".to_string()
        }
    })?;
    let value: Value =
        serde_json::from_str(json).map_err(|e| format!("the answer is not valid JSON: {e}"))?;
    let value: T = serde_json::from_value(value)
        .map_err(|e| format!("the JSON does not match the schema: {e}"))?;
    validate(&value).map_err(|e| format!("the JSON is not acceptable: {e}"))?;
    Ok(value)
}

/// The JSON inside an answer: after any `<think>` block, from the first `{` (or `[`) to the
/// last `}` (or `]`), which drops code fences and prose around it. Of the two candidates the
/// longer that parses wins; else the first, so the error names the real problem.
fn extract_json(text: &str) -> Option<&str> {
    let text = match text.rfind("</think>") {
        Some(at) => &text[at + "</think>".len()..],
        None => text,
    };
    let span = |open: char, close: char| {
        let start = text.find(open)?;
        let end = text.rfind(close)?;
        (end > start).then(|| (start, &text[start..=end]))
    };
    let mut candidates: Vec<(usize, &str)> = [span('{', '}'), span('[', ']')]
        .into_iter()
        .flatten()
        .collect();
    candidates.sort_by_key(|(start, _)| *start);
    candidates
        .iter()
        .filter(|(_, s)| serde_json::from_str::<Value>(s).is_ok())
        .max_by_key(|(_, s)| s.len())
        .or(candidates.first())
        .map(|(_, s)| *s)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_fences_and_prose() {
        assert_eq!(extract_json(r#"{"a":1}"#), Some(r#"{"a":1}"#));
        assert_eq!(
            extract_json("Sure! Here it is:\n```json\n{\"a\": [1]}\n```\nEnjoy."),
            Some("{\"a\": [1]}")
        );
        assert_eq!(extract_json("Notes [1]: {\"a\":2}"), Some("{\"a\":2}"));
        assert_eq!(extract_json("[1, 2]"), Some("[1, 2]"));
        assert_eq!(
            extract_json("<think>maybe {x}</think>{\"a\":3}"),
            Some("{\"a\":3}")
        );
        assert_eq!(extract_json("no json here"), None);
    }

    #[test]
    fn problems_are_named() {
        #[derive(serde::Deserialize)]
        struct Quiz {
            questions: Vec<String>,
        }
        let ok = |q: &Quiz| {
            if q.questions.is_empty() {
                Err("no questions".to_string())
            } else {
                Ok(())
            }
        };
        assert!(parse::<Quiz>(r#"{"questions":["a"]}"#, &ok).is_ok());
        let e = parse::<Quiz>(r#"{"questions":[]}"#, &ok)
            .err()
            .unwrap_or_default();
        assert!(e.contains("no questions"), "{e}");
        let e = parse::<Quiz>(r#"{"q":1}"#, &ok).err().unwrap_or_default();
        assert!(e.contains("does not match"), "{e}");
        let e = parse::<Quiz>(r#"{"questions":["a",}"#, &ok)
            .err()
            .unwrap_or_default();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn instructions_join_the_system_message() {
        let schema = JsonSchema {
            name: "s".into(),
            schema: serde_json::json!({"type": "object"}),
        };
        let mut with_system = vec![WireMessage::System("Be brief.".into())];
        add_instructions(&mut with_system, &schema);
        assert_eq!(with_system.len(), 1);
        let WireMessage::System(text) = &with_system[0] else {
            panic!("not a system message");
        };
        assert!(text.starts_with("Be brief.") && text.contains("\"object\""));
        let mut without = vec![WireMessage::User("hi".into())];
        add_instructions(&mut without, &schema);
        assert!(matches!(&without[0], WireMessage::System(_)));
        assert_eq!(without.len(), 2);
    }
}
