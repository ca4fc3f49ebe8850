//! One conversation's actor and its turns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mentor_shared::chat::{
    ChatMessage, ChatSent, MessageState, Notice, NoticeKind, Role, ToolCall, TurnOutcome,
};
use mentor_shared::i18n::{self, FluentArgs, FluentValue, Lang};
use mentor_shared::ids::{MessageId, NotebookId, UserId};
use mentor_shared::jobs::{EventBody, JobKind, JobStatus};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::prompt::{Prompts, SystemInput, WalkthroughInput};
use super::tools::{self, Scope};
use super::{history, shortcut};
use crate::llm::{ChatRequest, Delta, Priority, ToolSpec, WireMessage};
use crate::queue::sql::{self as jobsql, JobRow};
use crate::state::Daemon;
use crate::store::{conversations, notebooks, sources};

/// Passages put in the system prompt at most (before the token budget).
const PASSAGES: u32 = 8;
/// The share of the model's window (percent) the history may take at most.
const HISTORY_WINDOW_PERCENT: u32 = 35;
/// The share of the model's window (percent) the passages may take at most.
const PASSAGES_WINDOW_PERCENT: u32 = 20;
/// Bytes a reply may grow by without a sentence's end before it is checked for a loop.
const LOOP_CHECK_BYTES: usize = 256;
/// How often the text of a streaming reply is saved.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Tokens of a failed job's outline or transcript given to the walkthrough.
const WALKTHROUGH_BUDGET: u32 = 1500;

/// What a session is asked to do.
pub(super) enum Command {
    /// The learner wrote.
    Send {
        text: String,
        reply: oneshot::Sender<Result<ChatSent, ApiError>>,
    },
    /// Stop the streaming reply.
    Cancel { reply: oneshot::Sender<bool> },
    /// A job of this notebook ended: announce what the conversation asked for.
    JobsEnded,
    /// The running turn finished.
    TurnDone,
    /// The notebook is gone.
    Close,
}

/// A handle on a session's actor.
#[derive(Clone)]
pub(super) struct Session {
    tx: mpsc::UnboundedSender<Command>,
    busy: Arc<AtomicBool>,
}

impl Session {
    /// Starts the actor of (user, notebook).
    pub(super) fn spawn(daemon: Arc<Daemon>, user: UserId, notebook: NotebookId) -> Session {
        let (tx, rx) = mpsc::unbounded_channel();
        let busy = Arc::new(AtomicBool::new(false));
        let actor = Actor {
            ctx: Arc::new(TurnCtx {
                daemon: daemon.clone(),
                user,
                notebook,
            }),
            tx: tx.clone(),
            busy: busy.clone(),
            turn: None,
            wants_turn: false,
            announce_pending: false,
        };
        daemon.tasks.spawn(actor.run(rx));
        Session { tx, busy }
    }

    /// Sends a command; fails only when the daemon is stopping.
    pub(super) fn command(&self, command: Command) -> Result<(), ApiError> {
        self.tx.send(command).map_err(|_| ApiError::ShuttingDown)
    }

    /// True while a reply streams.
    pub(super) fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }
}

/// What a turn needs to know.
struct TurnCtx {
    daemon: Arc<Daemon>,
    user: UserId,
    notebook: NotebookId,
}

