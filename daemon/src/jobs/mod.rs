//! The generators: the long jobs the product exists to run in the background — a podcast with
//! real speech ([`podcast`]), a quiz ([`quiz`]) and a study guide ([`study_guide`]).
//!
//! Each asks the model for JSON through [`Llm::structured`] (validated, one repair attempt) at
//! job priority, records every finished step as a checkpoint together with its progress
//! ([`JobContext::step_done`]), and skips the steps a resumed attempt finds recorded. The
//! checkpoints `outline` and `transcript` hold `{"text": …}` Markdown: the teacher's
//! walkthrough reads them when a job fails, and the failed artifact keeps them.

pub mod files;
pub mod podcast;
pub mod quality;
pub mod quiz;
pub mod study_guide;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use mentor_shared::artifacts::SourceRef;
use mentor_shared::i18n::Lang;
use mentor_shared::jobs::{JobKind, JobSpec};
use mentor_shared::protocol::SearchHit;
use mentor_shared::{i18n, t, ApiError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chat::prompt::{language_name, multi_line, Prompts};
use crate::llm::{Choice, JsonSchema, Llm, Priority, WireMessage};
use crate::queue::{JobContext, JobError};
use crate::store::{notebooks, sources, Store, StoreError};

/// Passages looked up for a generator before the budget trims them.
const PASSAGE_CANDIDATES: u32 = 60;
/// Times a step is asked for afresh when its answer has a flaw (each time with one repair).
const STEP_ATTEMPTS: usize = 2;
/// The share of the model's window (in percent) the passages may take; the rest is for the
/// instructions, what the artifact says so far, and the answer.
const PASSAGES_WINDOW_PERCENT: u32 = 30;
/// Tokens of answer room a step needs at least once its prompt is in the window.
const MIN_ANSWER_TOKENS: u32 = 256;
/// What the model is told when its answer is sent back (here and in `llm::structured`).
const REPAIR_WORDS: [&str; 2] = [
    "An earlier answer could not be used. Do not make that mistake again.",
    "Your answer could not be used. Answer again with only the corrected JSON, matching the \
     schema, and no other text.",
];

/// Every string of an answer, one a line (what the learner would read of it).
fn answer_text<T: Serialize>(answer: &T) -> String {
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(answer) {
        collect(&v, &mut out);
    }
    out.join("\n")
}

/// The checkpoint of a smaller passages budget, recorded when a step did not fit.
const FIT_CHECKPOINT: &str = "fit";

/// The budget a job's passages were shrunk to after an overflow.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Fit {
    passages_tokens: u32,
}

/// What every generator works with.
#[derive(Clone)]
pub struct Kit {
    /// The model client (requests at job priority).
    pub llm: Llm,
    /// The database, for the notebook's sources.
    pub store: Store,
    /// Where prompt overrides live (the config directory).
    pub prompt_dir: PathBuf,
    /// Tokens of source passages per request.
    pub sources_budget_tokens: u32,
}

/// A generator's parameters as `job_submit` stored them.
#[derive(Debug, Deserialize)]
pub struct Params {
    /// What to make.
    pub spec: JobSpec,
    /// The learner's language tag.
    pub language: String,
}

impl Params {
    /// The parameters of the job being run.
    pub fn of(ctx: &JobContext) -> Result<Params, JobError> {
        ctx.params()
    }

    /// The language to write in (English when the tag is unknown).
    pub fn lang(&self) -> Lang {
        Lang::from_tag(&self.language).unwrap_or(Lang::EnUs)
    }
}

/// The material a generator's requests share: the notebook, its best passages (numbered) and
/// the prompt templates.
pub struct Material {
    /// The notebook's title.
    pub notebook_title: String,
    /// The passages section (delimited and numbered), or "" when the notebook has no sources.
    pub passages: String,
    /// The source of each passage: `refs[n - 1]` for passage `n`.
    pub refs: Vec<SourceRef>,
    /// The text of each passage: `texts[n - 1]` for passage `n`.
    pub texts: Vec<String>,
    /// The stems of the subject's content words: the topic's, the notebook title's and the
    /// passages' (what a title must draw on).
    pub subject: HashSet<String>,
    /// The templates (the user's overrides if any).
    pub prompts: Prompts,
    /// The language, as the model is told it.
    pub language: &'static str,
    /// The language.
    pub lang: Lang,
    /// The tokens the passages were given (they may have used less).
    pub budget: u32,
}

