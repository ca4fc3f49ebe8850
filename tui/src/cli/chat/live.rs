//! The live conversation: `mentor chat --message` (one message, its reply streamed, then exit)
//! and `mentor chat --plain` (line by line on stdin and stdout until /quit or end of input).
//!
//! Both subscribe before they speak: the cursor is taken, *then* the message is sent, then the
//! notebook's events are long-polled from that cursor, so not one token is missed. Both are one
//! `select!` loop over the long-poll, Ctrl+C and (plain) the learner's lines.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal};

use mentor_shared::chat::{ChatSent, Role, TurnOutcome};
use mentor_shared::i18n::{self, Localizer};
use mentor_shared::ids::{MessageId, NotebookId};
use mentor_shared::jobs::EventBody;
use mentor_shared::t;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

use super::announce::JobAnnouncer;
use super::printer::{Layout, Printer};
use super::turn::{JobWaits, TurnWatch};
use super::{words, Target};
use crate::cli::events::{call, current_cursor, recover, NotebookEvents, Trouble};
use crate::cli::Env;
use crate::client::{ctx, Client};
use crate::error::CliError;

/// Messages of the conversation read back after missed events.
const CATCH_UP_MESSAGES: u32 = 200;
/// Exit code after Ctrl+C, as a shell reports a process ended by SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

/// What a conversation shows, in text (the JSON layout prints events as they come).
struct View {
    printer: Printer,
    jobs: JobAnnouncer,
    /// The learner's messages sent from here (not said again).
    mine: HashSet<MessageId>,
}

impl View {
    fn new(layout: Layout) -> View {
        View {
            printer: Printer::new(layout),
            jobs: JobAnnouncer::default(),
            mine: HashSet::new(),
        }
    }

    /// Shows one event. A turn's end is the caller's business.
    fn show(&mut self, l: &Localizer, body: &EventBody) {
        let p = &mut self.printer;
        match body {
            EventBody::Message { message } => match message.role {
                Role::User if !self.mine.contains(&message.id) => {
                    p.said(l, Role::User, &message.text)
                }
                Role::Notice => p.said(l, Role::Notice, &message.text),
                Role::Tool => {
                    if let Some(line) = words::tool_failure(l, message) {
                        p.aside(&line);
                    }
                }
                // A reply shows itself as its tokens come; notes to the model never do.
                Role::User | Role::Assistant | Role::SystemNote => {}
            },
            EventBody::Token {
                message_id, text, ..
            } => p.token(l, *message_id, text),
            EventBody::ToolCall { call, .. } => p.aside(&words::tool_call(call)),
            EventBody::MessageDone { message } => p.reply_done(l, message),
            EventBody::Job { job } => {
                if let Some(line) = self.jobs.line(l, job) {
                    p.aside(&line);
                }
            }
            EventBody::TurnEnded { .. } => {}
        }
    }
}

/// Prints an event as a line of the stream SPEC §8 fixes (`docs/protocol.md`, "mentor chat
/// --json"): `token` {text}, `tool_call` {name, arguments}, `tool_result` {name, result},
/// `job` {the job record}, `notice` {job_id, artifact_id, kind, text}, `message` {the
/// learner's own message}, `error` {code, message}, `turn_end` {stopped, outcome}. The start
/// and end of a reply carry nothing a script needs (the tokens and `turn_end` say it all).
fn json_line(body: &EventBody) -> Result<(), CliError> {
    for line in stream_lines(body, i18n::ui()) {
        let text = serde_json::to_string(&line).map_err(|e| CliError::Io {
            path: "stdout".into(),
            reason: e.to_string(),
        })?;
        outln!("{text}");
    }
    Ok(())
}

