//! Configuration: one TOML file in the config directory, every key optional with a sensible
//! default, environment variables on top. Unknown keys and wrong types are errors that name
//! the file, the line and the key — a typo must never be silently ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Interface and teaching language (`en-US`, `fr-FR`); unset means: from the locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The model server.
    pub llm: LlmConfig,
    /// The conversation.
    pub chat: ChatConfig,
    /// The background job queue.
    pub jobs: JobsConfig,
    /// Source ingestion.
    pub sources: SourcesConfig,
    /// The daemon process.
    pub daemon: DaemonConfig,
    /// Speech for podcasts.
    pub tts: TtsConfig,
    /// Using what the jobs made.
    pub artifacts: ArtifactsConfig,
}

/// The OpenAI-compatible model server.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL of the OpenAI-compatible API (ends in `/v1`).
    pub base_url: String,
    /// Model name as the server knows it.
    pub model: String,
    /// API key; prefer the `MENTOR_LLM_API_KEY` environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Seconds to wait for the TCP connection.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for the first token (local models can be slow to load).
    pub first_token_timeout_secs: u64,
    /// Seconds allowed between two chunks of a streamed answer.
    pub idle_timeout_secs: u64,
    /// Model requests in flight at once (local servers often serve one at a time).
    pub max_concurrent: u32,
    /// Tokens one request to the server may have, prompt and answer together (a llama-server
    /// slot's `n_ctx`). 0: learn it from the server (llama.cpp `/props`, Ollama `/api/show`)
    /// or from its first overflow answer.
    pub context_tokens: u32,
    /// Milliseconds a chat request may wait at the gate while a job's request holds the
    /// place it needs; then that job request is cancelled (its step goes back to the queue,
    /// its attempt not counted) and the chat goes next. 0 turns preemption off.
    pub preempt_after_ms: u64,
    /// How jobs ask for JSON: `auto` (a `json_schema` response format, falling back to plain
    /// instructions when the server refuses it), `json_schema`, or `instructions`.
    pub structured_output: String,
    /// Which model answers: `auto` (the server at `base_url` when it is reachable, else the
    /// local model when one is installed), `openai` (always the server), `local` (always
    /// the local model).
    pub provider: String,
    /// The local model, run inside the daemon.
    pub local: LocalLlmConfig,
}

/// The local model (`[llm.local]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalLlmConfig {
    /// The GGUF file; empty: the one `./install.sh` installs (`<data dir>/models/local.gguf`).
    pub model: String,
    /// Tokens the model's context holds in all, shared out evenly among the sequences: each
    /// request (prompt and answer together) has `context_tokens / sequences`, at most what
    /// the model was trained for.
    pub context_tokens: u32,
    /// Requests the model answers at once, decoded together (at least a chat and a job).
    pub sequences: u32,
    /// CPU threads; 0: one per core.
    pub threads: u32,
    /// Seconds without a request before the model is dropped from memory.
    pub unload_after_secs: u64,
    /// Tokens one reply may have at most (a small model can go on and on); a job's JSON
    /// answer is bounded by its schema instead.
    pub max_answer_tokens: u32,
    /// The DRY ("don't repeat yourself") penalty on replies in words: how strongly a reply
    /// is kept from repeating what it said (llama.cpp's `dry_multiplier`); 0 turns it off.
    /// Jobs' JSON answers never get it.
    pub dry_multiplier: f32,
}

impl Default for LocalLlmConfig {
    fn default() -> Self {
        LocalLlmConfig {
            model: String::new(),
            context_tokens: 16_384,
            sequences: 2,
            threads: 0,
            unload_after_secs: 600,
            max_answer_tokens: 1024,
            dry_multiplier: DEFAULT_DRY_MULTIPLIER,
        }
    }
}

/// `llm.local.dry_multiplier` by default (see docs/performance.md, `quality`).
pub const DEFAULT_DRY_MULTIPLIER: f32 = 0.8;