impl Material {
    /// Gathers it for the job: the passages that best match the topic (or, for the whole
    /// notebook or a topic that matches nothing, chunks spread over every source), within
    /// the budget.
    pub async fn gather(kit: &Kit, ctx: &JobContext, lang: Lang) -> Result<Material, JobError> {
        let Some(notebook) = ctx.notebook() else {
            return Err(JobError::Permanent(t!(i18n::ui(), "job-no-notebook")));
        };
        let user = ctx.user();
        let topic = ctx.job().topic.clone();
        let (title, hits) = kit
            .store
            .read(move |c| {
                let shown = notebooks::get(c, user, notebook)?;
                let mut hits = if topic.trim().is_empty() {
                    Vec::new()
                } else {
                    match sources::passages(c, notebook, &topic, PASSAGE_CANDIDATES) {
                        Ok(hits) => hits,
                        Err(StoreError::Api(ApiError::EmptyQuery)) => Vec::new(),
                        Err(e) => return Err(e),
                    }
                };
                if hits.is_empty() {
                    hits = sources::spread(c, notebook, PASSAGE_CANDIDATES)?;
                }
                Ok((shown.title, hits))
            })
            .await
            .map_err(|e| api_error(&e))?;
        let prompts = Prompts::load(&kit.prompt_dir).map_err(|e| api_error(&e))?;
        let budget = kit.passages_budget(ctx).await;
        let (passages, shown) = prompts
            .job_passages(&hits, budget)
            .map_err(|e| api_error(&e))?;
        let refs = shown.iter().map(|h| source_ref(h)).collect();
        let texts: Vec<String> = shown
            .iter()
            .map(|h| multi_line(&h.snippet, 20_000))
            .collect();
        let mut subject = quality::content(&ctx.job().topic);
        subject.extend(quality::content(&title));
        for text in &texts {
            subject.extend(quality::content(text));
        }
        Ok(Material {
            notebook_title: title,
            passages,
            refs,
            texts,
            subject,
            prompts,
            language: language_name(lang),
            lang,
            budget,
        })
    }

    /// The source of passage `number` (1-based).
    pub fn source(&self, number: usize) -> Option<&SourceRef> {
        number.checked_sub(1).and_then(|i| self.refs.get(i))
    }

    /// Each cited source once, in the order first cited.
    pub fn cited(&self, numbers: impl IntoIterator<Item = usize>) -> Vec<SourceRef> {
        let mut out: Vec<SourceRef> = Vec::new();
        for n in numbers {
            if let Some(r) = self.source(n) {
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r.clone());
                }
            }
        }
        out
    }

    /// The text of passage `number` (1-based), or "".
    pub fn text(&self, number: usize) -> &str {
        number
            .checked_sub(1)
            .and_then(|i| self.texts.get(i))
            .map_or("", String::as_str)
    }

    /// Checks that `claim` is supported by the passages it `cites` (when there are passages
    /// to cite): see [`quality`].
    pub fn grounded(
        &self,
        part: quality::Part,
        claim: &str,
        cites: &[usize],
    ) -> Result<(), quality::Flaw> {
        if self.refs.is_empty() {
            return Ok(());
        }
        let cited: Vec<&str> = cites.iter().map(|&n| self.text(n)).collect();
        if cites.is_empty() || cited.iter().all(|t| t.is_empty()) {
            return Err(quality::Flaw {
                part,
                kind: quality::Kind::Ungrounded(0),
            });
        }
        if quality::supported(claim, &cited.join("\n")) {
            return Ok(());
        }
        Err(quality::Flaw {
            part,
            kind: quality::Kind::Ungrounded(cites[0]),
        })
    }

    /// Checks passage numbers the model cited: each must name a passage shown (0 only when
    /// none were).
    pub fn check_citation(&self, number: usize) -> Result<(), String> {
        if self.refs.is_empty() {
            return Ok(());
        }
        if (1..=self.refs.len()).contains(&number) {
            Ok(())
        } else {
            Err(format!(
                "source {number} is not a passage number (1 to {})",
                self.refs.len()
            ))
        }
    }
}

/// The schema of a passage number the model cites: 1 to `passages` (a model constrained by
/// the schema cannot cite a passage it was not shown), or any number when there are none.
pub(crate) fn citation_schema(passages: usize) -> serde_json::Value {
    if passages == 0 {
        serde_json::json!({ "type": "integer", "minimum": 0 })
    } else {
        serde_json::json!({ "type": "integer", "minimum": 1, "maximum": passages })
    }
}

fn source_ref(hit: &SearchHit) -> SourceRef {
    SourceRef {
        id: hit.source_id.to_string(),
        title: hit.source_title.clone(),
    }
}