/// The stream lines of one event.
fn stream_lines(body: &EventBody, l: &Localizer) -> Vec<serde_json::Value> {
    use mentor_shared::chat::MessageState;
    use serde_json::json;
    match body {
        EventBody::Token {
            text, message_id, ..
        } => vec![json!({"type": "token", "text": text, "message_id": message_id})],
        EventBody::ToolCall { call, .. } => vec![json!({
            "type": "tool_call", "name": call.name, "arguments": call.arguments, "id": call.id,
        })],
        EventBody::Job { job } => {
            let mut v = serde_json::to_value(job).unwrap_or_default();
            if let Some(map) = v.as_object_mut() {
                map.insert("type".into(), json!("job"));
            }
            vec![v]
        }
        EventBody::Message { message } => match message.role {
            Role::Tool => {
                let result = serde_json::from_str::<serde_json::Value>(&message.text)
                    .unwrap_or_else(|_| json!(message.text));
                vec![json!({
                    "type": "tool_result", "name": message.tool_name, "result": result,
                    "error": message.tool_error, "id": message.tool_call_id,
                })]
            }
            Role::Notice => {
                let n = message.notice.as_ref();
                vec![json!({
                    "type": "notice", "job_id": n.map(|n| n.job_id),
                    "artifact_id": n.and_then(|n| n.artifact_id), "kind": n.map(|n| n.kind),
                    "text": message.text,
                })]
            }
            Role::User => vec![json!({
                "type": "message", "role": "user", "id": message.id, "text": message.text,
            })],
            Role::Assistant | Role::SystemNote => Vec::new(),
        },
        EventBody::MessageDone { message } => match (&message.state, &message.error) {
            (MessageState::Failed, Some(error)) => vec![json!({
                "type": "error", "code": error_code(error), "message": error.localize(l),
            })],
            _ => Vec::new(),
        },
        EventBody::TurnEnded { outcome, .. } => {
            let (name, stopped) = match outcome {
                TurnOutcome::Completed => ("completed", false),
                TurnOutcome::Stopped => ("stopped", true),
                TurnOutcome::Failed { .. } => ("failed", false),
            };
            vec![json!({"type": "turn_end", "stopped": stopped, "outcome": name})]
        }
    }
}

/// The error's stable code (`llm_unreachable`, …).
fn error_code(e: &mentor_shared::ApiError) -> serde_json::Value {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("code").cloned())
        .unwrap_or_default()
}

fn ctrl_c() -> Result<Signal, CliError> {
    signal(SignalKind::interrupt()).map_err(|e| CliError::Io {
        path: "SIGINT".into(),
        reason: e.to_string(),
    })
}

/// A one-shot command gives up on a lost connection (the turn cannot be followed again).
fn once<T>(r: Result<T, Trouble>) -> Result<T, CliError> {
    r.map_err(|t| match t {
        Trouble::Lost(reason) => CliError::Connection(reason),
        Trouble::Failed(e) => e,
    })
}

/// After missed events: reads the conversation back, writes the replies' missing ends, and
/// settles the turn if the teacher is idle.
async fn catch_up(
    c: &Client,
    notebook: NotebookId,
    watch: &mut TurnWatch,
    view: Option<&mut View>,
) -> Result<(), Trouble> {
    let l = i18n::ui();
    let h = call(
        c.rpc
            .chat_history(ctx(30), notebook.to_string(), CATCH_UP_MESSAGES)
            .await,
    )?;
    let after = h
        .messages
        .iter()
        .position(|m| m.id == watch.message())
        .map(|i| &h.messages[i + 1..])
        .unwrap_or_default();
    if let Some(view) = view {
        for m in after {
            if m.role == Role::Assistant && m.state != mentor_shared::chat::MessageState::Streaming
            {
                view.printer.reply_done(l, m);
            }
        }
    }
    if !h.busy {
        watch.settle(after);
    }
    Ok(())
}

