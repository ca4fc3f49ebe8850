//! The teacher's tools. None of them takes a notebook or a user: the session they run in
//! supplies both, so nothing the model reads (a source, a learner's message) can make a tool
//! act outside the conversation's own notebook.

use std::sync::Arc;

use mentor_shared::chat::{ChatMessage, Role, ToolCall};
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
/// The tool that starts a job.
pub const GENERATE: &str = "generate_artifact";
/// Characters of a Mentor note that, found in a topic, show the topic was copied from it.
const NOTE_WINDOW: usize = 40;
/// Phrases of Mentor's notes to the model (the history's marker and the walkthrough note's
/// wording), lowercase: a topic that carries one was copied from a note.
const NOTE_MARKERS: &[&str] = &[
    "note from mentor",
    "not written by the learner",
    "could not be generated",
];

/// The tools offered to the model, `generate_artifact` among them only when `generate`
/// (it is left out of the walkthrough turn after a failed job, so that the model teaches
/// instead of starting the job again).
pub fn offered(generate: bool) -> Vec<ToolSpec> {
    let mut all = specs();
    if !generate {
        all.retain(|t| t.name != GENERATE);
    }
    all
}

/// Every tool the teacher has.
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
    /// What the conversation's notes to the model say, so that none becomes a job's topic.
    pub notes: NoteGuard,
}

/// True when the newest failure note of a conversation (newest message first) is newer than
/// the learner's newest message: the turn is the walkthrough of a failed job, and the
/// learner has not asked for anything since.
pub fn after_failure_note(newest_first: &[ChatMessage]) -> bool {
    newest_first
        .iter()
        .find(|m| matches!(m.role, Role::User | Role::SystemNote))
        .is_some_and(|m| m.role == Role::SystemNote)
}

/// Keeps Mentor's notes to the model out of job topics. A model that is shown a hidden note
/// ("The podcast about … could not be generated …") may pass it on as the topic of a new job;
/// such a topic is refused. Text the learner wrote, and topics asked for before, stay
/// allowed even where a note quotes them.
#[derive(Debug, Default, Clone)]
pub struct NoteGuard {
    /// The notes, normalized.
    notes: Vec<String>,
    /// The learner's messages and earlier topics, normalized.
    own: Vec<String>,
}

impl NoteGuard {
    /// The guard for a conversation's messages (in any order).
    pub fn new(messages: &[ChatMessage]) -> NoteGuard {
        let mut guard = NoteGuard::default();
        for m in messages {
            match m.role {
                Role::SystemNote => guard.notes.push(normalize(&m.text)),
                Role::User => guard.own.push(normalize(&m.text)),
                Role::Assistant => {
                    for call in m.tool_calls.iter().filter(|c| c.name == GENERATE) {
                        let topic = serde_json::from_str::<Value>(&call.arguments)
                            .ok()
                            .and_then(|v| v.get("topic")?.as_str().map(normalize));
                        if let Some(topic) = topic {
                            guard.own.push(topic);
                        }
                    }
                }
                Role::Tool | Role::Notice => {}
            }
        }
        guard
    }

    /// Why `topic` is refused, if it carries the text of a note.
    pub fn refuses(&self, topic: &str) -> Option<String> {
        let topic = normalize(topic);
        let copied = NOTE_MARKERS.iter().any(|m| topic.contains(m)) || {
            let chars: Vec<char> = topic.chars().collect();
            chars.windows(NOTE_WINDOW).any(|w| {
                let w: String = w.iter().collect();
                self.notes.iter().any(|n| n.contains(&w))
                    && !self.own.iter().any(|o| o.contains(&w))
            })
        };
        copied.then(|| {
            "the topic repeats a note from Mentor, which is not the learner's request. Give \
             the topic the learner asked for, in a few words of your own; if no artifact was \
             asked for, do not call generate_artifact and teach in your reply instead"
                .to_string()
        })
    }
}

/// Lowercase, with runs of whitespace made one space.
fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
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

/// Runs one tool call, if its tool is one of `offered`. Bad calls (unknown tool, a tool not
/// offered, invalid JSON, wrong arguments) come back as an error result the model can read
/// and correct, never as a failed turn.
pub async fn run(
    daemon: &Arc<Daemon>,
    scope: &Scope,
    call: &ToolCall,
    offered: &[ToolSpec],
) -> Outcome {
    if let Some(refusal) = not_offered(&call.name, offered) {
        return Outcome::error(refusal);
    }
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
        GENERATE => generate_artifact(daemon, scope, args).await,
        "search_sources" => search_sources(daemon, scope, args).await,
        "check_off_objective" => check_off_objective(daemon, scope, args).await,
        other => Err(format!("there is no tool named `{other}`")),
    };
    result.unwrap_or_else(Outcome::error)
}

