//! The thread that owns the local model: llama.cpp (through `llama-cpp-2`) on the CPU. It
//! loads the model on the first request (or when asked to preload) and drops it after
//! `llm.local.unload_after_secs` without a request.
//!
//! One context holds `llm.local.sequences` sequences, each with its own share of the KV
//! cache (`llm.local.context_tokens / sequences` tokens: llama.cpp's split, not unified,
//! cache), and answers that many requests at once by continuous batching: every decode step
//! is one batch with the next token of each answering sequence. A chat comes first: while its
//! prompt is read no job token is decoded, so a job delays a chat's first token by at most
//! the one step that was in flight when it came; then both advance in the same batches. Each
//! sequence keeps what it holds between requests, and a new request gets the free sequence
//! whose cache shares the longest prefix with its prompt (a conversation's system prompt and
//! history, a quiz's passages, are not read again). A cancelled request leaves its sequence
//! at the next step; the others go on.
//!
//! Each answer goes back as OpenAI stream chunks, so [`super::super::Stream`] assembles it
//! exactly as it does a server's.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use serde_json::{json, Value};

use super::template::ChatTemplate;
use super::tool_calls::{Piece, Splitter};
use super::{Command, Item, Job, Settings, Shared, Status};
use crate::llm::Priority;

/// The backend, initialised once per process.
fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| format!("cannot start llama.cpp: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The engine thread's body.
pub(super) fn run(shared: &Shared, commands: Receiver<Command>) {
    while let Ok(first) = commands.recv() {
        let loaded = match load(shared) {
            Ok(loaded) => loaded,
            Err(message) => {
                shared.set_status(Status::Failed(message.clone()));
                if let Command::Generate(job) = first {
                    job.fail(&message);
                }
                continue;
            }
        };
        serve(shared, &loaded, first, &commands);
        tracing::info!(model = %shared.path.display(), "local model unloaded");
        shared.set_status(Status::Unloaded);
    }
}

/// A loaded model with what is needed to prompt it.
struct Loaded {
    model: LlamaModel,
    template: ChatTemplate,
}

fn load(shared: &Shared) -> Result<Loaded, String> {
    let path = &shared.path;
    super::check_file(path)?;
    let backend = backend()?;
    shared.set_status(Status::Loading(0));
    std::thread::sleep(shared.settings.load_pause);
    let started = Instant::now();
    let mut progress = shared.progress_sink();
    let params = LlamaModelParams::default().with_progress_callback(move |p| {
        progress(p);
        true
    });
    // Every layer on the GPU when built with one.
    #[cfg(any(feature = "cuda", feature = "vulkan"))]
    let params = params.with_n_gpu_layers(1000);
    let model = LlamaModel::load_from_file(backend, path, &params).map_err(|e| {
        format!(
            "cannot load the local model {}: {e}. The file may be damaged or not a model \
             llama.cpp supports; install it again (./install.sh --model PATH) or point \
             llm.local.model at another GGUF file",
            path.display()
        )
    })?;
    let vocab = model.vocab();
    let special =
        |t: LlamaToken| String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned();
    let template_source = model.meta_val_str("tokenizer.chat_template").ok();
    let template = ChatTemplate::new(
        template_source.as_deref(),
        &special(vocab.bos()),
        &special(vocab.eos()),
    )?;
    let name = model
        .meta_val_str("general.name")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    tracing::info!(
        model = %path.display(),
        name = %name,
        parameters = model.n_params(),
        bytes = model.size(),
        load_ms = started.elapsed().as_millis() as u64,
        "local model loaded"
    );
    shared.set_status(Status::Ready(name.clone()));
    Ok(Loaded { model, template })
}

/// Tokens each sequence holds: an even share of `context_tokens`, at most what the model was
/// trained for (beyond it, answers fall apart).
pub(super) fn sequence_window(context_tokens: u32, sequences: u32, trained: u32) -> u32 {
    let share = context_tokens / sequences.max(1);
    if trained > 0 {
        share.min(trained)
    } else {
        share
    }
}

/// Answers requests until the model has been idle for the unload delay, or the daemon goes.
fn serve(shared: &Shared, loaded: &Loaded, first: Command, commands: &Receiver<Command>) {
    let settings = &shared.settings;
    let Ok(backend) = backend() else { return };
    let sequences = settings.sequences.max(1);
    let window = sequence_window(
        settings.context_tokens,
        sequences,
        loaded.model.n_ctx_train(),
    );
    // Room for a chunk of prompt and one token of every other sequence in one batch.
    let batch = (CHAT_PREFILL_CHUNK + sequences as usize) as u32;
    let params = LlamaContextParams::default();
    // On the CPU, llama.cpp's flash attention decodes slower once the context is long (41
    // against 68 tokens/s for SmolLM2-135M at 3,200 tokens, 2 cores; docs/performance.md).
    #[cfg(not(any(feature = "cuda", feature = "vulkan")))]
    let params = params.with_flash_attention_policy(FLASH_ATTENTION_OFF);
    let params = params
        .with_n_ctx(NonZeroU32::new(window * sequences))
        .with_n_seq_max(sequences)
        .with_n_batch(batch)
        .with_n_ubatch(batch)
        .with_n_threads(settings.threads)
        .with_n_threads_batch(settings.threads);
    let mut context = match loaded.model.new_context(backend, params) {
        Ok(context) => context,
        Err(e) => {
            let message = format!("cannot prepare the local model: {e}");
            shared.set_status(Status::Failed(message.clone()));
            if let Command::Generate(job) = first {
                job.fail(&message);
            }
            return;
        }
    };
    tracing::debug!(sequences, window, "local model context ready");
    let mut scheduler = Scheduler::new(
        loaded,
        window as usize,
        sequences,
        settings,
        &shared.answering,
    );
    let mut next = Some(first);
    loop {
        if let Some(command) = next.take() {
            scheduler.take(command);
        }
        while let Ok(command) = commands.try_recv() {
            scheduler.take(command);
        }
        if scheduler.idle() {
            match commands.recv_timeout(settings.unload_after) {
                Ok(command) => next = Some(command),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
            continue;
        }
        scheduler.step(&mut context);
    }
}

/// llama.cpp's `LLAMA_FLASH_ATTN_TYPE_DISABLED`.
#[cfg(not(any(feature = "cuda", feature = "vulkan")))]
const FLASH_ATTENTION_OFF: i32 = 0;

/// The shortest cached prefix worth reusing: less (a chat template's first line) and a
/// request takes a sequence by whom it last answered instead.
const MIN_REUSE: usize = 64;

/// Prompt tokens of a chat read in one decode step: the chat's prompt is read alone, in steps
/// short enough that a cancel is noticed within a fraction of a second however long it is.
const CHAT_PREFILL_CHUNK: usize = 128;
/// Prompt tokens of a job read in one decode step while no chat is answered: small, so that
/// a chat arriving meanwhile waits for little more than a token's decoding.
const JOB_PREFILL_CHUNK: usize = 64;
/// Prompt tokens of a job read in one decode step while a chat is answered, beside the
/// chat's token: the chat's tokens keep coming at nearly their own pace.
const JOB_PREFILL_CHUNK_BESIDE_CHAT: usize = 16;

/// The sequences of the context, and the requests waiting for one.
///
/// Each step builds one batch: while a chat's prompt is being read, that alone (so a chat's
/// first token waits for at most the one step in flight when it came); otherwise the next
/// token of every sequence that is answering, plus a chunk of a job's prompt.
struct Scheduler<'m> {
    loaded: &'m Loaded,
    /// Tokens one sequence holds.
    window: usize,
    max_answer_tokens: u64,
    /// The DRY penalty's multiplier for replies in words (0: off).
    dry_multiplier: f32,
    slots: Vec<Slot>,
    /// Requests that came while every sequence was busy, in order of arrival.
    waiting: VecDeque<Job>,
    batch: LlamaBatch<'static>,
    /// Counts admissions, to tell which free sequence was used least recently.
    clock: u64,
    /// Where the count of answering sequences is published ([`super::Local::answering`]).
    answering: &'m AtomicUsize,
}

/// One sequence of the context.
struct Slot {
    seq: i32,
    /// The tokens whose keys and values this sequence holds, in order: the next request
    /// given this sequence reuses what its prompt shares with them.
    cached: Vec<LlamaToken>,
    /// When it was last given a request ([`Scheduler::clock`]).
    used: u64,
    /// Whom it last answered.
    last_priority: Option<Priority>,
    active: Option<Active>,
}

/// A request being answered.
struct Active {
    job: Job,
    prompt: Vec<LlamaToken>,
    /// Prompt tokens in the cache: the prompt is being read until `read == prompt.len()`.
    read: usize,
    /// Prompt tokens found in the cache already.
    reused: usize,
    /// The token sampled last, to be decoded in the next step.
    pending: Option<LlamaToken>,
    sampler: LlamaSampler,
    splitter: Splitter,
    text: Utf8Buffer,
    pieces: Vec<Piece>,
    calls: usize,
    generated: u64,
    limit: u64,
    ignore_eos: bool,
    started: Instant,
    /// When the prompt was read.
    decoding_since: Option<Instant>,
}

impl Active {
    fn reading(&self) -> bool {
        self.read < self.prompt.len()
    }
}

/// Why generation stopped.
enum Stop {
    Done,
    Length,
    Cancelled,
}

/// A piece of the batch: tokens of one slot, and where its logits are (if it has any).
struct Planned {
    slot: usize,
    /// The slot's tokens in the batch: a range of its prompt, or its pending token.
    tokens: Vec<LlamaToken>,
    logits_at: Option<i32>,
}

impl<'m> Scheduler<'m> {
    fn new(
        loaded: &'m Loaded,
        window: usize,
        sequences: u32,
        settings: &Settings,
        answering: &'m AtomicUsize,
    ) -> Self {
        Scheduler {
            loaded,
            window,
            max_answer_tokens: settings.max_answer_tokens,
            dry_multiplier: settings.dry_multiplier,
            slots: (0..sequences)
                .map(|seq| Slot {
                    seq: seq as i32,
                    cached: Vec::new(),
                    used: 0,
                    last_priority: None,
                    active: None,
                })
                .collect(),
            waiting: VecDeque::new(),
            batch: LlamaBatch::new(CHAT_PREFILL_CHUNK + sequences as usize, 1),
            clock: 0,
            answering,
        }
    }

    fn take(&mut self, command: Command) {
        if let Command::Generate(job) = command {
            self.waiting.push_back(job);
        }
    }

    /// Publishes how many sequences answer a request, after one started or ended.
    fn count(&self) {
        let n = self.slots.iter().filter(|s| s.active.is_some()).count();
        self.answering.store(n, Ordering::Release);
    }

    /// Nothing to answer and nobody waiting.
    fn idle(&self) -> bool {
        self.waiting.is_empty() && self.slots.iter().all(|s| s.active.is_none())
    }

    /// One decode step: let go of cancelled requests, give free sequences to waiting ones
    /// (chats first), decode one batch, sample what it made.
    fn step(&mut self, context: &mut LlamaContext<'_>) {
        for i in 0..self.slots.len() {
            if self.slots[i]
                .active
                .as_ref()
                .is_some_and(|a| a.job.cancelled())
            {
                self.finish(i, Stop::Cancelled);
            }
        }
        self.admit(context);
        let plan = self.plan();
        if plan.is_empty() {
            return;
        }
        if let Err(message) = self.decode(context, &plan) {
            // What these sequences hold is unknown after a failure: they start afresh.
            for p in &plan {
                let slot = &mut self.slots[p.slot];
                let _ = context.clear_kv_cache_seq(Some(slot.seq as u32), None, None);
                slot.cached.clear();
                if let Some(active) = slot.active.take() {
                    active.job.fail(&message);
                }
            }
            self.count();
            return;
        }
        for p in plan {
            let slot = &mut self.slots[p.slot];
            slot.cached.extend_from_slice(&p.tokens);
            let Some(active) = slot.active.as_mut() else {
                continue;
            };
            if active.reading() {
                active.read += p.tokens.len();
                if !active.reading() {
                    active.decoding_since = Some(Instant::now());
                }
            } else {
                active.pending = None;
            }
            if let Some(at) = p.logits_at {
                self.sample(context, p.slot, at);
            }
        }
    }

    /// Gives free sequences to waiting requests, chats first, each the free sequence whose
    /// cache shares most with its prompt.
    fn admit(&mut self, context: &mut LlamaContext<'_>) {
        while self.slots.iter().any(|s| s.active.is_none()) {
            let next = self
                .waiting
                .iter()
                .position(|j| j.priority == Priority::Chat)
                .or(if self.waiting.is_empty() {
                    None
                } else {
                    Some(0)
                });
            let Some(job) = next.and_then(|i| self.waiting.remove(i)) else {
                return;
            };
            if job.cancelled() {
                continue;
            }
            if let Err(message) = self.start(context, job) {
                tracing::debug!(error = %message, "local model request refused");
            }
        }
    }

    /// Prepares `job`'s prompt in the best free sequence.
    fn start(&mut self, context: &mut LlamaContext<'_>, job: Job) -> Result<(), String> {
        let fail = |job: &Job, message: String| {
            job.fail(&message);
            Err(message)
        };
        let model = &self.loaded.model;
        let vocab = model.vocab();
        let request = Request::from_body(&job.body);
        let prompt = match self
            .loaded
            .template
            .render(&request.messages, &request.tools)
        {
            Ok(prompt) => prompt,
            Err(message) => return fail(&job, message),
        };
        let bos =
            String::from_utf8_lossy(&vocab.token_to_piece(vocab.bos(), true, None)).into_owned();
        let add_bos = vocab.should_add_bos() && (bos.is_empty() || !prompt.starts_with(&bos));
        let tokens = vocab.tokenize(prompt.as_bytes(), add_bos, true);
        if tokens.is_empty() || tokens.len() + 1 >= self.window {
            let message = format!(
                "the prompt has {} tokens and each of the local model's {} sequences holds \
                 {}; raise llm.local.context_tokens, lower llm.local.sequences, or lower \
                 chat.history_budget_tokens and chat.passages_budget_tokens",
                tokens.len(),
                self.slots.len(),
                self.window
            );
            return fail(&job, message);
        }
        let sampler = match request.sampler(model, self.dry_multiplier) {
            Ok(sampler) => sampler,
            Err(message) => return fail(&job, message),
        };
        // The free sequence whose cache shares the most with the prompt. When none shares a
        // worthwhile part, one last used at this priority (a job does not take the
        // conversation's cache), the least recently used of those. At least one token is
        // read again, for logits to sample from.
        let common = |slot: &Slot| {
            slot.cached
                .iter()
                .zip(&tokens)
                .take_while(|(a, b)| a == b)
                .count()
                .min(tokens.len() - 1)
        };
        let free = || (0..self.slots.len()).filter(|&i| self.slots[i].active.is_none());
        let reusing = free()
            .max_by_key(|&i| {
                (
                    common(&self.slots[i]),
                    std::cmp::Reverse(self.slots[i].used),
                )
            })
            .filter(|&i| common(&self.slots[i]) >= MIN_REUSE);
        let priority = job.priority;
        let Some(index) = reusing.or_else(|| {
            free().min_by_key(|&i| {
                let slot = &self.slots[i];
                (slot.last_priority.is_some_and(|p| p != priority), slot.used)
            })
        }) else {
            self.waiting.push_front(job);
            return Ok(());
        };
        if !job.send(Item::Started) {
            return Ok(()); // the asker has gone
        }
        self.clock += 1;
        let slot = &mut self.slots[index];
        slot.used = self.clock;
        slot.last_priority = Some(priority);
        let reused = common(slot);
        let seq = slot.seq as u32;
        match context.clear_kv_cache_seq(Some(seq), Some(reused as u32), None) {
            Ok(true) => slot.cached.truncate(reused),
            _ => {
                let _ = context.clear_kv_cache_seq(Some(seq), None, None);
                slot.cached.clear();
            }
        }
        let reused = slot.cached.len();
        // A JSON answer is bounded by its grammar (every string has a maxLength) and the
        // window, not by a token count: cut short, it would not parse, and a job's step needs
        // no bound here to make way for a chat (it is answered beside it).
        let limit = match (request.max_tokens, &request.schema) {
            (_, Some(_)) => u64::MAX,
            (Some(n), None) => n,
            (None, None) => self.max_answer_tokens,
        };
        slot.active = Some(Active {
            job,
            prompt: tokens,
            read: reused,
            reused,
            pending: None,
            sampler,
            splitter: Splitter::default(),
            text: Utf8Buffer::default(),
            pieces: Vec::new(),
            calls: 0,
            generated: 0,
            limit,
            ignore_eos: request.ignore_eos,
            started: Instant::now(),
            decoding_since: None,
        });
        self.count();
        Ok(())
    }

    /// What the next batch holds: a chat's prompt alone while one is being read; else every
    /// answering sequence's next token, and a chunk of a job's prompt.
    fn plan(&self) -> Vec<Planned> {
        let mut plan = Vec::new();
        let mut room = CHAT_PREFILL_CHUNK;
        let read = |plan: &mut Vec<Planned>, room: &mut usize, i: usize, a: &Active| {
            let n = (a.prompt.len() - a.read).min(*room);
            if n == 0 {
                return;
            }
            *room -= n;
            let last = a.read + n == a.prompt.len();
            plan.push(Planned {
                slot: i,
                tokens: a.prompt[a.read..a.read + n].to_vec(),
                logits_at: last.then_some(0),
            });
        };
        let actives = || {
            self.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.active.as_ref().map(|a| (i, a)))
        };
        for (i, a) in actives().filter(|(_, a)| a.reading() && a.job.priority == Priority::Chat) {
            read(&mut plan, &mut room, i, a);
        }
        if plan.is_empty() {
            for (i, a) in actives() {
                if let Some(token) = a.pending {
                    plan.push(Planned {
                        slot: i,
                        tokens: vec![token],
                        logits_at: Some(0),
                    });
                }
            }
            let chatting = actives().any(|(_, a)| a.job.priority == Priority::Chat);
            room = if chatting {
                JOB_PREFILL_CHUNK_BESIDE_CHAT
            } else {
                JOB_PREFILL_CHUNK
            };
            for (i, a) in actives().filter(|(_, a)| a.reading()) {
                read(&mut plan, &mut room, i, a);
            }
        }
        // Where each piece's logits land in the batch.
        let mut at = 0i32;
        for p in &mut plan {
            at += p.tokens.len() as i32;
            if p.logits_at.is_some() {
                p.logits_at = Some(at - 1);
            }
        }
        plan
    }

    fn decode(&mut self, context: &mut LlamaContext<'_>, plan: &[Planned]) -> Result<(), String> {
        self.batch.clear();
        for p in plan {
            let slot = &self.slots[p.slot];
            let last = p.tokens.len() - 1;
            for (k, &token) in p.tokens.iter().enumerate() {
                let pos = (slot.cached.len() + k) as i32;
                self.batch
                    .add(token, pos, &[slot.seq], k == last && p.logits_at.is_some())
                    .map_err(|e| format!("the local model's batch: {e}"))?;
            }
        }
        context
            .decode(&mut self.batch)
            .map_err(|e| format!("the local model failed: {e}"))
    }

    /// Samples slot `i`'s next token from the logits at `at`, and sends what it adds.
    fn sample(&mut self, context: &LlamaContext<'_>, i: usize, at: i32) {
        let vocab = self.loaded.model.vocab();
        let window = self.window;
        let slot = &mut self.slots[i];
        let cached = slot.cached.len();
        let Some(a) = slot.active.as_mut() else {
            return;
        };
        let stop = 'sample: {
            if a.job.cancelled() {
                break 'sample Some(Stop::Cancelled);
            }
            if a.generated >= a.limit || cached + 1 >= window {
                break 'sample Some(Stop::Length);
            }
            let token = a.sampler.sample(context, at);
            if vocab.is_eog(token) && !a.ignore_eos {
                break 'sample Some(Stop::Done);
            }
            a.generated += 1;
            let piece = a.text.push(&vocab.token_to_piece(token, false, None));
            a.splitter.push(&piece, &mut a.pieces);
            if !a.send_pieces() {
                break 'sample Some(Stop::Cancelled);
            }
            a.pending = Some(token);
            None
        };
        if let Some(stop) = stop {
            self.finish(i, stop);
        }
    }

    /// Ends slot `i`'s request: the rest of its answer and its end, unless it was cancelled.
    fn finish(&mut self, i: usize, stop: Stop) {
        let Some(mut a) = self.slots[i].active.take() else {
            return;
        };
        self.count();
        let decode_secs = a.decoding_since.map_or(0.0, |t| t.elapsed().as_secs_f64());
        tracing::debug!(
            sequence = i,
            priority = ?a.job.priority,
            prompt_tokens = a.prompt.len(),
            reused_tokens = a.reused,
            prompt_ms = a
                .decoding_since
                .map(|t| t.duration_since(a.started).as_millis() as u64),
            completion_tokens = a.generated,
            tokens_per_sec = if decode_secs > 0.0 {
                a.generated as f64 / decode_secs
            } else {
                0.0
            },
            cancelled = matches!(stop, Stop::Cancelled),
            "local model answer"
        );
        if matches!(stop, Stop::Cancelled) {
            return;
        }
        let rest = a.text.finish();
        a.splitter.push(&rest, &mut a.pieces);
        a.splitter.finish(&mut a.pieces);
        if !a.send_pieces() {
            return;
        }
        let finish = match stop {
            Stop::Length => "length",
            _ if a.calls > 0 => "tool_calls",
            _ => "stop",
        };
        a.job.send(Item::Data(
            json!({
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                "usage": {"prompt_tokens": a.prompt.len(), "completion_tokens": a.generated},
            })
            .to_string(),
        ));
        a.job.send(Item::Data("[DONE]".into()));
    }
}

