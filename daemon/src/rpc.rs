//! The tarpc service implementation: thin. It checks the handshake, resolves the notebook the
//! caller named, and delegates to the store and source modules.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mentor_shared::artifacts::QuizAttempt;
use mentor_shared::chat::*;
use mentor_shared::ids::{NotebookId, UserId};
use mentor_shared::jobs::*;
use mentor_shared::protocol::*;
use mentor_shared::service::Mentor;
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use tarpc::context::Context;
use tokio_util::sync::CancellationToken;

use crate::queue::bus::Wait;
use crate::queue::sql::NewJob;
use crate::state::Daemon;
use crate::store::{conversations, notebooks, objectives, quiz, sources};

/// One connected client: who it is and whether it has shaken hands.
#[derive(Clone)]
pub struct Peer {
    daemon: Arc<Daemon>,
    user: UserId,
    greeted: Arc<AtomicBool>,
    /// Cancelled when the daemon shuts down or the client's connection stops being read (it
    /// left, or sent a bad frame): a long-poll then returns at once.
    gone: CancellationToken,
}

impl Peer {
    /// A new, not yet greeted, peer. `gone` is cancelled once the connection stops being read.
    pub fn new(daemon: Arc<Daemon>, user: UserId, gone: CancellationToken) -> Peer {
        Peer {
            daemon,
            user,
            greeted: Arc::new(AtomicBool::new(false)),
            gone,
        }
    }

    fn ready(&self) -> Result<(), ApiError> {
        if !self.greeted.load(Ordering::Acquire) {
            return Err(ApiError::HandshakeRequired);
        }
        if self.daemon.shutdown.is_cancelled() {
            return Err(ApiError::ShuttingDown);
        }
        Ok(())
    }

    async fn notebook(
        &self,
        reference: String,
    ) -> Result<mentor_shared::ids::NotebookId, ApiError> {
        let user = self.user;
        self.daemon
            .store
            .read(move |c| notebooks::resolve(c, user, &reference))
            .await
    }

    async fn show(&self, id: mentor_shared::ids::NotebookId) -> Result<Notebook, ApiError> {
        let user = self.user;
        self.daemon
            .store
            .read(move |c| notebooks::get(c, user, id))
            .await
    }
}

impl Mentor for Peer {
    async fn hello(self, _: Context, hello: ClientHello) -> Result<ServerHello, ApiError> {
        if hello.protocol != self.daemon.protocol {
            tracing::warn!(
                client = hello.protocol,
                daemon = self.daemon.protocol,
                "protocol version mismatch"
            );
            return Err(ApiError::VersionMismatch {
                client: hello.protocol,
                daemon: self.daemon.protocol,
            });
        }
        self.greeted.store(true, Ordering::Release);
        Ok(ServerHello {
            protocol: self.daemon.protocol,
            daemon_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
        })
    }

    async fn llm_info(self, _: Context) -> Result<LlmInfo, ApiError> {
        self.ready()?;
        Ok(self.daemon.llm.info().await)
    }

