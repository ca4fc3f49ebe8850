//! The tarpc service: every request the daemon answers. Every method but `hello` requires the
//! version handshake first. Notebooks are named by id or title (`notebook: String`) and
//! resolved by the daemon, so every client gets the same matching rules.

use crate::artifacts::QuizAttempt;
use crate::chat::*;
use crate::error::ApiError;
use crate::jobs::*;
use crate::protocol::*;

/// The Mentor daemon's service.
#[tarpc::service]
pub trait Mentor {
    /// Version handshake; must be the first call on a connection.
    async fn hello(hello: ClientHello) -> Result<ServerHello, ApiError>;
    /// The daemon's status.
    async fn status() -> Result<DaemonStatus, ApiError>;
    /// Asks the daemon to stop gracefully.
    async fn shutdown() -> Result<(), ApiError>;
    /// Which model answers now (the server or the local model) and how the local model is.
    async fn llm_info() -> Result<LlmInfo, ApiError>;

    /// Creates a notebook.
    async fn notebook_create(
        title: String,
        module_prompt: Option<String>,
    ) -> Result<Notebook, ApiError>;
    /// Lists notebooks, most recently changed first.
    async fn notebook_list() -> Result<Vec<NotebookSummary>, ApiError>;
    /// One notebook with its objectives and sources.
    async fn notebook_show(notebook: String) -> Result<Notebook, ApiError>;
    /// Renames a notebook.
    async fn notebook_rename(notebook: String, title: String) -> Result<Notebook, ApiError>;
    /// Replaces a notebook's module prompt (empty clears it).
    async fn notebook_set_prompt(
        notebook: String,
        module_prompt: String,
    ) -> Result<Notebook, ApiError>;
    /// Deletes a notebook and everything in it.
    async fn notebook_delete(notebook: String) -> Result<NotebookDeleted, ApiError>;

    /// Adds a learning objective.
    async fn objective_add(notebook: String, text: String) -> Result<Objective, ApiError>;
    /// Lists a notebook's objectives.
    async fn objective_list(notebook: String) -> Result<Vec<Objective>, ApiError>;
    /// Removes an objective, named by id or 1-based position.
    async fn objective_remove(notebook: String, objective: String) -> Result<Objective, ApiError>;

    /// Adds files (absolute paths) as sources: all of them, or none if any fails.
    async fn source_add_files(
        notebook: String,
        paths: Vec<String>,
    ) -> Result<Vec<Source>, ApiError>;
    /// Fetches a URL and adds it as a source.
    async fn source_add_url(notebook: String, url: String) -> Result<Source, ApiError>;
    /// Lists a notebook's sources.
    async fn source_list(notebook: String) -> Result<Vec<Source>, ApiError>;
    /// One source with its text.
    async fn source_show(source: String) -> Result<SourceDetail, ApiError>;
    /// Removes a source.
    async fn source_remove(source: String) -> Result<Source, ApiError>;
    /// Full-text search over a notebook's sources.
    async fn source_search(
        notebook: String,
        query: String,
        limit: u32,
    ) -> Result<Vec<SearchHit>, ApiError>;

    /// Submits a job; returns at once with the pending job (and its artifact placeholder).
    async fn job_submit(request: JobRequest) -> Result<JobSubmitted, ApiError>;
    /// Lists jobs, newest first.
    async fn job_list(filter: JobFilter) -> Result<Vec<Job>, ApiError>;
    /// One job (id with or without `job:`).
    async fn job_show(job: String) -> Result<Job, ApiError>;
    /// Cancels a pending or running job (a running one ends within a second).
    async fn job_cancel(job: String) -> Result<Job, ApiError>;
    /// Puts a failed or cancelled job back in the queue, keeping its finished steps.
    async fn job_retry(job: String) -> Result<Job, ApiError>;
    /// One artifact.
    async fn artifact_show(artifact: String) -> Result<Artifact, ApiError>;
    /// A notebook's artifacts, newest first.
    async fn artifact_list(notebook: String) -> Result<Vec<Artifact>, ApiError>;
    /// Records one attempt at a ready quiz: the option chosen (0–3) for each question, in
    /// order. The daemon scores it and numbers it (1 for the first attempt).
    async fn quiz_attempt_save(
        artifact: String,
        answers: Vec<usize>,
    ) -> Result<QuizAttempt, ApiError>;
    /// A quiz's attempts, oldest first.
    async fn quiz_attempts(artifact: String) -> Result<Vec<QuizAttempt>, ApiError>;
    /// Long-poll: returns as soon as there are events after the cursor (woken by the event
    /// bus, never by a timer) or when `max_wait_ms` has passed.
    async fn events_next(request: EventsRequest) -> Result<EventBatch, ApiError>;

    /// Sends the learner's message to the notebook's teacher. Returns at once with the stored
    /// message; the reply streams as events (`message`, `token`, `tool_call`, `message_done`,
    /// `turn_ended`). A message sent while a reply streams is answered right after it.
    async fn chat_send(notebook: String, text: String) -> Result<ChatSent, ApiError>;
    /// Stops the reply being streamed in the notebook's conversation (the partial reply is
    /// kept, marked stopped). Messages sent during that reply are still answered next. True
    /// if a reply was stopped.
    async fn chat_cancel(notebook: String) -> Result<bool, ApiError>;
    /// The last `limit` messages of the notebook's conversation (0: all).
    async fn chat_history(notebook: String, limit: u32) -> Result<ChatHistory, ApiError>;
    /// The learner profile.
    async fn profile_show() -> Result<Profile, ApiError>;
    /// Changes the learner profile.
    async fn profile_set(update: ProfileUpdate) -> Result<Profile, ApiError>;
}
