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
pub mod local;
mod stream;
mod structured;
pub mod window;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use mentor_shared::config::{LlmConfig, LocalLlmConfig};
use mentor_shared::ApiError;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest_eventsource::{Error as EsError, Event, EventSource};
use tokio::time::Instant;

pub use assemble::{Completion, Delta, Usage};
pub use error::is_transient;
pub use gate::{Gate, Permit, Priority};
pub use local::{Local, Status as LocalStatus};
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
    /// `llm.provider`.
    provider: Provider,
    /// The local model, unless the provider is `openai`.
    local: Option<Local>,
    /// The local model's own gate: a place per sequence, one of them kept for the chat.
    local_gate: Gate,
    /// In `auto`, the last choice and when it was made.
    chosen: Mutex<Option<(Instant, Choice)>>,
    /// `llm.context_tokens` (0: learn it).
    context_tokens: u32,
    /// What the server's window is known to be.
    window: Mutex<window::Known>,
}

/// `llm.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Auto,
    Server,
    Local,
}

/// Which model answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The model server at `llm.base_url`.
    Server,
    /// The local model.
    Local,
}

/// How long an `auto` choice holds before the server is tried again.
const CHOICE_FOR: Duration = Duration::from_secs(10);

/// How long `auto` waits for the server's port to answer.
const PROBE_FOR: Duration = Duration::from_millis(500);

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
                gate: Gate::new(usize::try_from(config.max_concurrent).unwrap_or(1))
                    .preempt_after(Some(Duration::from_millis(config.preempt_after_ms))),
                mode,
                schema_refused: AtomicBool::new(false),
                provider: match config.provider.as_str() {
                    "openai" => Provider::Server,
                    "local" => Provider::Local,
                    _ => Provider::Auto,
                },
                local: None,
                local_gate: Gate::new(1),
                chosen: Mutex::new(None),
                context_tokens: config.context_tokens,
                window: Mutex::new(window::Known::default()),
            }),
        })
    }

    /// The same client with the local model at `path` (the engine starts, the model is not
    /// loaded yet). Without it, or with `llm.provider = "openai"`, only the server is used.
    /// `load_pause` delays every load (tests of the loading progress; zero otherwise).
    pub fn with_local(self, path: PathBuf, config: &LocalLlmConfig, load_pause: Duration) -> Llm {
        if self.inner.provider == Provider::Server {
            return self;
        }
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        };
        let sequences = config.sequences.max(1);
        let settings = local::Settings {
            context_tokens: config.context_tokens,
            sequences,
            threads: i32::try_from(threads).unwrap_or(1),
            unload_after: Duration::from_secs(config.unload_after_secs),
            max_answer_tokens: config.max_answer_tokens.into(),
            dry_multiplier: config.dry_multiplier,
            load_pause,
        };
        let local = Local::new(path, settings);
        // The engine decodes its sequences together, so a chat needs no preemption: it needs
        // a free sequence, which jobs never take the last of.
        let gate = Gate::new(sequences as usize).keep_for_chat(1);
        self.rebuild(|inner| {
            inner.local = Some(local);
            inner.local_gate = gate;
        })
    }

    /// A copy of the client with one change.
    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Llm {
        let i = &self.inner;
        let mut inner = Inner {
            http: i.http.clone(),
            url: i.url.clone(),
            model: i.model.clone(),
            auth: i.auth.clone(),
            connect: i.connect,
            first_token: i.first_token,
            idle: i.idle,
            gate: i.gate.clone(),
            mode: i.mode,
            schema_refused: AtomicBool::new(i.schema_refused.load(Ordering::Relaxed)),
            provider: i.provider,
            local: i.local.clone(),
            local_gate: i.local_gate.clone(),
            chosen: Mutex::new(None),
            context_tokens: i.context_tokens,
            window: Mutex::new(window::Known::default()),
        };
        change(&mut inner);
        Llm {
            inner: Arc::new(inner),
        }
    }

    /// Which model answers now, and how the local model is (`llm_info`).
    pub async fn info(&self) -> mentor_shared::protocol::LlmInfo {
        use mentor_shared::protocol::{LlmInfo, LocalModelInfo};
        let i = &self.inner;
        let choice = self.choice().await;
        let local = i.local.as_ref().map(|local| {
            let path = local.path().display().to_string();
            let (state, percent, name, problem) = match local.status() {
                LocalStatus::Unloaded => ("unloaded", None, None, None),
                LocalStatus::Loading(p) => ("loading", Some(p), None, None),
                LocalStatus::Ready(name) => ("ready", None, Some(name), None),
                LocalStatus::Failed(why) => ("failed", None, None, Some(why)),
            };
            LocalModelInfo {
                path,
                installed: local.installed(),
                state: state.into(),
                percent,
                name,
                problem,
            }
        });
        let configured = match i.provider {
            Provider::Auto => "auto",
            Provider::Server => "openai",
            Provider::Local => "local",
        };
        let (provider, model, location) = match (choice, &local) {
            (Choice::Local, Some(l)) => {
                let file = std::path::Path::new(&l.path)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                ("local", l.name.clone().unwrap_or(file), l.path.clone())
            }
            _ => ("openai", i.model.clone(), i.url.clone()),
        };
        LlmInfo {
            configured: configured.into(),
            provider: provider.into(),
            model,
            location,
            local,
        }
    }

    /// The local model, when there is one.
    pub fn local(&self) -> Option<&Local> {
        self.inner.local.as_ref()
    }

    /// Which model answers now: for `auto`, the server when its port answers, else the
    /// local model when its file is there, else the server (whose error then says what is
    /// wrong). Decided again after [`CHOICE_FOR`].
    pub async fn choice(&self) -> Choice {
        let i = &self.inner;
        let local_installed = i.local.as_ref().is_some_and(Local::installed);
        match i.provider {
            Provider::Server => return Choice::Server,
            Provider::Local if i.local.is_some() => return Choice::Local,
            Provider::Local => return Choice::Server,
            Provider::Auto if !local_installed => return Choice::Server,
            Provider::Auto => {}
        }
        if let Ok(chosen) = i.chosen.lock() {
            if let Some((at, choice)) = *chosen {
                if at.elapsed() < CHOICE_FOR {
                    return choice;
                }
            }
        }
        let choice = if mentor_shared::net::reachable(&i.url, PROBE_FOR.min(i.connect)).await {
            Choice::Server
        } else {
            Choice::Local
        };
        if let Ok(mut chosen) = i.chosen.lock() {
            if chosen.map(|(_, c)| c) != Some(choice) {
                tracing::info!(?choice, url = %i.url, "model provider chosen (llm.provider = auto)");
            }
            *chosen = Some((Instant::now(), choice));
        }
        choice
    }

    /// The same client with other deadlines (tests use fractions of a second). Errors report
    /// the limits rounded up to whole seconds.
    pub fn with_timeouts(self, connect: Duration, first_token: Duration, idle: Duration) -> Llm {
        let http = Clients::new(connect).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot rebuild the HTTP client; keeping the connect timeout");
            self.inner.http.clone()
        });
        self.rebuild(|inner| {
            inner.http = http;
            inner.connect = connect;
            inner.first_token = first_token;
            inner.idle = idle;
        })
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

    /// Sends a prepared body (see [`wire::body`]) to the server, or hands it to the local
    /// model.
    async fn open(&self, body: serde_json::Value, priority: Priority) -> Result<Stream, ApiError> {
        if let (Choice::Local, Some(local)) = (self.choice().await, &self.inner.local) {
            let i = &self.inner;
            let permit = i.local_gate.acquire(priority).await;
            let answer = local.open(body, priority)?;
            let limits = stream::Limits {
                started: Instant::now(),
                first_token: i.first_token,
                idle: i.idle,
            };
            let label = local.path().display().to_string();
            return Ok(Stream::local(answer, permit, label, limits));
        }
        let i = &self.inner;
        let url = i.url.as_str();
        let mut body = body;
        if let Some(n) = self.num_ctx() {
            body["options"] = serde_json::json!({ "num_ctx": n });
        }
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
        let preempted = permit.preempted().clone();
        let opened = tokio::select! {
            biased;
            _ = preempted.cancelled() => {
                events.close();
                return Err(ApiError::LlmPreempted);
            }
            opened = tokio::time::timeout_at(started + i.first_token, events.next()) => opened,
        };
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
