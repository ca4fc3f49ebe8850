//! The model client: one place that talks to the OpenAI-compatible server (Ollama,
//! llama.cpp, vLLM, LM Studio, OpenAI, OpenRouter, …).
//!
//! Every call streams, passes the [`Gate`] (chat before jobs), is sent exactly once (retrying
//! is the caller's decision, see [`is_transient`]) and is bounded by three deadlines: connect,
//! first token, and idle gap between events. Errors name the URL and carry the server's own
//! message. The API key is sent as a bearer token and never logged or shown in `Debug`.

mod assemble;
mod error;
mod gate;
mod stream;
mod structured;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mentor_shared::config::LlmConfig;
use mentor_shared::ApiError;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest_eventsource::{Error as EsError, Event, EventSource};
use tokio::time::Instant;

pub use assemble::{Completion, Delta, Usage};
pub use error::is_transient;
pub use gate::{Gate, Permit, Priority};
pub use stream::Stream;
pub use wire::{ChatRequest, JsonSchema, ToolSpec, WireMessage};

/// How jobs ask for JSON (`llm.structured_output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StructuredMode {
    /// `response_format: json_schema`, instructions once the server refused it.
    Auto,
    /// Always `response_format: json_schema`.
    JsonSchema,
    /// Always instructions in the prompt.
    Instructions,
}

/// The model client. Cheap to clone; one per daemon, so the gate is shared.
#[derive(Clone)]
pub struct Llm {
    inner: Arc<Inner>,
}

struct Inner {
    /// One connection pool per priority: a pooled connection's I/O runs on the runtime that
    /// opened it, so the chat's must not be opened by a job (jobs run on their own, lower
    /// priority runtime; see `main.rs`).
    http: Clients,
    url: String,
    model: String,
    auth: Option<HeaderValue>,
    connect: Duration,
    first_token: Duration,
    idle: Duration,
    gate: Gate,
    mode: StructuredMode,
    /// Set once the server refused `response_format` in auto mode.
    schema_refused: AtomicBool,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("Llm")
            .field("url", &i.url)
            .field("model", &i.model)
            .field("api_key", &i.auth.as_ref().map(|_| "<redacted>"))
            .field("connect", &i.connect)
            .field("first_token", &i.first_token)
            .field("idle", &i.idle)
            .field("gate", &i.gate)
            .field("mode", &i.mode)
            .finish()
    }
}

#[derive(Clone)]
struct Clients {
    chat: reqwest::Client,
    jobs: reqwest::Client,
}

impl Clients {
    fn new(connect: Duration) -> Result<Clients, reqwest::Error> {
        Ok(Clients {
            chat: http_client(connect)?,
            jobs: http_client(connect)?,
        })
    }

    fn get(&self, priority: Priority) -> &reqwest::Client {
        match priority {
            Priority::Chat => &self.chat,
            Priority::Job => &self.jobs,
        }
    }
}

fn http_client(connect: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .user_agent(concat!("mentor/", env!("CARGO_PKG_VERSION")))
        .build()
}

impl Llm {
    /// A client for the configured server, with a gate of `max_concurrent` places.
    pub fn new(config: &LlmConfig) -> Result<Llm, ApiError> {
        let connect = Duration::from_secs(config.connect_timeout_secs);
        let http = Clients::new(connect).map_err(|e| ApiError::Internal {
            message: format!("cannot set up the HTTP client for the model server: {e}"),
        })?;
        let auth = match config.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    ApiError::Internal {
                        message: "llm.api_key contains characters that cannot be sent in an \
                                  HTTP header; check the key (or MENTOR_LLM_API_KEY)"
                            .into(),
                    }
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        let base = config.base_url.trim().trim_end_matches('/');
        let url = if base.ends_with("/chat/completions") {
            base.to_string()
        } else {
            format!("{base}/chat/completions")
        };
        let mode = match config.structured_output.as_str() {
            "json_schema" => StructuredMode::JsonSchema,
            "instructions" => StructuredMode::Instructions,
            _ => StructuredMode::Auto,
        };
        Ok(Llm {
            inner: Arc::new(Inner {
                http,
                url,
                model: config.model.clone(),
                auth,
                connect,
                first_token: Duration::from_secs(config.first_token_timeout_secs),
                idle: Duration::from_secs(config.idle_timeout_secs),
                gate: Gate::new(usize::try_from(config.max_concurrent).unwrap_or(1)),
                mode,
                schema_refused: AtomicBool::new(false),
            }),
        })
    }