impl Active {
    /// Sends the pieces as chunks; false once nobody listens.
    fn send_pieces(&mut self) -> bool {
        for piece in self.pieces.drain(..) {
            if !self
                .job
                .send(Item::Data(chunk(piece, &mut self.calls).to_string()))
            {
                return false;
            }
        }
        true
    }
}

/// The stream chunk a server would send for `piece`; `calls` counts the answer's tool calls.
fn chunk(piece: Piece, calls: &mut usize) -> Value {
    let delta = match piece {
        Piece::Text(text) => json!({"content": text}),
        Piece::Call { name, arguments } => {
            let index = *calls;
            *calls += 1;
            json!({"tool_calls": [{
                "index": index,
                "id": format!("call_local_{}", super::next_call_id()),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }]})
        }
    };
    json!({"choices": [{"index": 0, "delta": delta}]})
}

/// What the engine takes from an OpenAI request body.
struct Request {
    messages: Vec<Value>,
    tools: Vec<Value>,
    schema: Option<Value>,
    temperature: Option<f32>,
    max_tokens: Option<u64>,
    /// Go on past the end of the answer (llama-server's `ignore_eos`; for benchmarks).
    ignore_eos: bool,
}

impl Request {
    fn from_body(body: &Value) -> Request {
        let list = |key: &str| body[key].as_array().cloned().unwrap_or_default();
        Request {
            messages: list("messages"),
            tools: list("tools"),
            schema: body
                .pointer("/response_format/json_schema/schema")
                .cloned()
                .map(|mut schema| {
                    bound_strings(&mut schema);
                    schema
                }),
            temperature: body["temperature"].as_f64().map(|t| t as f32),
            max_tokens: body["max_tokens"].as_u64(),
            ignore_eos: body["ignore_eos"].as_bool().unwrap_or(false),
        }
    }

