//! The teacher's tools. None of them takes a notebook or a user: the session they run in
//! supplies both, so nothing the model reads (a source, a learner's message) can make a tool
//! act outside the conversation's own notebook.

use std::sync::Arc;

use mentor_shared::chat::ToolCall;
use mentor_shared::i18n::Lang;
use mentor_shared::ids::{NotebookId, UserId};
use mentor_shared::jobs::{
    Difficulty, Job, JobKind, JobRequest, JobSpec, PodcastFormat, PodcastLength,
    DEFAULT_QUIZ_QUESTIONS,
};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::llm::ToolSpec;
use crate::state::Daemon;
use crate::store::{objectives, sources};

/// Passages `search_sources` returns at most.
const SEARCH_LIMIT: u32 = 8;

/// The tools offered to the model.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "generate_artifact".into(),
            description: "Start generating a podcast, quiz or study guide from this notebook's \
                sources, in the background. Returns at once with a job id; the learner is told \
                when it is ready. Use it whenever the learner asks for one of these."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "artifact_type": {
                        "type": "string",
                        "enum": ["podcast", "quiz", "study_guide"],
                        "description": "What to make."
                    },
                    "topic": {
                        "type": "string",
                        "description": "The topic or focus, in a few words."
                    },
                    "options": {
                        "type": "object",
                        "description": "Optional settings.",
                        "properties": {
                            "format": {"type": "string", "enum": ["deep_dive", "brief"]},
                            "length": {"type": "string", "enum": ["short", "default", "long"]},
                            "questions": {"type": "integer", "minimum": 1, "maximum": 50},
                            "difficulty": {"type": "string", "enum": ["easy", "medium", "hard"]}
                        },
                        "additionalProperties": false
                    }
                },
                "required": ["artifact_type", "topic"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "search_sources".into(),
            description: "Full-text search over this notebook's sources. Returns passages \
                with the title to cite them by."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to look for."}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "check_off_objective".into(),
            description: "Mark one of this notebook's learning objectives as met, when the \
                learner has shown it in this conversation."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "objective_id": {
                        "type": "string",
                        "description": "The objective's id (obj:…) or its number."
                    },
                    "evidence": {
                        "type": "string",
                        "description": "What the learner said or did that shows it."
                    }
                },
                "required": ["objective_id", "evidence"],
                "additionalProperties": false
            }),
        },
    ]
}

/// Where a tool runs: the session's user, notebook and language.
pub struct Scope {
    /// The learner.
    pub user: UserId,
    /// The conversation's notebook.
    pub notebook: NotebookId,
    /// The learner's language (jobs are made in it).
    pub lang: Lang,
}

/// What a tool call gave.
pub struct Outcome {
    /// The result the model sees (JSON text).
    pub content: Value,
    /// True when the tool refused or failed.
    pub is_error: bool,
    /// The job it submitted, if any.
    pub submitted: Option<Job>,
}

impl Outcome {
    fn ok(content: Value) -> Outcome {
        Outcome {
            content,
            is_error: false,
            submitted: None,
        }
    }

    fn error(message: impl Into<String>) -> Outcome {
        Outcome {
            content: json!({ "error": message.into() }),
            is_error: true,
            submitted: None,
        }
    }
}

/// Runs one tool call. Bad calls (unknown tool, invalid JSON, wrong arguments) come back as
/// an error result the model can read and correct, never as a failed turn.
pub async fn run(daemon: &Arc<Daemon>, scope: &Scope, call: &ToolCall) -> Outcome {
    let args: Value = if call.arguments.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str(&call.arguments) {
            Ok(v) => v,
            Err(e) => {
                return Outcome::error(format!(
                    "the arguments are not valid JSON ({e}); call {} again with a JSON object",
                    call.name
                ))
            }
        }
    };
    let result = match call.name.as_str() {
        "generate_artifact" => generate_artifact(daemon, scope, args).await,
        "search_sources" => search_sources(daemon, scope, args).await,
        "check_off_objective" => check_off_objective(daemon, scope, args).await,
        other => Err(format!(
            "there is no tool named `{other}`; the tools are generate_artifact, \
             search_sources and check_off_objective"
        )),
    };
    result.unwrap_or_else(Outcome::error)
}