/// Why a call to `name` is refused when only `offered` are: it is not one of them.
fn not_offered(name: &str, offered: &[ToolSpec]) -> Option<String> {
    if offered.iter().any(|t| t.name == name) {
        return None;
    }
    let names: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
    let names = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    Some(if name == GENERATE {
        format!(
            "generate_artifact is not available now: the artifact just failed, and the \
             learner has not asked for another one since. Do not try to start one; teach the \
             topic yourself in your reply instead. The tools available now are: {names}"
        )
    } else if specs().iter().any(|t| t.name == name) {
        format!("`{name}` is not available now; the tools available now are: {names}")
    } else {
        format!("there is no tool named `{name}`; the tools available now are: {names}")
    })
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
    let args: GenerateArgs = parse(GENERATE, args)?;
    if let Some(refusal) = scope.notes.refuses(&args.topic) {
        return Err(refusal);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::history::tests::msg;
    use crate::chat::prompt::{Prompts, WalkthroughInput};

    fn asked(topic: &str) -> ChatMessage {
        let mut m = msg(Role::Assistant, "");
        m.tool_calls = vec![ToolCall {
            id: "call_0".into(),
            name: GENERATE.into(),
            arguments: json!({"artifact_type": "podcast", "topic": topic}).to_string(),
        }];
        m
    }

    /// The walkthrough note Mentor stores for a failed podcast about `topic`.
    fn note(topic: &str) -> ChatMessage {
        let input = WalkthroughInput {
            language: Lang::EnUs,
            kind: JobKind::Podcast,
            topic,
            reason: "the speech engine did not answer",
            outline: Some("1. Light reactions in the thylakoid membrane\n2. The Calvin cycle"),
            transcript: None,
            budget_tokens: 1500,
        };
        let text = Prompts::builtin()
            .walkthrough(&input)
            .expect("the note renders");
        msg(Role::SystemNote, &text)
    }

    #[test]
    fn the_walkthrough_is_not_offered_generate_artifact_until_the_learner_writes() {
        let names =
            |tools: Vec<ToolSpec>| -> Vec<String> { tools.into_iter().map(|t| t.name).collect() };
        assert!(names(offered(true)).iter().any(|n| n == GENERATE));
        let without = names(offered(false));
        assert!(!without.iter().any(|n| n == GENERATE));
        assert!(without.iter().any(|n| n == "search_sources"));

        // Newest first, as the store gives them.
        let learner = msg(Role::User, "Make me a podcast");
        let failed = note("photosynthesis");
        assert!(after_failure_note(&[
            msg(Role::Assistant, "Let me walk you through it"),
            failed.clone(),
            msg(Role::Notice, "I had trouble generating that."),
            learner.clone(),
        ]));
        assert!(!after_failure_note(&[
            msg(Role::User, "Try the podcast again"),
            failed,
            learner.clone()
        ]));
        assert!(!after_failure_note(&[learner]));
        assert!(!after_failure_note(&[]));
    }

    #[test]
    fn a_tool_not_offered_is_refused_with_a_reason() {
        let refusal = not_offered(GENERATE, &offered(false)).expect("refused");
        assert!(refusal.contains("not available now") && refusal.contains("search_sources"));
        assert!(not_offered(GENERATE, &offered(true)).is_none());
        assert!(not_offered("search_sources", &offered(false)).is_none());
        let none = not_offered("search_sources", &[]).expect("refused");
        assert!(none.contains("none"), "{none}");
        let unknown = not_offered("delete_notebook", &specs()).expect("refused");
        assert!(unknown.contains("no tool named"), "{unknown}");
    }

    #[test]
    fn a_note_never_becomes_a_topic() {
        let topic = "how plants turn sunlight, water and air into sugar and oxygen";
        let failed = note(topic);
        let guard = NoteGuard::new(&[
            msg(Role::User, "Make me a podcast about plants"),
            asked(topic),
            failed.clone(),
        ]);
        // The note as the model reads it, the note itself, or a long part of it.
        let shown = format!(
            "[Note from Mentor, not written by the learner]\n{}",
            failed.text
        );
        assert!(guard.refuses(&shown).is_some());
        assert!(guard.refuses(&failed.text).is_some());
        assert!(guard
            .refuses("Light reactions in the   thylakoid membrane and the Calvin cycle")
            .is_some());
        assert!(guard
            .refuses("Photosynthesis: the podcast could not be generated")
            .is_some());
        let refusal = guard.refuses(&shown).unwrap_or_default();
        assert!(refusal.contains("note from Mentor"), "{refusal}");

        // The learner's own topics stay allowed, even the one the note quotes.
        assert!(guard.refuses("photosynthesis").is_none());
        assert!(guard.refuses(topic).is_none());
        assert!(guard
            .refuses("Photosynthesis in the thylakoid membrane")
            .is_none());
        assert!(NoteGuard::default().refuses(topic).is_none());
    }
}