/// `mentor chat --message`: sends one message and streams its reply; with `wait_jobs`, stays
/// until the jobs the turn started have ended and been announced.
pub async fn send_one(
    env: &Env,
    c: Client,
    target: Target,
    text: String,
    wait_jobs: bool,
) -> Result<(), CliError> {
    let l = i18n::ui();
    let mut sigint = ctrl_c()?;
    let cursor = once(current_cursor(&c).await)?;
    let mut events = once(NotebookEvents::start(env, &c, cursor, target.id).await)?;
    let sent = crate::client::answer(c.rpc.chat_send(ctx(30), target.id.to_string(), text).await)?;
    let mut watch = TurnWatch::new(&sent);
    let mut waits = JobWaits::default();
    let mut view = (!env.json).then(|| View::new(Layout::Reply));
    if let Some(v) = &mut view {
        v.mine.insert(sent.message.id);
    }
    loop {
        let batch = tokio::select! {
            b = events.next() => once(b)?,
            _ = sigint.recv() => {
                if let Some(v) = &mut view {
                    v.printer.end_line();
                }
                if watch.outcome().is_none() {
                    // The partial reply stays in the conversation, marked stopped.
                    let _ = c.rpc.chat_cancel(ctx(5), target.id.to_string()).await;
                    eprintln!("{}", t!(l, "chat-interrupted"));
                }
                std::process::exit(EXIT_INTERRUPTED);
            }
        };
        if batch.reload {
            waits.missed_events();
            once(catch_up(&c, target.id, &mut watch, view.as_mut()).await)?;
        }
        for event in &batch.events {
            watch.observe(&event.body);
            let answering = watch.answering();
            waits.observe(&event.body, answering);
            match &mut view {
                None if watch.message_seen() => json_line(&event.body)?,
                None => {}
                Some(v) if answering => v.show(l, &event.body),
                Some(_) => {}
            }
            if let Some(end) = finished(&watch, &waits, wait_jobs) {
                if let Some(v) = &mut view {
                    v.printer.end_line();
                }
                return end;
            }
        }
        if let Some(end) = finished(&watch, &waits, wait_jobs) {
            return end;
        }
    }
}

/// How `send_one` ends, once it does: the turn's outcome first; then, with `--wait-jobs`, the
/// jobs' (a job that failed or was cancelled, already told, exits with 1).
fn finished(watch: &TurnWatch, waits: &JobWaits, wait_jobs: bool) -> Option<Result<(), CliError>> {
    match watch.outcome()? {
        TurnOutcome::Failed { error } => Some(Err(CliError::Api(error.clone()))),
        TurnOutcome::Stopped => Some(Err(CliError::ReplyStopped)),
        TurnOutcome::Completed if !wait_jobs => Some(Ok(())),
        TurnOutcome::Completed if !waits.done() => None,
        TurnOutcome::Completed if waits.any_unsuccessful() => Some(Err(CliError::Quiet)),
        TurnOutcome::Completed => Some(Ok(())),
    }
}

/// A line the learner typed, or the end of their input.
enum Input {
    Line(String),
    End,
}

/// Reads stdin line by line on a thread of its own: a blocking read cannot be cancelled, and
/// the runtime must not wait for one when the chat ends.
fn read_lines() -> mpsc::UnboundedReceiver<Input> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(Input::Line(line)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Input::End);
    });
    rx
}

/// What the learner asked with a line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Send this to the teacher.
    Say(String),
    /// Stop the reply.
    Stop,
    /// List the commands.
    Help,
    /// Leave.
    Quit,
    /// A command that does not exist.
    Unknown(String),
    /// An empty line.
    Nothing,
}

impl Command {
    fn parse(line: &str) -> Command {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Command::Nothing;
        }
        // `//text` sends `/text`.
        if let Some(text) = trimmed.strip_prefix("//") {
            return Command::Say(format!("/{text}"));
        }
        let Some(name) = trimmed.strip_prefix('/') else {
            return Command::Say(line.to_string());
        };
        // `/quiz …` and the other shortcuts are the daemon's.
        if mentor_shared::chat::shortcut(trimmed).is_some() {
            return Command::Say(line.to_string());
        }
        match name.trim().to_lowercase().as_str() {
            "quit" | "exit" | "q" => Command::Quit,
            "stop" => Command::Stop,
            "help" | "?" => Command::Help,
            _ => Command::Unknown(trimmed.to_string()),
        }
    }
}