    async fn status(self, _: Context) -> Result<DaemonStatus, ApiError> {
        self.ready()?;
        let user = self.user;
        let (notebooks, sources) = self
            .daemon
            .store
            .read(move |c| notebooks::counts(c, user))
            .await?;
        let d = &self.daemon;
        Ok(DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: d.protocol,
            started: d.started,
            uptime_secs: d.started_at.elapsed().as_secs(),
            socket: d.dirs.socket().display().to_string(),
            database: d.store.path().display().to_string(),
            log_file: d.dirs.log_file().display().to_string(),
            connections: d.connections.load(Ordering::Relaxed),
            notebooks,
            sources,
        })
    }

    async fn shutdown(self, _: Context) -> Result<(), ApiError> {
        self.ready()?;
        tracing::info!("shutdown requested by a client");
        self.daemon.shutdown.cancel();
        Ok(())
    }

    async fn notebook_create(
        self,
        _: Context,
        title: String,
        module_prompt: Option<String>,
    ) -> Result<Notebook, ApiError> {
        self.ready()?;
        let title = notebooks::clean_title(&title)?;
        let prompt = notebooks::clean_prompt(module_prompt.as_deref().unwrap_or(""))?;
        let user = self.user;
        let id = self
            .daemon
            .store
            .write(move |tx| notebooks::create(tx, user, &title, &prompt))
            .await?;
        self.show(id).await
    }

    async fn notebook_list(self, _: Context) -> Result<Vec<NotebookSummary>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| notebooks::list(c, user))
            .await
    }

    async fn notebook_show(self, _: Context, notebook: String) -> Result<Notebook, ApiError> {
        self.ready()?;
        let id = self.notebook(notebook).await?;
        self.show(id).await
    }

    async fn notebook_rename(
        self,
        _: Context,
        notebook: String,
        title: String,
    ) -> Result<Notebook, ApiError> {
        self.ready()?;
        let title = notebooks::clean_title(&title)?;
        let user = self.user;
        let id = self
            .daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::rename(tx, id, &title)?;
                Ok(id)
            })
            .await?;
        self.show(id).await
    }

    async fn notebook_set_prompt(
        self,
        _: Context,
        notebook: String,
        module_prompt: String,
    ) -> Result<Notebook, ApiError> {
        self.ready()?;
        let prompt = notebooks::clean_prompt(&module_prompt)?;
        let user = self.user;
        let id = self
            .daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::set_prompt(tx, id, &prompt)?;
                Ok(id)
            })
            .await?;
        self.show(id).await
    }

    async fn notebook_delete(
        self,
        _: Context,
        notebook: String,
    ) -> Result<NotebookDeleted, ApiError> {
        self.ready()?;
        let user = self.user;
        // Its unfinished jobs end as cancelled in the same transaction (their watchers hear
        // it), their handlers are stopped, and everything goes with the notebook.
        let (deleted, cancelled) = self
            .daemon
            .queue
            .write_publish(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                let running = crate::queue::sql::running_in_notebook(tx, id)?;
                let cancelled = crate::queue::sql::cancel_notebook(tx, id, Timestamp::now())?;
                let deleted = notebooks::delete(tx, user, id)?;
                Ok(((deleted, running), cancelled))
            })
            .await?;
        for id in cancelled {
            self.daemon
                .queue
                .stop(id, crate::queue::StopReason::Cancelled);
        }
        self.daemon.chat.forget(user, deleted.id);
        crate::jobs::files::forget_notebook(&self.daemon, deleted.id);
        Ok(deleted)
    }

    async fn objective_add(
        self,
        _: Context,
        notebook: String,
        text: String,
    ) -> Result<Objective, ApiError> {
        self.ready()?;
        let text = objectives::clean_text(&text)?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::touch(tx, id)?;
                objectives::add(tx, id, &text)
            })
            .await
    }

    async fn objective_list(
        self,
        _: Context,
        notebook: String,
    ) -> Result<Vec<Objective>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| {
                let id = notebooks::resolve(c, user, &notebook)?;
                objectives::list(c, id)
            })
            .await
    }

    async fn objective_remove(
        self,
        _: Context,
        notebook: String,
        objective: String,
    ) -> Result<Objective, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::touch(tx, id)?;
                objectives::remove(tx, id, &objective)
            })
            .await
    }

    async fn source_add_files(
        self,
        _: Context,
        notebook: String,
        paths: Vec<String>,
    ) -> Result<Vec<Source>, ApiError> {
        self.ready()?;
        if paths.is_empty() {
            return Err(ApiError::EmptyField {
                field: "paths".into(),
            });
        }
        let notebook_id = self.notebook(notebook).await?;
        let limits = self.daemon.limits.clone();
        // Extract everything first: one bad file means nothing is added.
        let loaded = tokio::task::spawn_blocking(move || {
            paths
                .iter()
                .map(|p| crate::sources::load_file(p, &limits))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ApiError::Internal {
            message: e.to_string(),
        })??;
        let ids = self
            .daemon
            .store
            .write(move |tx| {
                let mut ids = Vec::new();
                for new in &loaded {
                    ids.push(sources::insert(tx, notebook_id, new)?);
                }
                notebooks::touch(tx, notebook_id)?;
                Ok(ids)
            })
            .await?;
        let all = self
            .daemon
            .store
            .read(move |c| sources::list(c, notebook_id))
            .await?;
        // In the order the learner gave the files.
        Ok(ids
            .iter()
            .filter_map(|id| all.iter().find(|s| s.id == *id).cloned())
            .collect())
    }

    async fn source_add_url(
        self,
        _: Context,
        notebook: String,
        url: String,
    ) -> Result<Source, ApiError> {
        self.ready()?;
        let notebook_id = self.notebook(notebook).await?;
        let new = crate::sources::load_url(&self.daemon.http, &url, &self.daemon.limits).await?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = sources::insert(tx, notebook_id, &new)?;
                notebooks::touch(tx, notebook_id)?;
                Ok(sources::get(tx, user, &id.to_string())?.source)
            })
            .await
    }

    async fn source_list(self, _: Context, notebook: String) -> Result<Vec<Source>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| {
                let id = notebooks::resolve(c, user, &notebook)?;
                sources::list(c, id)
            })
            .await
    }

    async fn source_show(self, _: Context, source: String) -> Result<SourceDetail, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| sources::get(c, user, &source))
            .await
    }

    async fn source_remove(self, _: Context, source: String) -> Result<Source, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let removed = sources::remove(tx, user, &source)?;
                notebooks::touch(tx, removed.notebook_id)?;
                Ok(removed)
            })
            .await
    }

    async fn source_search(
        self,
        _: Context,
        notebook: String,
        query: String,
        limit: u32,
    ) -> Result<Vec<SearchHit>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| {
                let id = notebooks::resolve(c, user, &notebook)?;
                sources::search(c, id, &query, limit)
            })
            .await
    }

    async fn job_submit(self, _: Context, request: JobRequest) -> Result<JobSubmitted, ApiError> {
        self.ready()?;
        let new = self.new_job(request).await?;
        let job = self.daemon.queue.enqueue(new).await?;
        Ok(JobSubmitted {
            artifact_id: job.artifact_id,
            job,
        })
    }

    async fn job_list(self, _: Context, filter: JobFilter) -> Result<Vec<Job>, ApiError> {
        self.ready()?;
        let notebook = match &filter.notebook {
            Some(n) => Some(self.notebook(n.clone()).await?),
            None => None,
        };
        self.daemon.queue.list(self.user, filter, notebook).await
    }

    async fn job_show(self, _: Context, job: String) -> Result<Job, ApiError> {
        self.ready()?;
        self.daemon.queue.get(self.user, job).await
    }

    async fn job_cancel(self, _: Context, job: String) -> Result<Job, ApiError> {
        self.ready()?;
        self.daemon.queue.cancel(self.user, job).await
    }

    async fn job_retry(self, _: Context, job: String) -> Result<Job, ApiError> {
        self.ready()?;
        self.daemon.queue.retry(self.user, job).await
    }

    async fn artifact_show(self, _: Context, artifact: String) -> Result<Artifact, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| crate::queue::sql::artifact(c, user, &artifact))
            .await
    }

    async fn artifact_list(self, _: Context, notebook: String) -> Result<Vec<Artifact>, ApiError> {
        self.ready()?;
        let id = self.notebook(notebook).await?;
        self.daemon
            .store
            .read(move |c| crate::queue::sql::artifacts(c, id))
            .await
    }

    async fn quiz_attempt_save(
        self,
        _: Context,
        artifact: String,
        answers: Vec<usize>,
    ) -> Result<QuizAttempt, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| quiz::save(tx, user, &artifact, &answers, Timestamp::now()))
            .await
    }

    async fn quiz_attempts(
        self,
        _: Context,
        artifact: String,
    ) -> Result<Vec<QuizAttempt>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| quiz::list(c, user, &artifact))
            .await
    }

    async fn events_next(self, _: Context, request: EventsRequest) -> Result<EventBatch, ApiError> {
        self.ready()?;
        let bus = self.daemon.queue.bus().clone();
        Ok(bus
            .next(
                self.user,
                request.after,
                &request.filter,
                Wait {
                    max: request.max_events as usize,
                    max_wait: std::time::Duration::from_millis(request.max_wait_ms),
                    linger: std::time::Duration::from_millis(request.linger_ms),
                    coalesce: request.coalesce_progress,
                },
                &self.gone,
            )
            .await)
    }

    async fn chat_send(
        self,
        _: Context,
        notebook: String,
        text: String,
    ) -> Result<ChatSent, ApiError> {
        self.ready()?;
        let id = self.notebook(notebook).await?;
        let d = &self.daemon;
        d.chat.send(d, self.user, id, text).await
    }

    async fn chat_cancel(self, _: Context, notebook: String) -> Result<bool, ApiError> {
        self.ready()?;
        let id = self.notebook(notebook).await?;
        let d = &self.daemon;
        d.chat.cancel(d, self.user, id).await
    }

    async fn chat_history(
        self,
        _: Context,
        notebook: String,
        limit: u32,
    ) -> Result<ChatHistory, ApiError> {
        self.ready()?;
        let id = self.notebook(notebook).await?;
        let d = &self.daemon;
        d.chat.history(d, self.user, id, limit).await
    }

    async fn profile_show(self, _: Context) -> Result<Profile, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| conversations::profile(c, user))
            .await
    }

    async fn profile_set(self, _: Context, update: ProfileUpdate) -> Result<Profile, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let mut profile = conversations::profile(tx, user)?;
                apply_profile(&mut profile, update)?;
                conversations::set_profile(tx, user, &profile, Timestamp::now())?;
                Ok(profile)
            })
            .await
    }
}