struct Actor {
    ctx: Arc<TurnCtx>,
    tx: mpsc::UnboundedSender<Command>,
    busy: Arc<AtomicBool>,
    turn: Option<CancellationToken>,
    wants_turn: bool,
    announce_pending: bool,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let shutdown = self.ctx.daemon.shutdown.clone();
        loop {
            let command = tokio::select! {
                c = rx.recv() => c,
                _ = shutdown.cancelled() => None,
            };
            let Some(command) = command else { break };
            match command {
                Command::Send { text, reply } => {
                    let sent = self.store_user_message(text).await;
                    let _ = reply.send(sent);
                }
                Command::Cancel { reply } => {
                    let running = self.turn.as_ref().inspect(|t| t.cancel()).is_some();
                    let _ = reply.send(running);
                }
                Command::JobsEnded => {
                    if self.turn.is_some() {
                        self.announce_pending = true;
                    } else {
                        self.announce().await;
                        self.maybe_start();
                    }
                }
                Command::TurnDone => {
                    self.turn = None;
                    self.busy.store(false, Ordering::Release);
                    if std::mem::take(&mut self.announce_pending) {
                        self.announce().await;
                    }
                    self.maybe_start();
                }
                Command::Close => {
                    if let Some(t) = &self.turn {
                        t.cancel();
                    }
                    break;
                }
            }
        }
        if let Some(t) = self.turn.take() {
            t.cancel();
        }
    }

    async fn store_user_message(&mut self, text: String) -> Result<ChatSent, ApiError> {
        let ctx = &self.ctx;
        let message = new_message(ctx.notebook, Role::User, text, MessageState::Complete);
        insert_and_publish(ctx, vec![message.clone()]).await?;
        let queued = self.turn.is_some();
        self.wants_turn = true;
        self.maybe_start();
        Ok(ChatSent { message, queued })
    }

    fn maybe_start(&mut self) {
        if self.turn.is_some() || !std::mem::take(&mut self.wants_turn) {
            return;
        }
        let cancel = self.ctx.daemon.shutdown.child_token();
        self.turn = Some(cancel.clone());
        self.busy.store(true, Ordering::Release);
        let ctx = self.ctx.clone();
        let tx = self.tx.clone();
        self.ctx.daemon.tasks.spawn(async move {
            let outcome = run_turn(&ctx, &cancel).await;
            if let TurnOutcome::Failed { error } = &outcome {
                tracing::warn!(notebook = %ctx.notebook, error = %error, "turn failed");
            }
            ctx.daemon.queue.bus().publish(
                ctx.user,
                EventBody::TurnEnded {
                    notebook_id: ctx.notebook,
                    outcome,
                },
            );
            let _ = tx.send(Command::TurnDone);
        });
    }

    /// Tells the conversation how its jobs ended: a notice each (stored with the mark that
    /// it was said, in one transaction), and for a failure a note to the model and a
    /// walkthrough turn.
    async fn announce(&mut self) {
        let ctx = self.ctx.clone();
        let notebook = ctx.notebook;
        let found = ctx
            .daemon
            .store
            .read(move |c| {
                let rows = conversations::ended_unannounced(c, Some(notebook))?;
                let mut out = Vec::new();
                for row in rows {
                    let kept = if row.job.status == JobStatus::Error {
                        Some(jobsql::checkpoints(c, row.job.id)?)
                    } else {
                        None
                    };
                    let title = conversations::artifact_title(c, row.job.id)?;
                    out.push((row, kept, title));
                }
                Ok(out)
            })
            .await;
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the jobs to announce");
                return;
            }
        };
        if found.is_empty() {
            return;
        }
        let lang = learner_lang(&ctx).await;
        let prompts = Prompts::load(&ctx.daemon.dirs.config).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "using the built-in prompts for a walkthrough note");
            Prompts::builtin()
        });
        for (row, kept, title) in found {
            let (messages, failed) =
                notice_for(&row, kept.as_ref(), title, lang, &prompts, notebook);
            let job = row.job.id;
            let published = messages.clone();
            let user = ctx.user;
            let bus = ctx.daemon.queue.bus().clone();
            let written = ctx
                .daemon
                .store
                .write_then(
                    move |tx| {
                        if !conversations::mark_announced(tx, job)? {
                            return Ok(false);
                        }
                        for m in &messages {
                            conversations::insert(tx, user, m)?;
                        }
                        Ok(true)
                    },
                    move |said: &bool| {
                        if *said {
                            publish_messages(&bus, user, published);
                        }
                    },
                )
                .await;
            match written {
                Ok(true) if failed => self.wants_turn = true,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, %job, "cannot store a job notice"),
            }
        }
    }
}

fn new_message(notebook: NotebookId, role: Role, text: String, state: MessageState) -> ChatMessage {
    ChatMessage {
        id: MessageId::new(),
        notebook_id: notebook,
        role,
        text,
        tool_calls: Vec::new(),
        tool_call_id: None,
        tool_name: None,
        tool_error: false,
        notice: None,
        state,
        error: None,
        created: Timestamp::now(),
    }
}

/// Publishes stored messages (notes to the model stay private).
fn publish_messages(bus: &crate::queue::bus::EventBus, user: UserId, messages: Vec<ChatMessage>) {
    for message in messages {
        if message.role != Role::SystemNote {
            bus.publish(user, EventBody::Message { message });
        }
    }
}

