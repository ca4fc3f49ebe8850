//! The model's context window: how many tokens one request (prompt and answer) may have, so
//! that prompts are budgeted to fit it.
//!
//! Where it comes from, first found first:
//! 1. the local model: `llm.local.context_tokens / llm.local.sequences`;
//! 2. `llm.context_tokens`, when set (not 0);
//! 3. what an overflow answer said (HTTP 400 "request (4148 tokens) exceeds the available
//!    context size (4096 tokens)"), once one came;
//! 4. the server, asked once per [`ASK_AGAIN_AFTER`]: llama.cpp's `GET /props`
//!    (`default_generation_settings.n_ctx`, a slot's window) or Ollama's `POST /api/show`
//!    (`model_info.<arch>.context_length`, capped to [`OLLAMA_NUM_CTX`], which Mentor then
//!    sends as `options.num_ctx` so Ollama really uses it);
//! 5. nothing: the configured budgets apply as they are, and an overflow answer teaches 3.

use std::time::Duration;

use mentor_shared::ApiError;
use serde_json::Value;
use tokio::time::Instant;

use super::{Choice, Llm};

/// How long what the server said holds before it is asked again (it may have restarted with
/// another window).
pub const ASK_AGAIN_AFTER: Duration = Duration::from_secs(300);
/// How long the server has to answer `/props` or `/api/show`.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);
/// The window Mentor asks Ollama for, at most (Ollama's own default is smaller, and a larger
/// one costs memory the machine may not have).
pub const OLLAMA_NUM_CTX: u32 = 8_192;

/// What is known of the server's window.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// What the server said, and when it was asked (`None` inside: it did not say).
    asked: Option<(Instant, Option<u32>)>,
    /// The smallest window an overflow answer named.
    overflowed: Option<u32>,
    /// The `num_ctx` to send (the server is Ollama).
    num_ctx: Option<u32>,
}

/// Whether `e` says the request did not fit the model's context, and the window it names
/// (when it names one).
pub fn overflow(e: &ApiError) -> Option<Option<u32>> {
    let message = match e {
        ApiError::LlmStatus {
            status: 400 | 413 | 422,
            message,
            ..
        } => message,
        // The local engine's own words (see `local::engine`).
        ApiError::LocalModel { reason, .. } if reason.contains("sequences holds ") => {
            return Some(number_after(reason, "sequences holds "));
        }
        _ => return None,
    };
    let lower = message.to_lowercase();
    let says = (lower.contains("context") || lower.contains("n_ctx"))
        && (lower.contains("exceed")
            || lower.contains("maximum context length")
            || lower.contains("too long")
            || lower.contains("too many tokens"));
    if !says {
        return None;
    }
    let named = [
        "context size (",
        "context length is ",
        "n_ctx_slot = ",
        "n_ctx: ",
    ]
    .iter()
    .find_map(|marker| number_after(&lower, marker));
    Some(named)
}

fn number_after(text: &str, marker: &str) -> Option<u32> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&n| n > 0)
}

