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
pub mod quiz;
pub mod study_guide;

use std::path::PathBuf;

use mentor_shared::artifacts::SourceRef;
use mentor_shared::i18n::Lang;
use mentor_shared::jobs::JobSpec;
use mentor_shared::protocol::SearchHit;
use mentor_shared::{i18n, t, ApiError};
use serde::Deserialize;

use crate::chat::prompt::{language_name, Prompts};
use crate::llm::Llm;
use crate::queue::{JobContext, JobError};
use crate::store::{notebooks, sources, Store, StoreError};

/// Passages looked up for a generator before the budget trims them.
const PASSAGE_CANDIDATES: u32 = 60;

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
    /// The templates (the user's overrides if any).
    pub prompts: Prompts,
    /// The language, as the model is told it.
    pub language: &'static str,
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
        let (passages, shown) = prompts
            .job_passages(&hits, kit.sources_budget_tokens)
            .map_err(|e| api_error(&e))?;
        let refs = shown.iter().map(|h| source_ref(h)).collect();
        Ok(Material {
            notebook_title: title,
            passages,
            refs,
            prompts,
            language: language_name(lang),
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
        prompts: crate::chat::prompt::Prompts::builtin(),
        language: "English",
    }
}