/// What is wrong with an answer: its form (the model is told, and the job fails with the
/// model client's error), or a flaw the quality gates found.
#[derive(Debug)]
pub enum Problem {
    /// Not the answer asked for (English, for the model).
    Form(String),
    /// Well-formed, but not good enough.
    Flaw(quality::Flaw),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Form(s) => f.write_str(s),
            Problem::Flaw(flaw) => f.write_str(&flaw.for_model()),
        }
    }
}

impl From<String> for Problem {
    fn from(s: String) -> Problem {
        Problem::Form(s)
    }
}

impl From<quality::Flaw> for Problem {
    fn from(f: quality::Flaw) -> Problem {
        Problem::Flaw(f)
    }
}

/// One step of a generator, as asked: its system message, its request ("Write question 3
/// now."), its schema and the room its answer has.
pub struct Step<'a> {
    /// The system message (instructions and passages).
    pub system: String,
    /// The user message that asks for the piece.
    pub ask: String,
    /// The answer's schema.
    pub schema: &'a JsonSchema,
    /// Tokens the answer may have (`None`: the server's default).
    pub max_tokens: Option<u32>,
    /// The tokens the job's passages were given (see [`Material::budget`]).
    pub budget: u32,
}

impl Kit {
    /// The tokens a job's passages may have: `jobs.sources_budget_tokens`, at most
    /// [`PASSAGES_WINDOW_PERCENT`] of the model's window when it is known, and at most what
    /// an overflow left the job (its [`FIT_CHECKPOINT`]).
    pub async fn passages_budget(&self, ctx: &JobContext) -> u32 {
        let mut budget = self.sources_budget_tokens;
        if let Some(window) = self.llm.window().await {
            budget = budget.min(window / 100 * PASSAGES_WINDOW_PERCENT);
        }
        if let Some(fit) = ctx.checkpoint_as::<Fit>(FIT_CHECKPOINT) {
            budget = budget.min(fit.passages_tokens);
        }
        budget
    }

    /// The answer room of a request: `wanted`, within what the model's window leaves once
    /// the prompt is in it; `None` inside when the window is unknown and nothing was wanted.
    /// Too little room is an overflow.
    async fn room(&self, messages: &[WireMessage], wanted: Option<u32>) -> Result<Option<u32>, ()> {
        let Some(window) = self.llm.window().await else {
            return Ok(wanted);
        };
        let prompt = crate::llm::window::request_tokens(messages);
        let left = window.saturating_sub(prompt);
        if left < MIN_ANSWER_TOKENS {
            return Err(());
        }
        Ok(Some(wanted.map_or(left, |w| w.min(left))))
    }

    /// A step that did not fit the window (`named`: what the server said it is): once, the
    /// job records half its passages budget and goes back to the queue to rebuild its
    /// prompts; a second time, it fails with what to do.
    async fn overflowed(
        &self,
        ctx: &JobContext,
        named: Option<u32>,
        messages: &[WireMessage],
        budget: u32,
    ) -> JobError {
        let tried = crate::llm::window::request_tokens(messages);
        let window = self.llm.overflowed(named, tried);
        let shrunk = ctx.checkpoint_as::<Fit>(FIT_CHECKPOINT).is_some();
        if !shrunk && budget > 0 {
            let fit = Fit {
                passages_tokens: budget / 2,
            };
            return match ctx.checkpoint(FIT_CHECKPOINT, &fit).await {
                Ok(()) => JobError::Refit,
                Err(e) => e,
            };
        }
        JobError::Permanent(t!(
            i18n::ui(),
            "job-context-too-small",
            window = i64::from(window),
            tried = i64::from(tried)
        ))
    }