impl Llm {
    /// The window of one request, in tokens, when known (see the module).
    pub async fn window(&self) -> Option<u32> {
        let i = &self.inner;
        if let (Choice::Local, Some(local)) = (self.choice().await, &i.local) {
            return Some(local.window());
        }
        if i.context_tokens > 0 {
            return Some(i.context_tokens);
        }
        let (asked, overflowed) = {
            let known = i.window.lock().unwrap_or_else(|p| p.into_inner());
            (known.asked, known.overflowed)
        };
        let said = match asked {
            Some((at, said)) if at.elapsed() < ASK_AGAIN_AFTER => said,
            _ => {
                let (said, num_ctx) = self.ask_window().await;
                let mut known = i.window.lock().unwrap_or_else(|p| p.into_inner());
                known.asked = Some((Instant::now(), said));
                known.num_ctx = num_ctx;
                said
            }
        };
        match (said, overflowed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Remembers an overflow answer: the window it named, or (naming none) a window smaller
    /// than the request that overflowed, `tried` tokens (an estimate). Returns the window now
    /// assumed.
    pub fn overflowed(&self, named: Option<u32>, tried: u32) -> u32 {
        let mut known = self.inner.window.lock().unwrap_or_else(|p| p.into_inner());
        let guess = named.unwrap_or(tried.saturating_mul(3) / 4).max(256);
        let window = known.overflowed.map_or(guess, |w| w.min(guess));
        known.overflowed = Some(window);
        tracing::info!(
            window,
            "the model's context window is smaller than the request"
        );
        window
    }

    /// The `options.num_ctx` to send with every request (the server is Ollama).
    pub(crate) fn num_ctx(&self) -> Option<u32> {
        let known = self.inner.window.lock().unwrap_or_else(|p| p.into_inner());
        known.num_ctx
    }

    /// Asks the server (llama.cpp, then Ollama) for its window, and the `num_ctx` to send.
    async fn ask_window(&self) -> (Option<u32>, Option<u32>) {
        let origin = self.origin();
        let client = self.inner.http.get(super::Priority::Job);
        let get = async {
            let mut request = client.get(format!("{origin}/props")).timeout(ASK_TIMEOUT);
            if let Some(auth) = &self.inner.auth {
                request = request.header(reqwest::header::AUTHORIZATION, auth.clone());
            }
            let reply = request.send().await.ok()?.error_for_status().ok()?;
            let props: Value = serde_json::from_slice(&reply.bytes().await.ok()?).ok()?;
            llama_window(&props)
        };
        if let Some(n) = get.await {
            tracing::info!(
                window = n,
                "the model server (llama.cpp) reports its context window"
            );
            return (Some(n), None);
        }
        let show = async {
            let body = serde_json::json!({ "model": self.inner.model });
            let reply = client
                .post(format!("{origin}/api/show"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string())
                .timeout(ASK_TIMEOUT)
                .send()
                .await
                .ok()?
                .error_for_status()
                .ok()?;
            let shown: Value = serde_json::from_slice(&reply.bytes().await.ok()?).ok()?;
            ollama_window(&shown)
        };
        match show.await {
            Some(n) => {
                let window = n.min(OLLAMA_NUM_CTX);
                tracing::info!(
                    trained = n,
                    window,
                    "the model server (Ollama) reports the model's context length"
                );
                (Some(window), Some(window))
            }
            None => {
                tracing::info!("the model server does not say its context window");
                (None, None)
            }
        }
    }

    /// The server's address without the API's path (`http://host:port`, or with a prefix).
    fn origin(&self) -> String {
        let url = self.inner.url.trim_end_matches("/chat/completions");
        url.trim_end_matches('/')
            .trim_end_matches("/v1")
            .trim_end_matches('/')
            .to_string()
    }
}

/// A slot's window in llama.cpp's `/props`.
fn llama_window(props: &Value) -> Option<u32> {
    let n = props["default_generation_settings"]["n_ctx"]
        .as_u64()
        .or_else(|| props["n_ctx"].as_u64())?;
    u32::try_from(n).ok().filter(|&n| n > 0)
}

/// The model's context length in Ollama's `/api/show` (`model_info`, whatever the
/// architecture's prefix).
fn ollama_window(shown: &Value) -> Option<u32> {
    let info = shown["model_info"].as_object()?;
    let n = info
        .iter()
        .find(|(k, _)| k.ends_with(".context_length"))
        .and_then(|(_, v)| v.as_u64())?;
    u32::try_from(n).ok().filter(|&n| n > 0)
}

/// Tokens of a request's messages, estimated from their JSON on the safe side (3 characters
/// a token: technical text and small models' vocabularies make tokens shorter than the 4
/// characters the prompt budgets assume), plus room for each message's template.
pub fn request_tokens(messages: &[super::WireMessage]) -> u32 {
    let chars: usize = messages
        .iter()
        .map(|m| serde_json::to_string(m).map_or(0, |s| s.chars().count()))
        .sum();
    u32::try_from(chars / 3 + 8 * messages.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(message: &str) -> ApiError {
        ApiError::LlmStatus {
            url: "http://127.0.0.1:1/v1/chat/completions".into(),
            status: 400,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    #[test]
    fn overflow_answers_are_recognised_with_the_window_they_name() {
        let llama = status(
            "request (4148 tokens) exceeds the available context size (4096 tokens), try \
             increasing it",
        );
        assert_eq!(overflow(&llama), Some(Some(4096)));
        let openai = status(
            "This model's maximum context length is 8192 tokens. However, your messages \
             resulted in 9000 tokens.",
        );
        assert_eq!(overflow(&openai), Some(Some(8192)));
        let vague = status("the prompt is too long for the context");
        assert_eq!(overflow(&vague), Some(None));
        assert_eq!(overflow(&status("model not found")), None);
        assert_eq!(overflow(&ApiError::LlmPreempted), None);
        let local = ApiError::LocalModel {
            path: "m.gguf".into(),
            reason: "the prompt has 2100 tokens and each of the local model's 2 sequences \
                     holds 2048; raise llm.local.context_tokens"
                .into(),
        };
        assert_eq!(overflow(&local), Some(Some(2048)));
    }

    #[test]
    fn servers_say_their_window_in_their_own_way() {
        let props = serde_json::json!({"default_generation_settings": {"n_ctx": 4096}});
        assert_eq!(llama_window(&props), Some(4096));
        assert_eq!(llama_window(&serde_json::json!({"n_ctx": 0})), None);
        let show = serde_json::json!({"model_info": {"general.architecture": "llama",
            "llama.context_length": 131072}});
        assert_eq!(ollama_window(&show), Some(131_072));
        assert_eq!(ollama_window(&serde_json::json!({"model_info": {}})), None);
    }
}