/// Stores messages in one transaction and publishes them in commit order.
async fn insert_and_publish(ctx: &TurnCtx, messages: Vec<ChatMessage>) -> Result<(), ApiError> {
    let user = ctx.user;
    let bus = ctx.daemon.queue.bus().clone();
    let published = messages.clone();
    ctx.daemon
        .store
        .write_then(
            move |tx| {
                for m in &messages {
                    conversations::insert(tx, user, m)?;
                }
                Ok(())
            },
            move |_| publish_messages(&bus, user, published),
        )
        .await
}

/// Stores how a reply ended and publishes it.
async fn finish_and_publish(ctx: &TurnCtx, message: ChatMessage) -> Result<(), ApiError> {
    let user = ctx.user;
    let bus = ctx.daemon.queue.bus().clone();
    let published = message.clone();
    ctx.daemon
        .store
        .write_then(
            move |tx| conversations::finish(tx, &message),
            move |_| {
                bus.publish(user, EventBody::MessageDone { message: published });
            },
        )
        .await
}

/// The language the teacher speaks with this learner.
async fn learner_lang(ctx: &TurnCtx) -> Lang {
    let user = ctx.user;
    ctx.daemon
        .store
        .read(move |c| conversations::profile(c, user))
        .await
        .ok()
        .and_then(|p| p.language)
        .and_then(|tag| Lang::from_tag(&tag))
        .unwrap_or_else(i18n::process_lang)
}

/// A localized fixed sentence.
pub(super) fn sentence(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    let mut fluent = FluentArgs::new();
    for (k, v) in args {
        fluent.set(*k, FluentValue::from(v.clone()));
    }
    i18n::localizer(lang).text(id, Some(&fluent))
}

/// The notice (and, for a failure, the note to the model) announcing how a job ended.
fn notice_for(
    row: &JobRow,
    kept: Option<&std::collections::BTreeMap<String, serde_json::Value>>,
    artifact_title: Option<String>,
    lang: Lang,
    prompts: &Prompts,
    notebook: NotebookId,
) -> (Vec<ChatMessage>, bool) {
    let job = &row.job;
    let (kind, text) = match job.status {
        JobStatus::Completed => {
            let id = match job.kind {
                JobKind::Podcast => "notice-ready-podcast",
                JobKind::Quiz => "notice-ready-quiz",
                JobKind::StudyGuide => "notice-ready-study_guide",
                JobKind::Test => "notice-ready-test",
            };
            let artifact = job.artifact_id.map(|a| a.to_string()).unwrap_or_default();
            // The title the generator wrote, else the topic, else the kind.
            let title = artifact_title
                .filter(|t| !t.trim().is_empty())
                .or_else(|| (!job.topic.is_empty()).then(|| job.topic.clone()))
                .unwrap_or_else(|| i18n::localizer(lang).text(job.kind.message_id(), None));
            (
                NoticeKind::Ready,
                sentence(lang, id, &[("title", title), ("artifact", artifact)]),
            )
        }
        JobStatus::Cancelled => (
            NoticeKind::Cancelled,
            sentence(lang, "notice-cancelled", &[]),
        ),
        _ => (NoticeKind::Failed, sentence(lang, "notice-failed", &[])),
    };
    let reason = job.error_message.clone();
    let mut notice = new_message(notebook, Role::Notice, text, MessageState::Complete);
    notice.notice = Some(Notice {
        kind,
        job_id: job.id,
        job_kind: job.kind,
        artifact_id: job.artifact_id,
        reason: reason.clone(),
    });
    let mut out = vec![notice];
    let failed = kind == NoticeKind::Failed;
    if failed {
        let text_of = |name: &str| -> Option<String> {
            let v = kept?.get(name)?;
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        };
        let outline = text_of("outline");
        let transcript = text_of("transcript");
        let reason = reason.unwrap_or_default();
        let input = WalkthroughInput {
            language: lang,
            kind: job.kind,
            topic: &job.topic,
            reason: &reason,
            outline: outline.as_deref(),
            transcript: transcript.as_deref(),
            budget_tokens: WALKTHROUGH_BUDGET,
        };
        let note = prompts
            .walkthrough(&input)
            .or_else(|_| Prompts::builtin().walkthrough(&input))
            .unwrap_or_else(|_| {
                format!(
                    "The {} about {} could not be generated ({reason}). Walk the learner \
                     through the topic yourself; do not call generate_artifact again unless \
                     they ask.",
                    job.kind.as_str(),
                    job.topic
                )
            });
        out.push(new_message(
            notebook,
            Role::SystemNote,
            note,
            MessageState::Complete,
        ));
    }
    (out, failed)
}