    /// Asks for one piece of a `kind` of artifact, at job priority, and checks it with
    /// `check` (its form and the quality gates). A piece with a problem gets one repair
    /// (the model told what is wrong); a piece still flawed is asked for afresh, with the
    /// reason, up to [`STEP_ATTEMPTS`] times in all. A flaw that remains fails the job for
    /// good with the flaw named, in the daemon's language (and, for the built-in model, how
    /// to get a stronger one).
    pub async fn step<T: DeserializeOwned + Serialize>(
        &self,
        ctx: &JobContext,
        kind: JobKind,
        step: Step<'_>,
        check: impl Fn(&T) -> Result<(), Problem> + Send + Sync,
    ) -> Result<T, JobError> {
        let last: Mutex<Option<quality::Flaw>> = Mutex::new(None);
        // What the model was told about its earlier answers, which a small model copies
        // into the next one.
        let told: Mutex<Vec<String>> =
            Mutex::new(REPAIR_WORDS.iter().map(|s| s.to_string()).collect());
        let validate = |t: &T| {
            let checked = check(t).and_then(|()| {
                let told = told.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                let said = answer_text(t);
                quality::Echo::new(&told, &[]).check(&quality::Part::Answer, &said)?;
                Ok(())
            });
            match checked {
                Ok(()) => Ok(()),
                Err(Problem::Form(s)) => Err(s),
                Err(Problem::Flaw(f)) => {
                    let s = f.for_model();
                    told.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(s.clone());
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
                    Err(s)
                }
            }
        };
        let mut ask = step.ask.clone();
        for attempt in 1..=STEP_ATTEMPTS {
            ctx.check()?;
            let messages = vec![
                WireMessage::System(step.system.clone()),
                WireMessage::User(ask.clone()),
            ];
            let Ok(max_tokens) = self.room(&messages, step.max_tokens).await else {
                return Err(self.overflowed(ctx, None, &messages, step.budget).await);
            };
            let reason = match self
                .llm
                .structured_within(
                    messages.clone(),
                    step.schema,
                    max_tokens,
                    &validate,
                    Priority::Job,
                )
                .await
            {
                Ok(t) => return Ok(t),
                Err(ApiError::LlmOutput { reason }) => reason,
                Err(e) => match crate::llm::window::overflow(&e) {
                    Some(named) => {
                        return Err(self.overflowed(ctx, named, &messages, step.budget).await)
                    }
                    None => return Err(api_error(&e)),
                },
            };
            let flaw = last
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .filter(|f| reason.ends_with(&f.for_model()));
            let Some(flaw) = flaw else {
                let error = ApiError::LlmOutput { reason };
                // The built-in model's answers broke Mentor's rules: say how to get a
                // stronger one.
                return Err(match self.llm.choice().await {
                    Choice::Local => JobError::Permanent(format!(
                        "{} {}",
                        error.localize(i18n::ui()),
                        t!(i18n::ui(), "quality-hint-builtin")
                    )),
                    Choice::Server => api_error(&error),
                });
            };
            tracing::info!(job = %ctx.job().id, attempt, flaw = %flaw.for_model(), "a piece failed the quality gates");
            if attempt == STEP_ATTEMPTS {
                return Err(self.flawed(kind, &flaw).await);
            }
            ask = format!(
                "{}\nAn earlier answer could not be used: {}. Do not make that mistake again.",
                step.ask,
                flaw.for_model()
            );
        }
        Err(JobError::Permanent(String::new()))
    }

    /// The job's failure for a flaw that repair did not fix.
    async fn flawed(&self, kind: JobKind, flaw: &quality::Flaw) -> JobError {
        let l = i18n::ui();
        let hint = match self.llm.choice().await {
            Choice::Local => t!(l, "quality-hint-builtin"),
            Choice::Server => t!(l, "quality-hint-other"),
        };
        let failed = t!(
            l,
            "quality-failed",
            kind = kind.as_str(),
            reason = flaw.localize(l)
        );
        JobError::Permanent(format!("{failed} {hint}"))
    }
}

/// An error of the model client, the store or the templates, as the job's failure (retried
/// when it is worth it), in the daemon's language.
pub fn api_error(e: &ApiError) -> JobError {
    if matches!(e, ApiError::LlmPreempted) {
        return JobError::Preempted;
    }
    let message = e.localize(i18n::ui());
    if let ApiError::LlmStatus {
        retry_after_secs: Some(secs),
        ..
    } = e
    {
        if crate::llm::is_transient(e) {
            let wait = std::time::Duration::from_secs(*secs);
            return JobError::Throttled { message, wait };
        }
    }
    if crate::llm::is_transient(e) || matches!(e, ApiError::Storage { .. }) {
        JobError::Transient(message)
    } else {
        JobError::Permanent(message)
    }
}

/// Material with `sources` numbered sources and no passages (for the generators' tests).
#[cfg(test)]
pub(crate) fn test_material(sources: usize) -> Material {
    Material {
        notebook_title: "Cells".into(),
        passages: String::new(),
        refs: (0..sources)
            .map(|i| mentor_shared::artifacts::SourceRef {
                id: format!("src:{i}"),
                title: format!("Source {i}"),
            })
            .collect(),
        texts: (0..sources)
            .map(|_| {
                "Mitochondria make ATP, the cell's energy. The nucleus holds the DNA. \
                 Ribosomes build proteins."
                    .to_string()
            })
            .collect(),
        subject: quality::content("Cells mitochondria ATP energy nucleus DNA ribosomes"),
        prompts: crate::chat::prompt::Prompts::builtin(),
        language: "English",
        lang: Lang::EnUs,
        budget: 3_000,
    }
}