/// The smallest window `llm.context_tokens` may set (other than 0, learn it).
pub const CONTEXT_MIN_TOKENS: u32 = 1_024;
/// The largest.
pub const CONTEXT_MAX_TOKENS: u32 = 1_048_576;

/// The shortest wait `llm.preempt_after_ms` may set (other than 0, off).
pub const PREEMPT_MIN_MS: u64 = 50;
/// The longest wait `llm.preempt_after_ms` may set.
pub const PREEMPT_MAX_MS: u64 = 600_000;
/// The most sequences the local model may decode at once.
pub const MAX_LOCAL_SEQUENCES: u32 = 16;
/// The smallest share of the local context one sequence may have: room for a chat's
/// system prompt, some history and an answer.
pub const MIN_SEQUENCE_TOKENS: u32 = 2048;

/// The providers `llm.provider` accepts.
pub const LLM_PROVIDERS: &str = "auto, openai, local";

// The API key must never reach a log: Debug redacts it.
impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("first_token_timeout_secs", &self.first_token_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("max_concurrent", &self.max_concurrent)
            .field("context_tokens", &self.context_tokens)
            .field("preempt_after_ms", &self.preempt_after_ms)
            .field("structured_output", &self.structured_output)
            .field("provider", &self.provider)
            .field("local", &self.local)
            .finish()
    }
}

/// The conversation with the teacher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Tool-call rounds allowed in one turn.
    pub max_tool_rounds: u32,
    /// Tokens of history sent to the model (the system prompt is never trimmed).
    pub history_budget_tokens: u32,
    /// Tokens of source passages put in the system prompt.
    pub passages_budget_tokens: u32,
}

/// The background job queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs run at once.
    pub concurrency: u32,
    /// Attempts before a job fails for good.
    pub max_attempts: u32,
    /// Seconds one attempt may run.
    pub timeout_secs: u64,
    /// Seconds a worker's claim on a job lasts without a heartbeat.
    pub lease_secs: u64,
    /// Delay before the first retry, in milliseconds (doubled each time, with jitter).
    pub retry_base_ms: u64,
    /// Longest delay between retries, in milliseconds.
    pub retry_max_ms: u64,
    /// Tokens of source passages given to each of a generator's requests.
    pub sources_budget_tokens: u32,
}

/// Adding sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    /// Largest file or download accepted, in bytes.
    pub max_bytes: u64,
    /// Characters per indexed chunk.
    pub chunk_chars: u32,
    /// Seconds allowed to fetch a URL.
    pub fetch_timeout_secs: u64,
}