/// Longest name or level in the profile.
const MAX_PROFILE_CHARS: usize = 200;

/// Applies a profile change: `None` keeps a field, an empty text clears it.
fn apply_profile(profile: &mut Profile, update: ProfileUpdate) -> Result<(), ApiError> {
    let text = |field: &str, value: String| -> Result<Option<String>, ApiError> {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.chars().count() > MAX_PROFILE_CHARS {
            return Err(ApiError::FieldTooLong {
                field: field.into(),
                max: MAX_PROFILE_CHARS as u64,
            });
        }
        Ok((!value.is_empty()).then_some(value))
    };
    if let Some(name) = update.name {
        profile.name = text("name", name)?;
    }
    if let Some(level) = update.level {
        profile.level = text("level", level)?;
    }
    if let Some(language) = update.language {
        let language = language.trim();
        profile.language = if language.is_empty() {
            None
        } else {
            match mentor_shared::i18n::Lang::from_tag(language) {
                Some(lang) => Some(lang.tag().to_string()),
                None => {
                    return Err(ApiError::InvalidOption {
                        field: "language".into(),
                        problem: format!("{language} (en-US, fr-FR)"),
                    })
                }
            }
        };
    }
    Ok(())
}

/// Longest topic accepted.
const MAX_TOPIC_CHARS: usize = 2000;