/// One turn: model rounds until the teacher answers without calling a tool (or the round
/// limit), each round streamed to the bus and stored.
async fn run_turn(ctx: &TurnCtx, cancel: &CancellationToken) -> TurnOutcome {
    let daemon = &ctx.daemon;
    let lang = learner_lang(ctx).await;
    let prompts = match Prompts::load(&daemon.dirs.config) {
        Ok(p) => p,
        Err(error) => return TurnOutcome::Failed { error },
    };
    // What the model is shown at the turn's start decides what it may do in every round:
    // after a failed job, until the learner writes again, it walks them through the topic
    // and is not offered `generate_artifact` (a model that always calls it would otherwise
    // start job after job, each failure opening another walkthrough).
    let notebook = ctx.notebook;
    let budget = daemon.config.chat.history_budget_tokens;
    let recent = match daemon
        .store
        .read(move |c| conversations::recent_within(c, notebook, budget, history::cost))
        .await
    {
        Ok(recent) => recent,
        Err(error) => return TurnOutcome::Failed { error },
    };
    let offered = tools::offered(!tools::after_failure_note(&recent));
    let scope = Scope {
        user: ctx.user,
        notebook: ctx.notebook,
        lang,
        notes: tools::NoteGuard::new(&recent),
    };
    let max_rounds = daemon.config.chat.max_tool_rounds.max(1);
    // The learner's shortcuts (`/quiz …`): the turn's first step is their calls, made
    // without asking the model. When the learner wrote nothing else, that is the whole turn:
    // the daemon's notice acknowledges them, and the model is left free for the jobs.
    let (mut shortcuts, only_shortcuts) = match shortcut_calls(ctx).await {
        Ok(found) => found,
        Err(error) => return TurnOutcome::Failed { error },
    };
    for round in 0..=max_rounds {
        if cancel.is_cancelled() {
            return TurnOutcome::Stopped;
        }
        // The model is asked unless the round is the shortcuts'. The last round offers no
        // tools, so the model has to answer in words.
        let request = if shortcuts.is_empty() {
            let tools = if round < max_rounds {
                offered.clone()
            } else {
                Vec::new()
            };
            match build_request(ctx, &prompts, lang, tools).await {
                Ok(r) => Some(r),
                Err(error) => return TurnOutcome::Failed { error },
            }
        } else {
            None
        };
        let mut reply = new_message(
            ctx.notebook,
            Role::Assistant,
            String::new(),
            MessageState::Streaming,
        );
        if let Err(error) = insert_and_publish(ctx, vec![reply.clone()]).await {
            return TurnOutcome::Failed { error };
        }
        let shortcut_round = request.is_none();
        match request {
            Some(request) => {
                let mut result = model_reply(ctx, &request, &mut reply, cancel).await;
                // A request too big for the model's window: learn the window, and once,
                // build the request again within it.
                let overflow = match &result {
                    Err(TurnOutcome::Failed { error }) if reply.text.is_empty() => {
                        crate::llm::window::overflow(error)
                    }
                    _ => None,
                };
                if let Some(named) = overflow {
                    let tried = crate::llm::window::request_tokens(&request.messages);
                    daemon.llm.overflowed(named, tried);
                    if let Ok(smaller) = build_request(ctx, &prompts, lang, request.tools).await {
                        reply.state = MessageState::Streaming;
                        reply.error = None;
                        result = model_reply(ctx, &smaller, &mut reply, cancel).await;
                    }
                }
                if let Err(outcome) = result {
                    if let Err(e) = finish_and_publish(ctx, reply).await {
                        tracing::error!(error = %e, "cannot store the end of a reply");
                    }
                    return outcome;
                }
            }
            None => reply.tool_calls = std::mem::take(&mut shortcuts),
        }
        reply.state = MessageState::Complete;
        let calls = reply.tool_calls.clone();
        if let Err(error) = finish_and_publish(ctx, reply.clone()).await {
            return TurnOutcome::Failed { error };
        }
        if calls.is_empty() {
            return TurnOutcome::Completed;
        }
        for call in calls {
            if cancel.is_cancelled() {
                return TurnOutcome::Stopped;
            }
            daemon.queue.bus().publish(
                ctx.user,
                EventBody::ToolCall {
                    notebook_id: ctx.notebook,
                    message_id: reply.id,
                    call: call.clone(),
                },
            );
            // The learner's shortcuts are their own request: every tool is theirs to ask for.
            let allowed = if shortcut_round {
                tools::specs()
            } else {
                offered.clone()
            };
            let outcome = tools::run(daemon, &scope, &call, &allowed).await;
            let mut content = outcome.content;
            let mut messages = Vec::new();
            if let Some(job) = &outcome.submitted {
                let ack = sentence(lang, "notice-submitted", &[]);
                let told = prompts
                    .tool_submitted(&ack, job.kind.as_str(), &job.topic)
                    .unwrap_or_else(|_| {
                        format!(
                            "The learner has already been told: \"{ack}\". Do not repeat it; \
                             continue teaching."
                        )
                    });
                content["message"] = serde_json::Value::String(told);
                let mut notice =
                    new_message(ctx.notebook, Role::Notice, ack, MessageState::Complete);
                notice.notice = Some(Notice {
                    kind: NoticeKind::Submitted,
                    job_id: job.id,
                    job_kind: job.kind,
                    artifact_id: job.artifact_id,
                    reason: None,
                });
                messages.push(notice);
            }
            let mut result = new_message(
                ctx.notebook,
                Role::Tool,
                content.to_string(),
                MessageState::Complete,
            );
            result.tool_call_id = Some(call.id.clone());
            result.tool_name = Some(call.name.clone());
            result.tool_error = outcome.is_error;
            messages.insert(0, result);
            if let Err(error) = insert_and_publish(ctx, messages).await {
                return TurnOutcome::Failed { error };
            }
        }
        if shortcut_round && only_shortcuts {
            return TurnOutcome::Completed;
        }
    }
    TurnOutcome::Completed
}