    /// llama-server's default sampling (top-k 40, top-p 0.95, min-p 0.05, temperature 0.8),
    /// constrained to the schema's grammar when there is one; a reply in words (no schema,
    /// sampled) also gets the DRY penalty at `dry` (0: off), which makes a sequence that
    /// repeats what came before less likely the longer the repeat (llama.cpp's defaults for
    /// the rest: base 1.75, allowed length 2, the last 512 tokens, breakers at new lines,
    /// colons, quotes and asterisks).
    fn sampler(&self, model: &LlamaModel, dry: f32) -> Result<LlamaSampler, String> {
        let mut chain = Vec::new();
        if let Some(schema) = &self.schema {
            let grammar = llama_cpp_2::json_schema_to_grammar(&schema.to_string())
                .map_err(|e| format!("cannot turn the job's JSON Schema into a grammar: {e}"))?;
            chain.push(
                LlamaSampler::grammar(model, &grammar, "root")
                    .map_err(|e| format!("cannot use the job's grammar: {e}"))?,
            );
        }
        let temperature = self.temperature.unwrap_or(0.8);
        if temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            if self.schema.is_none() && dry > 0.0 {
                chain.push(LlamaSampler::dry(
                    model,
                    dry,
                    DRY_BASE,
                    DRY_ALLOWED_LENGTH,
                    DRY_LAST_N,
                    ["\n", ":", "\"", "*"],
                ));
            }
            chain.extend([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.95, 1),
                LlamaSampler::min_p(0.05, 1),
                LlamaSampler::temp(temperature),
                LlamaSampler::dist(fastrand::u32(..)),
            ]);
        }
        Ok(LlamaSampler::chain_simple(chain))
    }
}