impl Peer {
    /// Checks a job request and turns it into a row to insert.
    async fn new_job(&self, request: JobRequest) -> Result<NewJob, ApiError> {
        let id = self.notebook(request.notebook.clone()).await?;
        prepare_job(&self.daemon, self.user, id, request, false).await
    }
}

/// Checks a job request for a notebook already resolved and turns it into a row to insert.
/// The `generate` command and the teacher's `generate_artifact` tool both come through here.
pub(crate) async fn prepare_job(
    daemon: &Daemon,
    user: UserId,
    notebook: NotebookId,
    request: JobRequest,
    notify_chat: bool,
) -> Result<NewJob, ApiError> {
    let JobRequest {
        topic,
        language,
        spec,
        ..
    } = request;
    let topic = topic.split_whitespace().collect::<Vec<_>>().join(" ");
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(ApiError::FieldTooLong {
            field: "topic".into(),
            max: MAX_TOPIC_CHARS as u64,
        });
    }
    if let JobSpec::Quiz { questions, .. } = &spec {
        if !(1..=50).contains(questions) {
            return Err(ApiError::InvalidOption {
                field: "questions".into(),
                problem: format!("{questions} (1–50)"),
            });
        }
    }
    let language = match language {
        Some(tag) => match mentor_shared::i18n::Lang::from_tag(&tag) {
            Some(lang) => lang,
            None => {
                return Err(ApiError::InvalidOption {
                    field: "language".into(),
                    problem: tag,
                })
            }
        },
        None => mentor_shared::i18n::process_lang(),
    };
    let kind = spec.kind();
    if daemon.queue.handler(kind).is_none() {
        return Err(ApiError::NoHandler {
            kind: kind.as_str().into(),
        });
    }
    let wants_artifact =
        kind.makes_artifact() || matches!(&spec, JobSpec::Test(script) if script.artifact);
    let artifact_title = if wants_artifact && topic.is_empty() {
        let shown = daemon
            .store
            .read(move |c| notebooks::get(c, user, notebook))
            .await?;
        Some(shown.title)
    } else {
        wants_artifact.then(|| topic.clone())
    };
    Ok(NewJob {
        user,
        notebook: Some(notebook),
        kind,
        topic,
        params: serde_json::json!({ "spec": spec, "language": language.tag() }),
        max_attempts: daemon.config.jobs.max_attempts,
        artifact_title,
        notify_chat,
    })
}