    /// The same client with other deadlines (tests use fractions of a second). Errors report
    /// the limits rounded up to whole seconds.
    pub fn with_timeouts(self, connect: Duration, first_token: Duration, idle: Duration) -> Llm {
        let i = &self.inner;
        let http = Clients::new(connect).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot rebuild the HTTP client; keeping the connect timeout");
            i.http.clone()
        });
        Llm {
            inner: Arc::new(Inner {
                http,
                url: i.url.clone(),
                model: i.model.clone(),
                auth: i.auth.clone(),
                connect,
                first_token,
                idle,
                gate: i.gate.clone(),
                mode: i.mode,
                schema_refused: AtomicBool::new(i.schema_refused.load(Ordering::Relaxed)),
            }),
        }
    }

    /// The chat-completions URL, for messages.
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The gate every request passes.
    pub fn gate(&self) -> &Gate {
        &self.inner.gate
    }

    /// Waits for the gate at `priority`, sends the request once, and returns as soon as the
    /// server accepted it (2xx headers), or the error.
    pub async fn stream(
        &self,
        request: &ChatRequest,
        priority: Priority,
    ) -> Result<Stream, ApiError> {
        tracing::debug!(
            url = %self.inner.url,
            model = %self.inner.model,
            messages = request.messages.len(),
            tools = request.tools.len(),
            ?priority,
            "model request"
        );
        self.open(wire::body(&self.inner.model, request, None), priority)
            .await
    }

    /// Sends a prepared body (see [`wire::body`]).
    async fn open(&self, body: serde_json::Value, priority: Priority) -> Result<Stream, ApiError> {
        let i = &self.inner;
        let url = i.url.as_str();
        let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::Internal {
            message: format!("cannot encode the model request: {e}"),
        })?;
        let permit = i.gate.acquire(priority).await;
        let mut request = i
            .http
            .get(priority)
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(bytes);
        if let Some(auth) = &i.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let mut events = EventSource::new(request).map_err(|e| ApiError::Internal {
            message: format!("cannot prepare the model request: {e}"),
        })?;
        // The default policy re-sends the POST after any error or end of stream.
        events.set_retry_policy(Box::new(reqwest_eventsource::retry::Never));
        let started = Instant::now();
        let opened = tokio::time::timeout_at(started + i.first_token, events.next()).await;
        let fail = match opened {
            Err(_) => error::timeout(url, "first_token", i.first_token),
            Ok(Some(Ok(Event::Open))) => {
                let limits = stream::Limits {
                    started,
                    first_token: i.first_token,
                    idle: i.idle,
                };
                return Ok(Stream::new(events, permit, url.to_string(), limits));
            }
            Ok(Some(Err(EsError::Transport(e)))) => error::transport(url, &e, i.connect),
            Ok(Some(Err(EsError::InvalidStatusCode(status, response)))) => {
                error::status(url, status, response).await
            }
            Ok(Some(Err(EsError::InvalidContentType(value, response)))) => {
                let content_type = value.to_str().unwrap_or("an unreadable content type");
                error::content_type(url, content_type, response).await
            }
            Ok(Some(Err(e))) => error::protocol(url, e.to_string()),
            Ok(Some(Ok(Event::Message(_)))) | Ok(None) => {
                error::protocol(url, "the server answered before its headers")
            }
        };
        events.close();
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis(),
            error = %fail,
            "model request refused"
        );
        Err(fail)
    }
}
