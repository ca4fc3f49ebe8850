//! The thread that owns the local model: llama.cpp (through `llama-cpp-2`) on the CPU. It
//! loads the model on the first request (or when asked to preload), answers requests one at
//! a time, reuses the part of the previous prompt that the next one starts with (the system
//! prompt and history of a conversation are not read again), and drops the model after
//! `llm.local.unload_after_secs` without a request.
//!
//! Each answer goes back as OpenAI stream chunks, so [`super::super::Stream`] assembles it
//! exactly as it does a server's.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::Ordering;
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
use super::{Command, Item, Job, Shared, Status};

/// Prompt tokens decoded at once: small enough that a cancel is noticed within a fraction of
/// a second however long the prompt.
const PREFILL_CHUNK: usize = 128;

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

/// Answers requests until the model has been idle for the unload delay, or the daemon goes.
fn serve(shared: &Shared, loaded: &Loaded, first: Command, commands: &Receiver<Command>) {
    let settings = &shared.settings;
    let Ok(backend) = backend() else { return };
    // No more than the model was trained for: beyond it, answers fall apart.
    let trained = loaded.model.n_ctx_train();
    let context_tokens = if trained > 0 {
        settings.context_tokens.min(trained)
    } else {
        settings.context_tokens
    };
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(context_tokens))
        .with_n_batch(PREFILL_CHUNK as u32)
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
    let mut session = Session {
        loaded,
        max_answer_tokens: settings.max_answer_tokens,
        cached: Vec::new(),
    };
    let mut next = Some(first);
    loop {
        match next.take() {
            Some(Command::Generate(job)) => {
                shared.busy.store(true, Ordering::Release);
                session.answer(&mut context, &job);
                shared.busy.store(false, Ordering::Release);
            }
            Some(Command::Load) => {}
            None => {}
        }
        match commands.recv_timeout(settings.unload_after) {
            Ok(command) => next = Some(command),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The context's state between requests.
struct Session<'a> {
    loaded: &'a Loaded,
    /// The answer's length limit when the request sets none.
    max_answer_tokens: u64,
    /// The tokens whose keys and values the context holds, in order.
    cached: Vec<LlamaToken>,
}

/// Why generation stopped.
enum Stop {
    Done,
    Length,
    Cancelled,
}

impl Session<'_> {
    fn answer(&mut self, context: &mut LlamaContext<'_>, job: &Job) {
        if !job.send(Item::Started) {
            return; // the asker has gone
        }
        match self.generate(context, job) {
            Ok(()) => {}
            Err(message) => {
                // What the context holds is unknown after a failure: start afresh next time.
                context.clear_kv_cache();
                self.cached.clear();
                job.fail(&message);
            }
        }
    }

    fn generate(&mut self, context: &mut LlamaContext<'_>, job: &Job) -> Result<(), String> {
        let started = Instant::now();
        let model = &self.loaded.model;
        let vocab = model.vocab();
        let request = Request::from_body(&job.body);
        let prompt = self
            .loaded
            .template
            .render(&request.messages, &request.tools)?;
        let bos =
            String::from_utf8_lossy(&vocab.token_to_piece(vocab.bos(), true, None)).into_owned();
        let add_bos = vocab.should_add_bos() && (bos.is_empty() || !prompt.starts_with(&bos));
        let tokens = vocab.tokenize(prompt.as_bytes(), add_bos, true);
        let n_ctx = context.n_ctx() as usize;
        if tokens.len() + 1 >= n_ctx {
            return Err(format!(
                "the prompt has {} tokens and the local model's context holds {n_ctx}; \
                 raise llm.local.context_tokens or lower chat.history_budget_tokens and \
                 chat.passages_budget_tokens",
                tokens.len()
            ));
        }
        // Reuse what the context already holds of this prompt; at least one token is decoded
        // again so that there are logits to sample from.
        let common = self
            .cached
            .iter()
            .zip(&tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len() - 1);
        if context
            .clear_kv_cache_seq(Some(0), Some(common as u32), None)
            .map_err(|e| format!("the local model's cache: {e}"))?
        {
            self.cached.truncate(common);
        } else {
            context.clear_kv_cache();
            self.cached.clear();
        }
        let reused = self.cached.len();
        let mut batch = LlamaBatch::new(PREFILL_CHUNK, 1);
        for chunk in tokens[reused..].chunks(PREFILL_CHUNK) {
            if job.cancelled() {
                return Ok(());
            }
            batch.clear();
            let last = chunk.len() - 1;
            for (i, &token) in chunk.iter().enumerate() {
                let pos = (self.cached.len() + i) as i32;
                batch
                    .add(token, pos, &[0], i == last)
                    .map_err(|e| format!("the local model's batch: {e}"))?;
            }
            context
                .decode(&mut batch)
                .map_err(|e| format!("the local model failed to read the prompt: {e}"))?;
            self.cached.extend_from_slice(chunk);
        }
        let prompt_ms = started.elapsed().as_millis() as u64;

        let mut sampler = request.sampler(model)?;
        let mut splitter = Splitter::default();
        let mut text = Utf8Buffer::default();
        let mut pieces = Vec::new();
        let mut calls = 0usize;
        let mut generated = 0u64;
        // A JSON answer is bounded by its grammar (and the context), not by the reply limit.
        let limit = match (request.max_tokens, &request.schema) {
            (Some(n), _) => n,
            (None, Some(_)) => u64::MAX,
            (None, None) => self.max_answer_tokens,
        };
        let decode_started = Instant::now();
        let stop = loop {
            if job.cancelled() {
                break Stop::Cancelled;
            }
            if generated >= limit || self.cached.len() + 1 >= n_ctx {
                break Stop::Length;
            }
            let token = sampler.sample(context, batch.n_tokens() - 1);
            if vocab.is_eog(token) && !request.ignore_eos {
                break Stop::Done;
            }
            generated += 1;
            let piece = text.push(&vocab.token_to_piece(token, false, None));
            splitter.push(&piece, &mut pieces);
            if !self.send(job, &mut pieces, &mut calls) {
                break Stop::Cancelled;
            }
            batch.clear();
            batch
                .add(token, self.cached.len() as i32, &[0], true)
                .map_err(|e| format!("the local model's batch: {e}"))?;
            context
                .decode(&mut batch)
                .map_err(|e| format!("the local model failed: {e}"))?;
            self.cached.push(token);
        };
        let decode_secs = decode_started.elapsed().as_secs_f64();
        tracing::debug!(
            prompt_tokens = tokens.len(),
            reused_tokens = reused,
            prompt_ms,
            completion_tokens = generated,
            tokens_per_sec = if decode_secs > 0.0 {
                generated as f64 / decode_secs
            } else {
                0.0
            },
            "local model answer"
        );
        if matches!(stop, Stop::Cancelled) {
            return Ok(());
        }
        splitter.push(&text.finish(), &mut pieces);
        splitter.finish(&mut pieces);
        if !self.send(job, &mut pieces, &mut calls) {
            return Ok(());
        }
        let finish = match stop {
            Stop::Length => "length",
            _ if calls > 0 => "tool_calls",
            _ => "stop",
        };
        job.send(Item::Data(
            json!({
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                "usage": {"prompt_tokens": tokens.len(), "completion_tokens": generated},
            })
            .to_string(),
        ));
        job.send(Item::Data("[DONE]".into()));
        Ok(())
    }

    /// Sends the pieces as chunks; false once nobody listens.
    fn send(&self, job: &Job, pieces: &mut Vec<Piece>, calls: &mut usize) -> bool {
        for piece in pieces.drain(..) {
            if !job.send(Item::Data(chunk(piece, calls).to_string())) {
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
    /// constrained to the schema's grammar when there is one.
    fn sampler(&self, model: &LlamaModel) -> Result<LlamaSampler, String> {
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