fn parse<T: for<'de> Deserialize<'de>>(tool: &str, args: Value) -> Result<T, String> {
    serde_json::from_value(args).map_err(|e| {
        format!(
            "invalid arguments for {tool}: {e}. This tool always acts on the current \
             notebook; it takes no notebook or user argument."
        )
    })
}

/// Describes an API error for the model (in English: the model's working language).
fn describe(e: &ApiError) -> String {
    mentor_shared::error::ApiError::localize(e, mentor_shared::i18n::localizer(Lang::EnUs))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateArgs {
    artifact_type: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    options: GenerateOptions,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GenerateOptions {
    format: Option<PodcastFormat>,
    length: Option<PodcastLength>,
    questions: Option<u32>,
    difficulty: Option<Difficulty>,
}

async fn generate_artifact(
    daemon: &Arc<Daemon>,
    scope: &Scope,
    args: Value,
) -> Result<Outcome, String> {
    let args: GenerateArgs = parse("generate_artifact", args)?;
    let spec = match JobKind::parse(&args.artifact_type) {
        Some(JobKind::Podcast) => JobSpec::Podcast {
            format: args.options.format.unwrap_or_default(),
            length: args.options.length.unwrap_or_default(),
        },
        Some(JobKind::Quiz) => JobSpec::Quiz {
            questions: args.options.questions.unwrap_or(DEFAULT_QUIZ_QUESTIONS),
            difficulty: args.options.difficulty.unwrap_or_default(),
        },
        Some(JobKind::StudyGuide) => JobSpec::StudyGuide,
        _ => {
            return Err(format!(
                "artifact_type must be podcast, quiz or study_guide, not `{}`",
                args.artifact_type
            ))
        }
    };
    let kind = spec.kind();
    let request = JobRequest {
        notebook: scope.notebook.to_string(),
        topic: args.topic,
        language: Some(scope.lang.tag().to_string()),
        spec,
    };
    let new = crate::rpc::prepare_job(daemon, scope.user, scope.notebook, request, true)
        .await
        .map_err(|e| describe(&e))?;
    let job = daemon.queue.enqueue(new).await.map_err(|e| describe(&e))?;
    Ok(Outcome {
        content: json!({
            "job_id": job.id,
            "artifact_ids": job.artifact_id.into_iter().collect::<Vec<_>>(),
            "artifact_type": kind.as_str(),
            "status": "submitted",
        }),
        is_error: false,
        submitted: Some(job),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
}

async fn search_sources(
    daemon: &Arc<Daemon>,
    scope: &Scope,
    args: Value,
) -> Result<Outcome, String> {
    let args: SearchArgs = parse("search_sources", args)?;
    let notebook = scope.notebook;
    let query = args.query.clone();
    let hits = daemon
        .store
        .read(move |c| sources::search(c, notebook, &query, SEARCH_LIMIT))
        .await;
    let hits = match hits {
        Ok(hits) => hits,
        Err(ApiError::EmptyQuery) => {
            return Err("the query has no words to search for; give a few keywords".into())
        }
        Err(e) => return Err(describe(&e)),
    };
    let results: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "source_id": h.source_id,
                "source": h.source_title,
                "chunk": h.chunk,
                "snippet": h.snippet,
            })
        })
        .collect();
    Ok(Outcome::ok(json!({
        "query": args.query,
        "results": results,
        "cite_as": "[source title]",
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectiveArgs {
    objective_id: String,
    evidence: String,
}

async fn check_off_objective(
    daemon: &Arc<Daemon>,
    scope: &Scope,
    args: Value,
) -> Result<Outcome, String> {
    let args: ObjectiveArgs = parse("check_off_objective", args)?;
    let evidence = args.evidence.trim().to_string();
    if evidence.is_empty() {
        return Err("evidence must say what the learner showed".into());
    }
    let evidence: String = evidence
        .chars()
        .take(objectives::MAX_OBJECTIVE_CHARS)
        .collect();
    let notebook = scope.notebook;
    let reference = args.objective_id;
    let objective = daemon
        .store
        .write(move |tx| {
            objectives::mark_met(tx, notebook, &reference, &evidence, Timestamp::now())
        })
        .await
        .map_err(|e| describe(&e))?;
    Ok(Outcome::ok(json!({
        "objective_id": objective.id,
        "text": objective.text,
        "met": true,
    })))
}