/// The model's answer to `request`, streamed into `reply`. Offered no tools, a model that
/// still calls some would go on for ever: its calls are not run (the history gives them an
/// error result), and the learner is told why the turn ends without an answer.
async fn model_reply(
    ctx: &TurnCtx,
    request: &ChatRequest,
    reply: &mut ChatMessage,
    cancel: &CancellationToken,
) -> Result<(), TurnOutcome> {
    stream_reply(ctx, request, reply, cancel).await?;
    if request.tools.is_empty() && !reply.tool_calls.is_empty() {
        let error = ApiError::ToolRounds {
            rounds: ctx.daemon.config.chat.max_tool_rounds.max(1),
        };
        reply.state = MessageState::Failed;
        reply.error = Some(error.clone());
        return Err(TurnOutcome::Failed { error });
    }
    Ok(())
}

/// The calls the learner's unanswered shortcuts stand for, in the order they were typed, and
/// whether those messages are all shortcuts.
async fn shortcut_calls(ctx: &TurnCtx) -> Result<(Vec<ToolCall>, bool), ApiError> {
    let notebook = ctx.notebook;
    let unanswered = ctx
        .daemon
        .store
        .read(move |c| conversations::unanswered(c, notebook))
        .await?;
    let asked: Vec<_> = unanswered
        .iter()
        .filter_map(|m| mentor_shared::chat::shortcut(&m.text))
        .collect();
    let only = asked.len() == unanswered.len();
    let calls = asked
        .into_iter()
        .enumerate()
        .map(|(n, (kind, topic))| shortcut::call(kind, &topic, n))
        .collect();
    Ok((calls, only))
}

