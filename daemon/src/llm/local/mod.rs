//! The local provider: a GGUF model run inside `mentord` by llama.cpp, on the CPU, behind the
//! same [`super::Stream`] as a model server. One thread owns the model (see [`engine`]); a
//! request is the OpenAI body a server would get, and its answer comes back as the chunks a
//! server would stream. So tool calls, structured output (constrained by a grammar made from
//! the schema), the deadlines, the gate and cancellation work as they do over HTTP.

mod engine;
mod template;
mod tool_calls;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use mentor_shared::ApiError;
use serde_json::Value;

use super::Priority;

/// What the local model is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not in memory (never loaded, or unloaded after being idle).
    Unloaded,
    /// Being read, with the percentage done.
    Loading(u8),
    /// In memory, with its name.
    Ready(String),
    /// The last load failed, with why.
    Failed(String),
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Tokens the context holds in all (each sequence has an even share).
    pub context_tokens: u32,
    /// Requests answered at once, each in its own sequence.
    pub sequences: u32,
    /// CPU threads.
    pub threads: i32,
    /// Idle time before the model is dropped from memory.
    pub unload_after: Duration,
    /// Tokens one answer may have when the request sets no `max_tokens`.
    pub max_answer_tokens: u64,
    /// The DRY penalty's multiplier for replies in words (`llm.local.dry_multiplier`; 0 off).
    pub dry_multiplier: f32,
    /// A pause at 0 % before every load (tests of the loading progress; zero otherwise).
    pub load_pause: Duration,
}

/// The local model: cheap to clone, one engine thread per daemon.
#[derive(Clone)]
pub struct Local {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("path", &self.shared.path)
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    settings: Settings,
    status: Arc<Mutex<Status>>,
    /// Requests being answered (sequences in use).
    answering: AtomicUsize,
}

impl Shared {
    fn set_status(&self, status: Status) {
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
    }

    /// A callback for llama.cpp's loading progress.
    fn progress_sink(&self) -> impl FnMut(f32) + 'static {
        let status = self.status.clone();
        move |p| {
            let percent = (p.clamp(0.0, 1.0) * 100.0) as u8;
            if let Ok(mut s) = status.lock() {
                *s = Status::Loading(percent);
            }
        }
    }
}

enum Command {
    /// Load the model now, so the first request does not wait for it.
    Load,
    Generate(Job),
}

/// One request to the engine.
struct Job {
    body: Value,
    priority: Priority,
    /// Unbounded: one slow reader must not hold up the other sequences' decoding. An answer
    /// is bounded by its sequence's share of the context.
    events: tokio::sync::mpsc::UnboundedSender<Item>,
    cancel: Arc<AtomicBool>,
}

impl Job {
    /// Hands over an item; false once the reader is gone.
    fn send(&self, item: Item) -> bool {
        self.events.send(item).is_ok()
    }

    fn fail(&self, message: &str) {
        self.send(Item::Error(message.to_string()));
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.events.is_closed()
    }
}

/// What the engine sends back for a request.
#[derive(Debug)]
pub enum Item {
    /// The model is loaded and this request's turn has come: the wait for the first token
    /// starts now, not while the model was loading or another request was answered.
    Started,
    /// One `data:` payload, as a server would stream it (a chunk, or `[DONE]`).
    Data(String),
    /// The request failed.
    Error(String),
}

/// A request's answer, as it comes. Dropping it stops the generation.
pub struct Answer {
    pub(crate) items: tokio::sync::mpsc::UnboundedReceiver<Item>,
    cancel: Arc<AtomicBool>,
}

impl Answer {
    /// Stops the generation (it stops within a token) and takes nothing more.
    pub fn close(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.items.close();
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(0);

fn next_call_id() -> u64 {
    NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed)
}

/// A missing file, or one that is not GGUF, as the error the learner sees.
fn check_file(path: &Path) -> Result<(), String> {
    engine::check_magic(path)
}

impl Local {
    /// The engine for the model at `path`; nothing is loaded until [`Local::preload`] or the
    /// first request.
    pub fn new(path: PathBuf, settings: Settings) -> Local {
        let shared = Arc::new(Shared {
            path,
            settings,
            status: Arc::new(Mutex::new(Status::Unloaded)),
            answering: AtomicUsize::new(0),
        });
        let (commands, receiver) = mpsc::channel();
        let thread_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("mentor-local-model".into())
            .spawn(move || engine::run(&thread_shared, receiver));
        if let Err(e) = spawned {
            shared.set_status(Status::Failed(format!(
                "cannot start the model's thread: {e}"
            )));
        }
        Local { shared, commands }
    }

    /// Tokens one request may have (its sequence's share of the context).
    pub fn window(&self) -> u32 {
        let s = &self.shared.settings;
        s.context_tokens / s.sequences.max(1)
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether the model file is there (it may still fail to load).
    pub fn installed(&self) -> bool {
        self.shared.path.is_file()
    }

    /// What the model is doing now.
    pub fn status(&self) -> Status {
        self.shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or(Status::Unloaded)
    }

    /// How many requests the model answers at once.
    pub fn sequences(&self) -> u32 {
        self.shared.settings.sequences.max(1)
    }

    /// Whether the model is answering a request now (a cancelled answer stops within a
    /// token).
    pub fn busy(&self) -> bool {
        self.answering() > 0
    }

    /// How many requests the model is answering now, each in its own sequence (a cancelled
    /// one leaves within a decode step).
    pub fn answering(&self) -> usize {
        self.shared.answering.load(Ordering::Acquire)
    }

    /// Loads the model in the background, if it is not in memory.
    pub fn preload(&self) {
        let _ = self.commands.send(Command::Load);
    }

    /// Starts answering an OpenAI request body; a chat's prompt is read before any job's
    /// next token. Errors only when the file is missing or not a model; anything later comes
    /// through the answer.
    pub fn open(&self, body: Value, priority: Priority) -> Result<Answer, ApiError> {
        check_file(&self.shared.path).map_err(|reason| self.error(reason))?;
        let (events, items) = tokio::sync::mpsc::unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            body,
            priority,
            events,
            cancel: cancel.clone(),
        };
        self.commands
            .send(Command::Generate(job))
            .map_err(|_| self.error("the local model's thread has stopped".into()))?;
        Ok(Answer { items, cancel })
    }

    /// The error for `reason`, naming the file.
    pub fn error(&self, reason: String) -> ApiError {
        let path = self.shared.path.display().to_string();
        if self.installed() {
            ApiError::LocalModel { path, reason }
        } else {
            ApiError::LocalModelMissing { path }
        }
    }
}