/// DRY's base: how fast the penalty grows with the repeat's length.
const DRY_BASE: f32 = 1.75;
/// DRY's allowed length: repeats this long or shorter are not penalized.
const DRY_ALLOWED_LENGTH: i32 = 2;
/// DRY looks this many tokens back.
const DRY_LAST_N: i32 = 512;

/// The longest string the grammar lets the model write where the schema sets no limit. A
/// small model can repeat itself inside a string until the context is full; with a bound the
/// JSON always ends, and the validator (and one repair) deal with what it says.
const MAX_STRING: u64 = 600;

/// Adds `maxLength` to every string type of `schema` that has none.
fn bound_strings(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("string")
                && !map.contains_key("maxLength")
                && !map.contains_key("enum")
            {
                map.insert("maxLength".into(), json!(MAX_STRING));
            }
            for value in map.values_mut() {
                bound_strings(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(bound_strings),
        _ => {}
    }
}

/// Bytes of tokens into text: a character split between two tokens waits for its end.
#[derive(Default)]
struct Utf8Buffer(Vec<u8>);

impl Utf8Buffer {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.0.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.0) {
                Ok(s) => {
                    out.push_str(s);
                    self.0.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.0[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: keep it for the next token.
                        None => {
                            self.0.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.0.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.0).into_owned();
        self.0.clear();
        rest
    }
}

/// Reads the file's first bytes: a clear error for a missing file or one that is not GGUF.
pub(super) fn check_magic(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| {
        format!(
            "the local model {} cannot be opened: {e}; install one with ./install.sh (or \
             ./install.sh --model PATH), or set llm.local.model",
            path.display()
        )
    })?;
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == b"GGUF" => Ok(()),
        _ => Err(format!(
            "the local model {} is not a GGUF file (it does not start with \"GGUF\"); install \
             it again with ./install.sh --model PATH",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_get_a_length_limit_unless_they_have_one() {
        let mut schema = json!({"type": "object", "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "maxLength": 5},
            "c": {"type": "array", "items": {"type": "string"}},
            "d": {"type": "string", "enum": ["x", "y"]},
        }});
        bound_strings(&mut schema);
        let p = &schema["properties"];
        assert_eq!(p["a"]["maxLength"], MAX_STRING);
        assert_eq!(p["b"]["maxLength"], 5);
        assert_eq!(p["c"]["items"]["maxLength"], MAX_STRING);
        assert!(p["d"].get("maxLength").is_none());
    }

    /// The model's words, cut as tokens cut them, go through the splitter and out as chunks;
    /// the assembler that reads a server's stream rebuilds the text and both calls from them.
    #[test]
    fn tool_calls_in_the_models_words_reach_the_assembler_as_a_servers_would() {
        use crate::llm::assemble::{Assembler, Deltas};
        let said = "Let me make that.<tool_call>\n{\"name\": \"generate_artifact\", \
                    \"arguments\": {\"artifact_type\": \"quiz\", \"topic\": \"cells\"}}\n\
                    </tool_call>\n<tool_call>{\"name\": \"search_sources\", \"arguments\": \
                    {\"query\": \"mitosis\"}}</tool_call>";
        let mut splitter = Splitter::default();
        let mut pieces = Vec::new();
        let mut chars = said.chars().peekable();
        while chars.peek().is_some() {
            let token: String = chars.by_ref().take(3).collect();
            splitter.push(&token, &mut pieces);
        }
        splitter.finish(&mut pieces);
        let mut calls = 0;
        let mut assembler = Assembler::default();
        let mut deltas = Deltas::default();
        for piece in pieces {
            let data = chunk(piece, &mut calls).to_string();
            assembler
                .feed("local", &data, &mut deltas)
                .expect("a chunk the assembler reads");
        }
        assert_eq!(calls, 2);
        let done = assembler.completion();
        assert_eq!(done.text, "Let me make that.");
        let calls: Vec<(&str, Value)> = done
            .tool_calls
            .iter()
            .map(|c| {
                let args = serde_json::from_str(&c.arguments).expect("JSON arguments");
                (c.name.as_str(), args)
            })
            .collect();
        assert_eq!(
            calls,
            [
                (
                    "generate_artifact",
                    json!({"artifact_type": "quiz", "topic": "cells"})
                ),
                ("search_sources", json!({"query": "mitosis"})),
            ]
        );
        assert_ne!(done.tool_calls[0].id, done.tool_calls[1].id);
    }

    #[test]
    fn characters_split_between_tokens_are_joined() {
        let mut b = Utf8Buffer::default();
        let e = "é".as_bytes();
        assert_eq!(b.push(b"caf"), "caf");
        assert_eq!(b.push(&e[..1]), "");
        assert_eq!(b.push(&e[1..]), "é");
        assert_eq!(b.push(&[0xff, b'a']), "\u{fffd}a");
        assert_eq!(b.push(&e[..1]), "");
        assert_eq!(b.finish(), "\u{fffd}");
    }
}