/// Streams one model answer into `reply`, publishing its text as it comes. On failure or
/// stop, `reply` holds what arrived, marked accordingly, and the turn's outcome is returned.
async fn stream_reply(
    ctx: &TurnCtx,
    request: &ChatRequest,
    reply: &mut ChatMessage,
    cancel: &CancellationToken,
) -> Result<(), TurnOutcome> {
    let daemon = &ctx.daemon;
    let bus = daemon.queue.bus();
    let stopped = |reply: &mut ChatMessage| {
        reply.state = MessageState::Stopped;
        TurnOutcome::Stopped
    };
    let failed = |reply: &mut ChatMessage, error: ApiError| {
        reply.state = MessageState::Failed;
        reply.error = Some(error.clone());
        TurnOutcome::Failed { error }
    };
    let mut stream = tokio::select! {
        s = daemon.llm.stream(request, Priority::Chat) => match s {
            Ok(s) => s,
            Err(e) => return Err(failed(reply, e)),
        },
        _ = cancel.cancelled() => return Err(stopped(reply)),
    };
    let mut saved = std::time::Instant::now();
    let mut checked = 0;
    loop {
        tokio::select! {
            next = stream.next() => match next {
                Ok(Some(Delta::Text(text))) => {
                    reply.text.push_str(&text);
                    let ends = text.contains(['.', '!', '?', ';', '\n']);
                    bus.publish(ctx.user, EventBody::Token {
                        notebook_id: ctx.notebook,
                        message_id: reply.id,
                        text,
                    });
                    // A reply that loops is cut where the loop starts, and ends there.
                    if ends || reply.text.len() > checked + LOOP_CHECK_BYTES {
                        checked = reply.text.len();
                        if let Some(at) = crate::jobs::quality::looping(&reply.text) {
                            tracing::info!(kept = at, "the reply loops; stopping it");
                            reply.text.truncate(at);
                            reply.text.truncate(reply.text.trim_end().len());
                            reply.error = Some(ApiError::ReplyLooped);
                            return Err(stopped(reply));
                        }
                    }
                    // What the learner has seen survives a crash (up to a second of it).
                    if saved.elapsed() >= SAVE_EVERY {
                        saved = std::time::Instant::now();
                        let partial = reply.clone();
                        if let Err(e) = daemon
                            .store
                            .write(move |tx| conversations::finish(tx, &partial))
                            .await
                        {
                            tracing::warn!(error = %e, "cannot save a partial reply");
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(failed(reply, e)),
            },
            _ = cancel.cancelled() => return Err(stopped(reply)),
        }
    }
    let completion = stream.finish();
    reply.text = completion.text;
    reply.tool_calls = completion.tool_calls;
    Ok(())
}

/// The system prompt and the history that fits the budget, offering `tools`.
async fn build_request(
    ctx: &TurnCtx,
    prompts: &Prompts,
    lang: Lang,
    tools: Vec<ToolSpec>,
) -> Result<ChatRequest, ApiError> {
    let (user, notebook) = (ctx.user, ctx.notebook);
    let config = &ctx.daemon.config.chat;
    let (mut budget, mut passages_budget) =
        (config.history_budget_tokens, config.passages_budget_tokens);
    // Within the model's window: the history and the passages take their shares of it, and
    // the rest is for the system prompt, the tools and the answer.
    if let Some(window) = ctx.daemon.llm.window().await {
        budget = budget.min(window / 100 * HISTORY_WINDOW_PERCENT);
        passages_budget = passages_budget.min(window / 100 * PASSAGES_WINDOW_PERCENT);
    }
    let (shown, profile, recent, passages) = ctx
        .daemon
        .store
        .read(move |c| {
            let shown = notebooks::get(c, user, notebook)?;
            let profile = conversations::profile(c, user)?;
            let recent = conversations::recent_within(c, notebook, budget, history::cost)?;
            let question = recent
                .iter()
                .find(|m| m.role == Role::User)
                .map(|m| m.text.clone());
            let passages = match question {
                Some(q) => match sources::passages(c, notebook, &q, PASSAGES) {
                    Ok(hits) => hits,
                    Err(crate::store::StoreError::Api(ApiError::EmptyQuery)) => Vec::new(),
                    Err(e) => return Err(e),
                },
                None => Vec::new(),
            };
            Ok((shown, profile, recent, passages))
        })
        .await?;
    let system = prompts.system(&SystemInput {
        language: lang,
        notebook_title: &shown.title,
        module_prompt: &shown.module_prompt,
        profile: &profile,
        objectives: &shown.objectives,
        passages: &passages,
        passages_budget_tokens: passages_budget,
    })?;
    let mut oldest_first = recent;
    oldest_first.reverse();
    let mut messages = vec![WireMessage::System(system)];
    messages.extend(history::to_wire(&oldest_first));
    Ok(ChatRequest {
        messages,
        tools,
        temperature: None,
        max_tokens: None,
        ignore_eos: false,
    })
}