/// The state of a plain chat.
struct Plain<'a> {
    env: &'a Env,
    l: &'static Localizer,
    c: Client,
    target: Target,
    events: NotebookEvents,
    /// JSON Lines instead of text.
    view: Option<View>,
    /// The learner typed on a terminal: show a prompt.
    interactive: bool,
    /// The turn answering the last message sent.
    watch: Option<TurnWatch>,
    /// A turn answering us failed (the exit code says so after the end of input).
    failed: bool,
    losses: u32,
}

/// `mentor chat --plain`.
pub async fn plain(env: &Env, c: Client, target: Target) -> Result<(), CliError> {
    let l = i18n::ui();
    let mut sigint = ctrl_c()?;
    let interactive = std::io::stdin().is_terminal() && !env.json;
    let cursor = once(current_cursor(&c).await)?;
    let events = once(NotebookEvents::start(env, &c, cursor, target.id).await)?;
    let mut chat = Plain {
        env,
        l,
        c,
        target,
        events,
        view: (!env.json).then(|| View::new(Layout::Plain)),
        interactive,
        watch: None,
        failed: false,
        losses: 0,
    };
    if interactive {
        chat.note(&t!(
            l,
            "chat-plain-welcome",
            title = chat.target.title.as_str()
        ));
    }
    let mut input = read_lines();
    let mut ended = false;
    loop {
        let idle = chat.idle();
        if ended && idle {
            return if chat.failed {
                Err(CliError::Quiet)
            } else {
                Ok(())
            };
        }
        if let Some(v) = &mut chat.view {
            if chat.interactive
                && idle
                && !ended
                && !v.printer.streaming()
                && !v.printer.prompt_shown()
            {
                v.printer.prompt();
            }
        }
        tokio::select! {
            batch = chat.events.next() => chat.on_events(batch).await?,
            line = input.recv(), if !ended => match line {
                Some(Input::Line(text)) => {
                    if let Some(v) = &mut chat.view {
                        if chat.interactive {
                            v.printer.input_entered();
                        }
                    }
                    if !chat.command(Command::parse(&text)).await? {
                        return Ok(());
                    }
                }
                Some(Input::End) | None => {
                    if let Some(v) = &mut chat.view {
                        v.printer.end_line();
                    }
                    ended = true;
                }
            },
            _ = sigint.recv() => {
                if chat.idle() && !chat.view.as_ref().is_some_and(|v| v.printer.streaming()) {
                    if let Some(v) = &mut chat.view {
                        v.printer.end_line();
                    }
                    std::process::exit(EXIT_INTERRUPTED);
                }
                chat.stop().await;
            }
        }
    }
}