/// The daemon process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// Largest protocol frame accepted, in bytes.
    pub max_frame_bytes: u32,
    /// Milliseconds a frame may take to arrive, from its first byte to its last. A client that
    /// stops in the middle of a frame for longer is disconnected.
    pub frame_timeout_ms: u64,
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace`).
    pub log_level: String,
}

/// Speech for podcasts.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsConfig {
    /// `espeak-ng` (local, offline), `openai` (any OpenAI-compatible `/v1/audio/speech`, e.g.
    /// a self-hosted Kokoro), or `none` (podcasts are transcripts only, and say so).
    pub engine: String,
    /// The espeak-ng program: a name looked up on `PATH`, or a path.
    pub program: String,
    /// espeak-ng voices of an English podcast's speakers (first host, second host).
    pub voices_en: Vec<String>,
    /// espeak-ng voices of a French podcast's speakers.
    pub voices_fr: Vec<String>,
    /// espeak-ng's speaking rate, in words per minute.
    pub words_per_minute: u32,
    /// Seconds one clip may take; a slower engine is taken as hung and stopped.
    pub timeout_secs: u64,
    /// Clips spoken at once (0: one per CPU core).
    pub parallel: u32,
    /// `openai` engine: base URL of the API (ends in `/v1`).
    pub base_url: String,
    /// `openai` engine: the speech model.
    pub model: String,
    /// `openai` engine: voices of an English podcast's speakers.
    pub openai_voices_en: Vec<String>,
    /// `openai` engine: voices of a French podcast's speakers.
    pub openai_voices_fr: Vec<String>,
    /// `openai` engine: API key; prefer the `MENTOR_TTS_API_KEY` environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

// The API key must never reach a log: Debug redacts it.
impl fmt::Debug for TtsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtsConfig")
            .field("engine", &self.engine)
            .field("program", &self.program)
            .field("voices_en", &self.voices_en)
            .field("voices_fr", &self.voices_fr)
            .field("words_per_minute", &self.words_per_minute)
            .field("timeout_secs", &self.timeout_secs)
            .field("parallel", &self.parallel)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("openai_voices_en", &self.openai_voices_en)
            .field("openai_voices_fr", &self.openai_voices_fr)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Using what the jobs made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArtifactsConfig {
    /// The command that plays a podcast (`mpv --no-video`, …), the file's path appended; empty:
    /// the first of mpv, ffplay, paplay, aplay, afplay found.
    pub player: String,
}

/// The speech engines Mentor knows.
pub const TTS_ENGINES: &str = "espeak-ng, openai, none";

impl Default for TtsConfig {
    fn default() -> Self {
        let voices = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        TtsConfig {
            engine: "espeak-ng".to_string(),
            program: "espeak-ng".to_string(),
            voices_en: voices(&["en-us+m3", "en-us+f3"]),
            voices_fr: voices(&["fr-fr+m3", "fr-fr+f3"]),
            words_per_minute: 165,
            timeout_secs: 120,
            parallel: 0,
            base_url: "http://127.0.0.1:8880/v1".to_string(),
            model: "kokoro".to_string(),
            openai_voices_en: voices(&["am_michael", "af_heart"]),
            openai_voices_fr: voices(&["ff_siwis", "ff_siwis"]),
            api_key: None,
        }
    }
}

/// Default model server: a local Ollama.
pub const DEFAULT_LLM_URL: &str = "http://127.0.0.1:11434/v1";

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: DEFAULT_LLM_URL.to_string(),
            model: "llama3.2".to_string(),
            api_key: None,
            connect_timeout_secs: 10,
            first_token_timeout_secs: 300,
            idle_timeout_secs: 60,
            max_concurrent: 2,
            context_tokens: 0,
            preempt_after_ms: 300,
            structured_output: "auto".to_string(),
            provider: "auto".to_string(),
            local: LocalLlmConfig::default(),
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_tool_rounds: 6,
            history_budget_tokens: 6000,
            passages_budget_tokens: 1500,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            concurrency: 2,
            max_attempts: 3,
            timeout_secs: 1800,
            lease_secs: 30,
            retry_base_ms: 2000,
            retry_max_ms: 300_000,
            sources_budget_tokens: 3000,
        }
    }
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            max_bytes: 20 * 1024 * 1024,
            chunk_chars: 1200,
            fetch_timeout_secs: 20,
        }
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            max_frame_bytes: 8 * 1024 * 1024,
            frame_timeout_ms: 10_000,
            log_level: "info".to_string(),
        }
    }
}

/// What is wrong with a configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// The file could not be read.
    Unreadable(String),
    /// TOML syntax, an unknown key or a wrong type (the parser's own words).
    Parse(String),
    /// A number outside its allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A language Mentor does not speak.
    UnknownLanguage(String),
    /// A URL that is not http(s).
    BadUrl(String),
    /// A value that must not be empty.
    Empty,
    /// A value that is not one of the accepted words.
    OneOf(String, &'static str),
    /// A voice name that is not one word of letters, digits and `+-_./:`.
    BadVoice(String),
    /// A number that must be 0 (off) or within a range.
    OffOrRange {
        /// Smallest allowed value other than 0.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// `llm.local.sequences` leaves each sequence too small a share of
    /// `llm.local.context_tokens`.
    SequencesDoNotFit {
        /// The sequences asked for.
        sequences: u32,
        /// The context asked for.
        context_tokens: u32,
        /// The smallest share a sequence may have.
        min: u32,
    },
    /// An environment variable with an invalid value.
    BadEnv {
        /// The variable.
        var: String,
    },
}

/// A configuration error, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or the environment variable, for overrides).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted key path, when known (`jobs.concurrency`).
    pub key: Option<String>,
    /// What is wrong.
    pub problem: ConfigProblem,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " [{key}]")?;
        }
        write!(f, ": {:?}", self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads the file (if it exists) and applies environment overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    /// Like [`Config::load`] with an explicit environment lookup.
    pub fn load_with_env(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => {
                return Err(ConfigError {
                    file: path.to_path_buf(),
                    line: None,
                    column: None,
                    key: None,
                    problem: ConfigProblem::Unreadable(e.to_string()),
                })
            }
        };
        config.apply_env(env)?;
        Ok(config)
    }

    /// Parses and validates TOML text (`path` is only used in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let located = |line: Option<usize>, column, key: Option<String>, problem| ConfigError {
            file: path.to_path_buf(),
            line,
            column,
            key,
            problem,
        };
        let de = toml::de::Deserializer::parse(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unzip();
            located(
                line,
                col,
                None,
                ConfigProblem::Parse(e.message().to_string()),
            )
        })?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = dotted(e.path());
            let inner = e.into_inner();
            let (mut line, mut col) = inner.span().map(|s| line_col(text, s.start)).unzip();
            if line.is_none() {
                line = key.as_deref().and_then(|k| find_key_line(text, k));
                col = None;
            }
            located(
                line,
                col,
                key,
                ConfigProblem::Parse(inner.message().to_string()),
            )
        })?;
        config.validate().map_err(|(key, problem)| {
            located(find_key_line(text, &key), None, Some(key), problem)
        })?;
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let nonempty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        if let Some(url) = nonempty("MENTOR_LLM_URL") {
            self.llm.base_url = url.trim().to_string();
        }
        if let Some(model) = nonempty("MENTOR_LLM_MODEL") {
            self.llm.model = model.trim().to_string();
        }
        if let Some(provider) = nonempty("MENTOR_LLM_PROVIDER") {
            self.llm.provider = provider.trim().to_string();
        }
        if let Some(key) = nonempty("MENTOR_LLM_API_KEY") {
            self.llm.api_key = Some(key.trim().to_string());
        }
        if let Some(engine) = nonempty("MENTOR_TTS_ENGINE") {
            self.tts.engine = engine.trim().to_string();
        }
        if let Some(key) = nonempty("MENTOR_TTS_API_KEY") {
            self.tts.api_key = Some(key.trim().to_string());
        }
        if let Some(lang) = nonempty("MENTOR_LANG") {
            self.language = Some(lang.trim().to_string());
        }
        self.validate().map_err(|(key, problem)| {
            let var = match key.as_str() {
                "llm.base_url" => "MENTOR_LLM_URL",
                "llm.model" => "MENTOR_LLM_MODEL",
                "llm.provider" => "MENTOR_LLM_PROVIDER",
                "language" => "MENTOR_LANG",
                "tts.engine" => "MENTOR_TTS_ENGINE",
                _ => "MENTOR_*",
            };
            ConfigError {
                file: PathBuf::from(var),
                line: None,
                column: None,
                key: Some(key),
                problem,
            }
        })
    }

    /// The local model's file: `llm.local.model` (a leading `~/` is the home directory), or
    /// where `./install.sh` puts it.
    pub fn local_model_path(&self, dirs: &crate::paths::Dirs) -> PathBuf {
        let configured = self.llm.local.model.trim();
        if configured.is_empty() {
            return dirs.default_local_model();
        }
        match (configured.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => PathBuf::from(configured),
        }
    }

    /// Checks value ranges; returns the offending key and the problem.
    pub fn validate(&self) -> Result<(), (String, ConfigProblem)> {
        fn range(key: &str, v: u64, min: u64, max: u64) -> Result<(), (String, ConfigProblem)> {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err((key.to_string(), ConfigProblem::OutOfRange { min, max }))
            }
        }
        if let Some(lang) = &self.language {
            if crate::i18n::Lang::from_tag(lang).is_none() {
                return Err((
                    "language".into(),
                    ConfigProblem::UnknownLanguage(lang.clone()),
                ));
            }
        }
        let url = self.llm.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err((
                "llm.base_url".into(),
                ConfigProblem::BadUrl(url.to_string()),
            ));
        }
        if self.llm.model.trim().is_empty() {
            return Err(("llm.model".into(), ConfigProblem::Empty));
        }
        range(
            "llm.connect_timeout_secs",
            self.llm.connect_timeout_secs,
            1,
            3600,
        )?;
        range(
            "llm.first_token_timeout_secs",
            self.llm.first_token_timeout_secs,
            1,
            86_400,
        )?;
        range(
            "llm.idle_timeout_secs",
            self.llm.idle_timeout_secs,
            1,
            86_400,
        )?;
        range("llm.max_concurrent", self.llm.max_concurrent.into(), 1, 64)?;
        let window = self.llm.context_tokens;
        if window != 0 && !(CONTEXT_MIN_TOKENS..=CONTEXT_MAX_TOKENS).contains(&window) {
            return Err((
                "llm.context_tokens".into(),
                ConfigProblem::OffOrRange {
                    min: CONTEXT_MIN_TOKENS.into(),
                    max: CONTEXT_MAX_TOKENS.into(),
                },
            ));
        }
        let preempt = self.llm.preempt_after_ms;
        if preempt != 0 && !(PREEMPT_MIN_MS..=PREEMPT_MAX_MS).contains(&preempt) {
            return Err((
                "llm.preempt_after_ms".into(),
                ConfigProblem::OffOrRange {
                    min: PREEMPT_MIN_MS,
                    max: PREEMPT_MAX_MS,
                },
            ));
        }
        range(
            "chat.max_tool_rounds",
            self.chat.max_tool_rounds.into(),
            1,
            50,
        )?;
        range(
            "chat.history_budget_tokens",
            self.chat.history_budget_tokens.into(),
            256,
            1_000_000,
        )?;
        range(
            "chat.passages_budget_tokens",
            self.chat.passages_budget_tokens.into(),
            0,
            1_000_000,
        )?;
        if !["auto", "json_schema", "instructions"].contains(&self.llm.structured_output.as_str()) {
            return Err((
                "llm.structured_output".into(),
                ConfigProblem::OneOf(
                    self.llm.structured_output.clone(),
                    "auto, json_schema, instructions",
                ),
            ));
        }
        if !["auto", "openai", "local"].contains(&self.llm.provider.as_str()) {
            return Err((
                "llm.provider".into(),
                ConfigProblem::OneOf(self.llm.provider.clone(), LLM_PROVIDERS),
            ));
        }
        let local = &self.llm.local;
        range(
            "llm.local.context_tokens",
            local.context_tokens.into(),
            MIN_SEQUENCE_TOKENS.into(),
            1 << 20,
        )?;
        range(
            "llm.local.sequences",
            local.sequences.into(),
            1,
            MAX_LOCAL_SEQUENCES.into(),
        )?;
        if local.context_tokens / local.sequences < MIN_SEQUENCE_TOKENS {
            return Err((
                "llm.local.sequences".into(),
                ConfigProblem::SequencesDoNotFit {
                    sequences: local.sequences,
                    context_tokens: local.context_tokens,
                    min: MIN_SEQUENCE_TOKENS,
                },
            ));
        }
        range("llm.local.threads", local.threads.into(), 0, 1024)?;
        if !(0.0..=5.0).contains(&local.dry_multiplier) {
            return Err((
                "llm.local.dry_multiplier".into(),
                ConfigProblem::OutOfRange { min: 0, max: 5 },
            ));
        }
        range(
            "llm.local.max_answer_tokens",
            local.max_answer_tokens.into(),
            16,
            1 << 20,
        )?;
        range(
            "llm.local.unload_after_secs",
            local.unload_after_secs,
            1,
            7 * 86_400,
        )?;
        range("jobs.concurrency", self.jobs.concurrency.into(), 1, 64)?;
        range("jobs.max_attempts", self.jobs.max_attempts.into(), 1, 100)?;
        range("jobs.timeout_secs", self.jobs.timeout_secs, 1, 7 * 86_400)?;
        range("jobs.lease_secs", self.jobs.lease_secs, 1, 3600)?;
        range("jobs.retry_base_ms", self.jobs.retry_base_ms, 10, 3_600_000)?;
        range(
            "jobs.retry_max_ms",
            self.jobs.retry_max_ms,
            self.jobs.retry_base_ms,
            86_400_000,
        )?;
        range(
            "jobs.sources_budget_tokens",
            self.jobs.sources_budget_tokens.into(),
            0,
            1_000_000,
        )?;
        range("sources.max_bytes", self.sources.max_bytes, 1024, 1 << 32)?;
        range(
            "sources.chunk_chars",
            self.sources.chunk_chars.into(),
            200,
            20_000,
        )?;
        range(
            "sources.fetch_timeout_secs",
            self.sources.fetch_timeout_secs,
            1,
            3600,
        )?;
        range(
            "daemon.max_frame_bytes",
            self.daemon.max_frame_bytes.into(),
            64 * 1024,
            256 * 1024 * 1024,
        )?;
        range(
            "daemon.frame_timeout_ms",
            self.daemon.frame_timeout_ms,
            100,
            600_000,
        )?;
        self.validate_tts()?;
        if !["error", "warn", "info", "debug", "trace"].contains(&self.daemon.log_level.as_str()) {
            return Err((
                "daemon.log_level".into(),
                ConfigProblem::Parse(format!(
                    "unknown level `{}`, expected one of error, warn, info, debug, trace",
                    self.daemon.log_level
                )),
            ));
        }
        Ok(())
    }

    fn validate_tts(&self) -> Result<(), (String, ConfigProblem)> {
        let tts = &self.tts;
        if !["espeak-ng", "openai", "none"].contains(&tts.engine.as_str()) {
            return Err((
                "tts.engine".into(),
                ConfigProblem::OneOf(tts.engine.clone(), TTS_ENGINES),
            ));
        }
        if tts.program.trim().is_empty() {
            return Err(("tts.program".into(), ConfigProblem::Empty));
        }
        for (key, voices) in [
            ("tts.voices_en", &tts.voices_en),
            ("tts.voices_fr", &tts.voices_fr),
            ("tts.openai_voices_en", &tts.openai_voices_en),
            ("tts.openai_voices_fr", &tts.openai_voices_fr),
        ] {
            // A voice is one word: it is passed as one argument, never through a shell.
            let bad = voices.iter().find(|v| {
                v.is_empty()
                    || v.starts_with('-')
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-_./:".contains(c))
            });
            if voices.is_empty() {
                return Err((key.into(), ConfigProblem::Empty));
            }
            if let Some(bad) = bad {
                return Err((key.into(), ConfigProblem::BadVoice(bad.clone())));
            }
        }
        let range = |key: &str, v: u64, min: u64, max: u64| {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err((key.to_string(), ConfigProblem::OutOfRange { min, max }))
            }
        };
        range("tts.words_per_minute", tts.words_per_minute.into(), 80, 450)?;
        range("tts.timeout_secs", tts.timeout_secs, 1, 3600)?;
        range("tts.parallel", tts.parallel.into(), 0, 64)?;
        let url = tts.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err((
                "tts.base_url".into(),
                ConfigProblem::BadUrl(url.to_string()),
            ));
        }
        if tts.model.trim().is_empty() {
            return Err(("tts.model".into(), ConfigProblem::Empty));
        }
        Ok(())
    }

    /// The configuration as TOML, with the API keys redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.llm.api_key.is_some() {
            shown.llm.api_key = Some("<redacted>".into());
        }
        if shown.tts.api_key.is_some() {
            shown.tts.api_key = Some("<redacted>".into());
        }
        toml::to_string(&shown).unwrap_or_default()
    }
}

fn dotted(path: &serde_path_to_error::Path) -> Option<String> {
    let text = path.to_string();
    (text != "." && !text.is_empty()).then_some(text)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

/// Finds the line that sets a dotted key (`jobs.concurrency` inside `[jobs]`).
fn find_key_line(text: &str, dotted_key: &str) -> Option<usize> {
    let (table, key) = match dotted_key.rsplit_once('.') {
        Some((t, k)) => (t, k),
        None => ("", dotted_key),
    };
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim().to_string();
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let full = if current.is_empty() {
            k.to_string()
        } else {
            format!("{current}.{k}")
        };
        if full == dotted_key || (current == table && k == key) {
            return Some(i + 1);
        }
    }
    None
}

impl ConfigError {
    /// The error in the reader's language, saying where and what to do.
    pub fn localize(&self, l: &crate::i18n::Localizer) -> String {
        use crate::t;
        let detail = match &self.problem {
            ConfigProblem::Unreadable(reason) => {
                t!(l, "config-problem-unreadable", reason = reason.as_str())
            }
            ConfigProblem::Parse(message) => message.trim().to_string(),
            ConfigProblem::OutOfRange { min, max } => {
                t!(l, "config-problem-range", min = *min, max = *max)
            }
            ConfigProblem::UnknownLanguage(lang) => {
                t!(l, "config-problem-language", value = lang.as_str())
            }
            ConfigProblem::BadUrl(url) => t!(l, "config-problem-url", value = url.as_str()),
            ConfigProblem::Empty => t!(l, "config-problem-empty"),
            ConfigProblem::BadVoice(value) => t!(l, "config-problem-voice", value = value.as_str()),
            ConfigProblem::OneOf(value, allowed) => t!(
                l,
                "config-problem-one-of",
                value = value.as_str(),
                allowed = *allowed
            ),
            ConfigProblem::OffOrRange { min, max } => {
                t!(l, "config-problem-off-or-range", min = *min, max = *max)
            }
            ConfigProblem::SequencesDoNotFit {
                sequences,
                context_tokens,
                min,
            } => t!(
                l,
                "config-problem-sequences",
                sequences = *sequences,
                context = *context_tokens,
                share = context_tokens / sequences.max(&1),
                min = *min
            ),
            ConfigProblem::BadEnv { var } => t!(l, "config-problem-env", var = var.as_str()),
        };
        let place = match (self.line, &self.key) {
            (Some(line), Some(key)) => {
                t!(l, "config-place-line-key", line = line, key = key.as_str())
            }
            (Some(line), None) => t!(l, "config-place-line", line = line),
            (None, Some(key)) => t!(l, "config-place-key", key = key.as_str()),
            (None, None) => String::new(),
        };
        t!(
            l,
            "err-config",
            file = self.file.display().to_string(),
            place = place,
            detail = detail
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/c/config.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn values_are_read() {
        let c = parse("language = \"fr-FR\"\n[jobs]\nconcurrency = 4\n[llm]\nmodel = \"qwen\"\n")
            .unwrap();
        assert_eq!(c.jobs.concurrency, 4);
        assert_eq!(c.llm.model, "qwen");
        assert_eq!(c.language.as_deref(), Some("fr-FR"));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = parse("[jobs]\nconcurrency = = 3\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(matches!(e.problem, ConfigProblem::Parse(_)));
    }

    #[test]
    fn wrong_type_names_line_and_key() {
        let e = parse("[llm]\nmodel = \"m\"\n\n[jobs]\nconcurrency = \"two\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("jobs.concurrency"));
        assert_eq!(e.line, Some(5));
    }

    #[test]
    fn unknown_key_is_refused() {
        let e = parse("[jobs]\nconcurency = 3\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let ConfigProblem::Parse(msg) = &e.problem else {
            panic!("{e:?}")
        };
        assert!(msg.contains("concurency"), "{msg}");
    }

    #[test]
    fn out_of_range_names_line_and_key() {
        let e = parse("[jobs]\n# comment\nconcurrency = 0\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("jobs.concurrency"));
        assert_eq!(e.line, Some(3));
        assert_eq!(e.problem, ConfigProblem::OutOfRange { min: 1, max: 64 });
    }

    #[test]
    fn preemption_and_sequences_are_checked_and_say_what_to_change() {
        use crate::i18n::{localizer, Lang};
        assert_eq!(
            parse("[llm]\npreempt_after_ms = 0\n")
                .unwrap()
                .llm
                .preempt_after_ms,
            0
        );
        assert_eq!(
            parse("[llm]\npreempt_after_ms = 50\n")
                .unwrap()
                .llm
                .preempt_after_ms,
            50
        );
        for bad in [1, 49, 600_001] {
            let e = parse(&format!("[llm]\npreempt_after_ms = {bad}\n")).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("llm.preempt_after_ms"), "{bad}");
            assert_eq!(e.line, Some(2));
            assert_eq!(
                e.problem,
                ConfigProblem::OffOrRange {
                    min: 50,
                    max: 600_000
                }
            );
            let en = e.localize(localizer(Lang::EnUs));
            assert!(en.contains("0 (off) or between 50 and 600"), "{en}");
            let fr = e.localize(localizer(Lang::FrFr));
            assert!(fr.contains("0 (désactivé)"), "{fr}");
        }
        for bad in ["0", "17"] {
            let e = parse(&format!("[llm.local]\nsequences = {bad}\n")).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("llm.local.sequences"), "{bad}");
            assert_eq!(e.problem, ConfigProblem::OutOfRange { min: 1, max: 16 });
        }
        let c = parse("[llm.local]\nsequences = 4\ncontext_tokens = 8192\n").unwrap();
        assert_eq!(c.llm.local.sequences, 4);
        // 8 sequences of 1,024 tokens do not fit: both keys are named.
        let e = parse("[llm.local]\ncontext_tokens = 8192\nsequences = 8\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("llm.local.sequences"));
        assert_eq!(e.line, Some(3));
        let en = e.localize(localizer(Lang::EnUs));
        for part in [
            "8 sequences",
            "1024",
            "8192",
            "2048",
            "llm.local.context_tokens",
            "llm.local.sequences",
        ] {
            assert!(en.contains(part), "{part}: {en}");
        }
        let fr = e.localize(localizer(Lang::FrFr));
        assert!(fr.contains("augmentez llm.local.context_tokens"), "{fr}");
        let e = parse("[llm.local]\ncontext_tokens = 1024\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("llm.local.context_tokens"));
    }

    #[test]
    fn unknown_language_and_bad_url_are_refused() {
        assert!(matches!(
            parse("language = \"klingon\"").unwrap_err().problem,
            ConfigProblem::UnknownLanguage(_)
        ));
        assert!(matches!(
            parse("[llm]\nbase_url = \"localhost:11434\"")
                .unwrap_err()
                .problem,
            ConfigProblem::BadUrl(_)
        ));
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[llm]\nmodel = \"from-file\"\n").unwrap();
        let c = Config::load_with_env(&path, |k| match k {
            "MENTOR_LLM_MODEL" => Some("from-env".into()),
            "MENTOR_LLM_URL" => Some("http://127.0.0.1:9/v1".into()),
            "MENTOR_LLM_API_KEY" => Some("sk-secret".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.llm.model, "from-env");
        assert_eq!(c.llm.base_url, "http://127.0.0.1:9/v1");
        assert!(!format!("{:?}", c).contains("sk-secret"));
        assert!(!c.to_redacted_toml().contains("sk-secret"));
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let e = Config::load_with_env(&dir.path().join("none.toml"), |k| {
            (k == "MENTOR_LANG").then(|| "xx-YY".to_string())
        })
        .unwrap_err();
        assert_eq!(e.file, PathBuf::from("MENTOR_LANG"));
    }

    #[test]
    fn missing_file_gives_defaults_and_unreadable_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load_with_env(&dir.path().join("absent.toml"), |_| None).unwrap();
        assert_eq!(c, Config::default());
        let e = Config::load_with_env(dir.path(), |_| None).unwrap_err();
        assert!(matches!(e.problem, ConfigProblem::Unreadable(_)));
    }
}