impl Plain<'_> {
    /// No answer to our messages is pending.
    fn idle(&self) -> bool {
        self.watch.as_ref().is_none_or(|w| w.outcome().is_some())
    }

    /// A line for the learner that is not part of the conversation (help, feedback).
    fn note(&mut self, text: &str) {
        match &mut self.view {
            Some(v) => {
                for line in text.lines() {
                    v.printer.feedback(line);
                }
            }
            None => eprintln!("{text}"),
        }
    }

    fn error(&mut self, text: &str) {
        match &mut self.view {
            Some(v) => v.printer.error(text),
            None => eprintln!("mentor: {text}"),
        }
    }

    /// Handles a batch of events, or the loss of the connection.
    async fn on_events(
        &mut self,
        batch: Result<mentor_shared::jobs::EventBatch, Trouble>,
    ) -> Result<(), CliError> {
        let l = self.l;
        let batch = match batch {
            Ok(b) => b,
            Err(Trouble::Failed(e)) => return Err(e),
            Err(Trouble::Lost(reason)) => return self.reconnect(reason).await,
        };
        self.losses = 0;
        if batch.reload {
            if let Some(w) = &mut self.watch {
                let r = catch_up(&self.c, self.target.id, w, self.view.as_mut()).await;
                match r {
                    Ok(()) => {}
                    Err(Trouble::Failed(e)) => return Err(e),
                    Err(Trouble::Lost(reason)) => return self.reconnect(reason).await,
                }
            }
        }
        for event in &batch.events {
            let ours = self.watch.as_mut().is_some_and(|w| w.observe(&event.body));
            match &mut self.view {
                None => json_line(&event.body)?,
                Some(v) => v.show(l, &event.body),
            }
            if let EventBody::TurnEnded {
                outcome: TurnOutcome::Failed { error },
                ..
            } = &event.body
            {
                self.failed |= ours;
                self.error(&error.localize(l));
            }
        }
        Ok(())
    }

    /// Reconnects after the daemon went away; the reply that was streaming is lost with it.
    async fn reconnect(&mut self, reason: String) -> Result<(), CliError> {
        if let Some(v) = &mut self.view {
            v.printer.reset();
        }
        let mut note = |text: &str| eprintln!("{text}");
        self.c = recover(self.env, &mut note, &mut self.losses, reason).await?;
        let cursor = once(current_cursor(&self.c).await)?;
        self.events = once(NotebookEvents::start(self.env, &self.c, cursor, self.target.id).await)?;
        self.watch = None;
        Ok(())
    }

    /// Acts on a line; false when the learner leaves.
    async fn command(&mut self, command: Command) -> Result<bool, CliError> {
        let l = self.l;
        match command {
            Command::Nothing => {}
            Command::Quit => {
                if let Some(v) = &mut self.view {
                    v.printer.end_line();
                }
                return Ok(false);
            }
            Command::Help => self.note(&t!(l, "chat-plain-help")),
            Command::Unknown(name) => self.note(&t!(
                l,
                "chat-plain-unknown-command",
                command = name.as_str()
            )),
            Command::Stop => self.stop().await,
            Command::Say(text) => {
                if let Some(v) = self.view.as_mut().filter(|_| !self.interactive) {
                    v.printer.echo(l, &text);
                }
                let sent = self
                    .c
                    .rpc
                    .chat_send(ctx(30), self.target.id.to_string(), text)
                    .await;
                match call(sent) {
                    Ok(sent) => self.sent(&sent),
                    Err(Trouble::Failed(e)) => self.error(&e.localize(l)),
                    // The next poll finds the connection lost and reconnects.
                    Err(Trouble::Lost(reason)) => {
                        self.error(&CliError::Connection(reason).localize(l))
                    }
                }
            }
        }
        Ok(true)
    }

    fn sent(&mut self, sent: &ChatSent) {
        if let Some(v) = &mut self.view {
            v.mine.insert(sent.message.id);
        }
        self.watch = Some(TurnWatch::new(sent));
        if sent.queued {
            self.note(&t!(self.l, "chat-plain-queued"));
        }
    }

    /// Stops the streaming reply (`/stop`, Ctrl+C).
    async fn stop(&mut self) {
        let l = self.l;
        let stopped = self
            .c
            .rpc
            .chat_cancel(ctx(10), self.target.id.to_string())
            .await;
        match call(stopped) {
            Ok(true) => {}
            Ok(false) => self.note(&t!(l, "chat-plain-nothing-to-stop")),
            Err(Trouble::Failed(e)) => self.error(&e.localize(l)),
            Err(Trouble::Lost(reason)) => self.error(&CliError::Connection(reason).localize(l)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_messages_or_commands() {
        assert_eq!(Command::parse("hello"), Command::Say("hello".into()));
        assert_eq!(Command::parse("  "), Command::Nothing);
        assert_eq!(Command::parse("/quit"), Command::Quit);
        assert_eq!(Command::parse(" /STOP "), Command::Stop);
        assert_eq!(Command::parse("/help"), Command::Help);
        assert_eq!(
            Command::parse("//etc/hosts?"),
            Command::Say("/etc/hosts?".into())
        );
        assert_eq!(
            Command::parse("/frobnicate"),
            Command::Unknown("/frobnicate".into())
        );
        // The daemon's shortcuts go to the daemon.
        assert_eq!(
            Command::parse("/quiz cells"),
            Command::Say("/quiz cells".into())
        );
        assert_eq!(Command::parse("/Guide"), Command::Say("/Guide".into()));
    }
}
