//! The terminal client's state and its one `update` function (The Elm Architecture): keys,
//! pastes, the mouse and the daemon's pushed events come in as [`Msg`]; the state changes; what
//! must happen outside (a call to the daemon, the editor, the clipboard) goes out as
//! [`Effect`]s for the runtime to carry out. Nothing here touches the terminal, the socket or
//! the clock: the time is passed in, so every rule is tested without waiting.

pub mod conversation;
pub mod input;
pub mod jobs;
pub mod keymap;
pub mod panels;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use mentor_shared::chat::{ChatHistory, ChatSent, Role, TurnOutcome};
use mentor_shared::ids::{ArtifactId, JobId, NotebookId};
use mentor_shared::jobs::{Artifact, ArtifactStatus, Event, EventBody, Job};
use mentor_shared::protocol::NotebookSummary;
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;

use self::conversation::{Conversation, WHEEL_ROWS};
use self::input::Input;
use self::jobs::JobLines;
use self::keymap::{Action, Context};
use self::panels::{ArtifactList, Picker, QuizPlayer, QuizStep, Reader};

/// How often the spinner turns.
pub const SPINNER_FRAME: Duration = Duration::from_millis(100);
/// How long a passing message (copied, exported…) stays.
pub const FLASH: Duration = Duration::from_secs(4);

/// The link to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The first connection is being made.
    Connecting,
    /// Connected.
    Connected,
    /// Lost; trying again.
    Reconnecting {
        /// Why it was lost.
        reason: String,
    },
}

/// The notebook open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenNotebook {
    /// Its id.
    pub id: NotebookId,
    /// Its title.
    pub title: String,
    /// Learning objectives met.
    pub objectives_met: u32,
    /// Learning objectives in all.
    pub objectives_total: u32,
}

/// What covers the conversation.
#[derive(Debug, Clone)]
pub enum Overlay {
    /// The key help, scrolled by this many rows (when it does not fit).
    Help { scroll: u16 },
    /// An artifact being read.
    Reader(Reader),
    /// A quiz being taken.
    Quiz(QuizPlayer),
    /// The notebook picker.
    Picker(Picker),
}

/// Where typed keys go besides overlays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The message being written.
    Input,
    /// The artifacts panel.
    Artifacts,
}

/// Everything the daemon tells the screen.
#[derive(Debug, Clone)]
pub enum FromDaemon {
    /// Connected (again): the notebook's whole state.
    Connected(Box<Snapshot>),
    /// The connection broke.
    Lost(String),
    /// A pushed event.
    Event(Box<Event>),
    /// A message was stored.
    Sent(Box<ChatSent>),
    /// The artifacts of the notebook.
    Artifacts(Vec<Artifact>),
    /// The notebook's objectives: met, in all.
    Objectives(u32, u32),
    /// An artifact to open.
    Opened(Box<Artifact>),
    /// The notebooks, for the picker.
    Notebooks(Vec<NotebookSummary>),
    /// A quiz's score was saved (or not).
    QuizSaved(Result<(), String>),
    /// A short message for the learner (an action done or refused), already localized.
    Said(String),
    /// No notebook exists yet (or the one asked for is gone): choose or create one.
    NoNotebook,
    /// Which model answers now.
    Model(Box<mentor_shared::protocol::LlmInfo>),
}

/// A notebook's state as loaded after connecting.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The notebook.
    pub notebook: OpenNotebook,
    /// Its conversation.
    pub history: ChatHistory,
    /// Its jobs that still run.
    pub jobs: Vec<Job>,
    /// Its artifacts.
    pub artifacts: Vec<Artifact>,
}

/// An input to `update`.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key.
    Key(KeyEvent),
    /// Pasted text (bracketed paste).
    Paste(String),
    /// The mouse.
    Mouse(MouseEvent),
    /// The terminal changed size.
    Resize,
    /// Time passed (a frame was due).
    Tick,
    /// The daemon.
    Daemon(FromDaemon),
}

/// Something for the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a message to the notebook's teacher.
    Send(String),
    /// Stop the reply under way.
    StopReply,
    /// Cancel a job.
    CancelJob(JobId),
    /// Retry a failed job.
    RetryJob(JobId),
    /// Edit this text in `$VISUAL` / `$EDITOR`; the result comes back as a paste replacing
    /// the input.
    Editor(String),
    /// Put this text on the clipboard.
    Copy(String),
    /// Load an artifact to open it.
    OpenArtifact(ArtifactId),
    /// Play a podcast with the configured player.
    Play(ArtifactId),
    /// Export an artifact's file to the working directory.
    Export(ArtifactId),
    /// Store a quiz attempt.
    SaveQuiz(ArtifactId, Vec<usize>),
    /// Load the notebooks for the picker.
    ListNotebooks,
    /// Load the notebook's artifacts again.
    ListArtifacts,
    /// Count the notebook's objectives again (the teacher may have marked one met).
    ListObjectives,
    /// Open another notebook.
    Switch(NotebookId),
    /// Create a notebook and open it.
    CreateNotebook(String),
    /// Leave.
    Quit,
}

/// The whole screen's state.
#[derive(Debug)]
pub struct App {
    /// The notebook open (none before the first connection or when there is none).
    pub notebook: Option<OpenNotebook>,
    /// The model's name (from the configuration, until the daemon says).
    pub model: String,
    /// Which model the daemon uses, once it said.
    pub llm: Option<mentor_shared::protocol::LlmInfo>,
    /// The model server's URL.
    pub model_url: String,
    /// Whether the last turn found no model to talk to.
    pub no_model: bool,
    /// The link to the daemon.
    pub connection: Connection,
    /// The conversation.
    pub conversation: Conversation,
    /// The message being written.
    pub input: Input,
    /// The job status lines.
    pub jobs: JobLines,
    /// The notebook's artifacts.
    pub artifacts: ArtifactList,
    /// Whether the artifacts panel shows.
    pub panel: bool,
    /// Where keys go.
    pub focus: Focus,
    /// What covers the conversation.
    pub overlay: Option<Overlay>,
    /// A passing message and when it goes.
    pub flash: Option<(String, Instant)>,
    /// Whether colors may be used (NO_COLOR unset).
    pub color: bool,
    /// Set when the learner quits.
    pub quit: bool,
    /// The columns the input's text had at the last draw (for moving up and down in it).
    pub input_width: std::cell::Cell<u16>,
    /// How far the help could scroll, and its rows, at the last draw (0: it all fits).
    pub help_max_scroll: std::cell::Cell<u16>,
    pub help_page: std::cell::Cell<u16>,
}

impl App {
    /// A new screen, before the first connection.
    pub fn new(model: String, model_url: String, color: bool) -> App {
        App {
            notebook: None,
            model,
            model_url,
            no_model: false,
            llm: None,
            connection: Connection::Connecting,
            conversation: Conversation::default(),
            input: Input::new(),
            jobs: JobLines::default(),
            artifacts: ArtifactList::default(),
            panel: false,
            focus: Focus::Input,
            overlay: None,
            flash: None,
            color,
            quit: false,
            input_width: std::cell::Cell::new(78),
            help_max_scroll: std::cell::Cell::new(0),
            help_page: std::cell::Cell::new(1),
        }
    }

    /// Where the keyboard is.
    pub fn context(&self) -> Context {
        match &self.overlay {
            Some(Overlay::Help { .. }) => Context::Global,
            Some(Overlay::Reader(_)) => Context::Reader,
            Some(Overlay::Quiz(_)) => Context::Quiz,
            Some(Overlay::Picker(_)) => Context::Picker,
            None if self.panel && self.focus == Focus::Artifacts => Context::Artifacts,
            None => Context::Chat,
        }
    }

    /// Whether something moves on screen by itself (the spinner).
    pub fn animating(&self) -> bool {
        self.jobs.animating() || self.connection != Connection::Connected
    }

    /// When the next frame is due with no input: the spinner's next turn, the next second of
    /// an elapsed time, a line or a message going away. `None`: nothing changes by itself.
    pub fn next_frame(&self, now: Instant) -> Option<Instant> {
        let spinner = self.animating().then(|| now + SPINNER_FRAME);
        let expiry = self.jobs.next_expiry();
        let flash = self.flash.as_ref().map(|(_, until)| *until);
        [spinner, expiry, flash].into_iter().flatten().min()
    }

    /// Takes one input; returns what the runtime must do.
    pub fn update(&mut self, msg: Msg, now: Instant, wall: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        match msg {
            Msg::Key(key) => self.key(key, &mut effects),
            Msg::Paste(text) => self.paste(&text),
            Msg::Mouse(m) => self.mouse(m),
            Msg::Resize => {}
            Msg::Tick => {}
            Msg::Daemon(d) => self.daemon(d, now, wall, &mut effects),
        }
        self.jobs.expire(now);
        if self.flash.as_ref().is_some_and(|(_, until)| *until <= now) {
            self.flash = None;
        }
        effects
    }

    /// Shows a passing message.
    pub fn say(&mut self, text: String, now: Instant) {
        self.flash = Some((text, now + FLASH));
    }

    fn paste(&mut self, text: &str) {
        match &mut self.overlay {
            Some(Overlay::Picker(p)) => {
                if let Some(name) = &mut p.naming {
                    name.push_str(&text.replace(['\n', '\r'], " "));
                }
            }
            Some(_) => {}
            None => {
                self.focus = Focus::Input;
                self.input.insert_str(text);
            }
        }
    }

    fn mouse(&mut self, m: MouseEvent) {
        match (&mut self.overlay, m.kind) {
            (Some(Overlay::Reader(r)), MouseEventKind::ScrollUp) => {
                r.top = r.top.saturating_sub(WHEEL_ROWS)
            }
            (Some(Overlay::Reader(r)), MouseEventKind::ScrollDown) => r.top += WHEEL_ROWS,
            (None, MouseEventKind::ScrollUp) => self.conversation.scroll_up(WHEEL_ROWS),
            (None, MouseEventKind::ScrollDown) => self.conversation.scroll_down(WHEEL_ROWS),
            _ => {}
        }
    }

    fn key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let context = self.context();
        let action = keymap::action(context, &key);
        // Typing wins over single-key shortcuts while a message is being written.
        let typing = context == Context::Chat && !self.input.is_empty();
        let action = match (action, key.code) {
            (Some(Action::Help), KeyCode::Char('?')) if typing => None,
            (Some(Action::Top | Action::Bottom), KeyCode::Home | KeyCode::End)
                if typing && !key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                None
            }
            (a, _) => a,
        };
        if let Some(Overlay::Help { scroll }) = &mut self.overlay {
            // The arrows and page keys scroll a help taller than the screen; any other key
            // closes it (and Ctrl+C still quits).
            let max = self.help_max_scroll.get();
            let page = self.help_page.get().max(1);
            let to = match key.code {
                KeyCode::Up | KeyCode::Char('k') if max > 0 => Some(scroll.saturating_sub(1)),
                KeyCode::Down | KeyCode::Char('j') if max > 0 => Some(*scroll + 1),
                KeyCode::PageUp if max > 0 => Some(scroll.saturating_sub(page)),
                KeyCode::PageDown if max > 0 => Some(*scroll + page),
                _ => None,
            };
            if let Some(to) = to {
                *scroll = to.min(max);
                return;
            }
            if action == Some(Action::Quit) {
                self.quit = true;
                effects.push(Effect::Quit);
            }
            self.overlay = None;
            return;
        }
        if let Some(Overlay::Picker(p)) = &mut self.overlay {
            if let Some(name) = &mut p.naming {
                match key.code {
                    KeyCode::Enter => {
                        let title = name.trim().to_string();
                        if !title.is_empty() {
                            effects.push(Effect::CreateNotebook(title));
                            self.overlay = None;
                        }
                    }
                    KeyCode::Esc => p.naming = None,
                    KeyCode::Backspace => {
                        name.pop();
                    }
                    KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                        name.push(c)
                    }
                    _ if action == Some(Action::Quit) => {
                        self.quit = true;
                        effects.push(Effect::Quit);
                    }
                    _ => {}
                }
                return;
            }
        }
        match action {
            Some(a) => self.act(a, &key, effects),
            None if context == Context::Chat => self.edit(&key),
            None => {}
        }
    }

    fn act(&mut self, action: Action, key: &KeyEvent, effects: &mut Vec<Effect>) {
        match action {
            Action::Quit => {
                self.quit = true;
                effects.push(Effect::Quit);
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::ToggleArtifacts => {
                self.panel = !self.panel;
                self.focus = if self.panel {
                    Focus::Artifacts
                } else {
                    Focus::Input
                };
            }
            Action::Notebooks => {
                self.overlay = Some(Overlay::Picker(Picker {
                    current: self.notebook.as_ref().map(|n| n.id),
                    ..Picker::default()
                }));
                effects.push(Effect::ListNotebooks);
            }
            Action::CopyReply => {
                if let Some(text) = self.conversation.last_reply() {
                    effects.push(Effect::Copy(text.to_string()));
                }
            }
            Action::DismissFailed => {
                self.jobs.dismiss_failed();
            }
            Action::FocusNext => {
                if self.overlay.is_none() && self.panel {
                    self.focus = match self.focus {
                        Focus::Input => Focus::Artifacts,
                        Focus::Artifacts => Focus::Input,
                    };
                }
            }
            Action::Send => {
                if self.notebook.is_some() {
                    if let Some(text) = self.input.take() {
                        self.conversation.bottom();
                        effects.push(Effect::Send(text));
                    }
                }
            }
            Action::Newline => self.input.newline(),
            Action::Editor => effects.push(Effect::Editor(self.input.text().to_string())),
            Action::StopReply => {
                if self.conversation.streaming() {
                    effects.push(Effect::StopReply);
                }
            }
            Action::PageUp => match &mut self.overlay {
                Some(Overlay::Reader(r)) => r.top = r.top.saturating_sub(10),
                _ => self.conversation.scroll_up(self.conversation.page()),
            },
            Action::PageDown => match &mut self.overlay {
                Some(Overlay::Reader(r)) => r.top += 10,
                _ => self.conversation.scroll_down(self.conversation.page()),
            },
            Action::Top => self.conversation.top(),
            Action::Bottom => self.conversation.bottom(),
            Action::Up | Action::Down => {
                let down = action == Action::Down;
                match &mut self.overlay {
                    Some(Overlay::Reader(r)) if down => r.top += 1,
                    Some(Overlay::Reader(r)) => r.top = r.top.saturating_sub(1),
                    Some(Overlay::Quiz(q)) => q.move_cursor(down),
                    Some(Overlay::Picker(p)) => {
                        let n = p.notebooks.len();
                        p.selected = if down {
                            (p.selected + 1).min(n.saturating_sub(1))
                        } else {
                            p.selected.saturating_sub(1)
                        };
                    }
                    _ => self.artifacts.step(down),
                }
            }
            Action::Open => self.open(effects),
            Action::Choose => {
                if let (Some(Overlay::Quiz(q)), KeyCode::Char(c)) = (&mut self.overlay, key.code) {
                    let option = (c.to_ascii_lowercase() as usize).saturating_sub('a' as usize);
                    if q.answer(option) {
                        effects.push(Effect::SaveQuiz(q.artifact, q.answers.clone()));
                    }
                }
            }
            Action::Play | Action::Export => {
                let id = match &self.overlay {
                    Some(Overlay::Reader(r)) => Some(r.artifact),
                    _ => self.artifacts.current().map(|a| a.id),
                };
                if let Some(id) = id {
                    effects.push(if action == Action::Play {
                        Effect::Play(id)
                    } else {
                        Effect::Export(id)
                    });
                }
            }
            Action::Retry => {
                if let Some(a) = self.artifacts.current().filter(|a| {
                    matches!(a.status, ArtifactStatus::Failed | ArtifactStatus::Cancelled)
                }) {
                    effects.push(Effect::RetryJob(a.job_id));
                }
            }
            Action::CancelJob => {
                if let Some(a) = self
                    .artifacts
                    .current()
                    .filter(|a| a.status == ArtifactStatus::Generating)
                {
                    effects.push(Effect::CancelJob(a.job_id));
                }
            }
            Action::Back => match &self.overlay {
                Some(_) => self.overlay = None,
                None => self.focus = Focus::Input,
            },
            Action::NewNotebook => {
                if let Some(Overlay::Picker(p)) = &mut self.overlay {
                    p.naming = Some(String::new());
                }
            }
        }
    }

    fn open(&mut self, effects: &mut Vec<Effect>) {
        match &mut self.overlay {
            Some(Overlay::Quiz(q)) => match q.step() {
                QuizStep::Asking => {
                    let cursor = q.cursor;
                    if q.answer(cursor) {
                        effects.push(Effect::SaveQuiz(q.artifact, q.answers.clone()));
                    }
                }
                QuizStep::Feedback { .. } => q.next(),
                QuizStep::Done { .. } => self.overlay = None,
            },
            Some(Overlay::Picker(p)) => {
                if let Some(nb) = p.notebooks.get(p.selected) {
                    if Some(nb.id) != p.current {
                        effects.push(Effect::Switch(nb.id));
                    }
                    self.overlay = None;
                }
            }
            Some(_) => {}
            None => {
                if let Some(a) = self.artifacts.current() {
                    effects.push(Effect::OpenArtifact(a.id));
                }
            }
        }
    }

    fn edit(&mut self, key: &KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let width = self.input_width.get();
        let input = &mut self.input;
        match key.code {
            KeyCode::Char('w') if ctrl => input.delete_word_back(),
            KeyCode::Char('u') if ctrl => input.kill_to_line_start(),
            KeyCode::Char('k') if ctrl => input.kill_to_line_end(),
            KeyCode::Char('a') if ctrl => input.home(),
            KeyCode::Char('b') if alt => input.word_left(),
            KeyCode::Char('f') if alt => input.word_right(),
            KeyCode::Char(c) if !ctrl => input.insert_char(c),
            KeyCode::Backspace if alt || ctrl => input.delete_word_back(),
            KeyCode::Backspace => input.backspace(),
            KeyCode::Delete => input.delete(),
            KeyCode::Left if ctrl || alt => input.word_left(),
            KeyCode::Right if ctrl || alt => input.word_right(),
            KeyCode::Left => input.left(),
            KeyCode::Right => input.right(),
            KeyCode::Home => input.home(),
            KeyCode::End => input.end(),
            KeyCode::Up => {
                input.up(width);
            }
            KeyCode::Down => {
                input.down(width);
            }
            _ => {}
        }
    }

    fn daemon(&mut self, d: FromDaemon, now: Instant, wall: Timestamp, effects: &mut Vec<Effect>) {
        match d {
            FromDaemon::Connected(snapshot) => {
                let Snapshot {
                    notebook,
                    history,
                    jobs,
                    artifacts,
                } = *snapshot;
                let switched = self.notebook.as_ref().map(|n| n.id) != Some(notebook.id);
                if switched {
                    self.jobs = JobLines::default();
                    self.conversation = Conversation::default();
                }
                // Jobs followed before the connection broke get their news; new ones a line.
                for job in jobs {
                    self.jobs.update(job, now, wall);
                }
                self.conversation.load(history.messages, history.earlier);
                self.artifacts.set(artifacts);
                self.notebook = Some(notebook);
                self.connection = Connection::Connected;
                if matches!(self.overlay, Some(Overlay::Picker(_))) && switched {
                    self.overlay = None;
                }
            }
            FromDaemon::Lost(reason) => self.connection = Connection::Reconnecting { reason },
            FromDaemon::Event(event) => self.event(event.body, now, wall, effects),
            FromDaemon::Sent(sent) => {
                let sent = *sent;
                self.conversation.upsert(sent.message.clone());
                if sent.queued {
                    self.conversation.mark_queued(sent.message.id);
                }
            }
            FromDaemon::Artifacts(list) => self.artifacts.set(list),
            FromDaemon::Objectives(met, total) => {
                if let Some(n) = &mut self.notebook {
                    (n.objectives_met, n.objectives_total) = (met, total);
                }
            }
            FromDaemon::Opened(artifact) => self.open_artifact(*artifact, now),
            FromDaemon::Notebooks(list) => {
                if let Some(Overlay::Picker(p)) = &mut self.overlay {
                    p.selected = p
                        .current
                        .and_then(|id| list.iter().position(|n| n.id == id))
                        .unwrap_or(0);
                    p.notebooks = list;
                }
            }
            FromDaemon::QuizSaved(result) => {
                if let Some(Overlay::Quiz(q)) = &mut self.overlay {
                    q.saved = Some(result);
                }
            }
            FromDaemon::Said(text) => self.say(text, now),
            FromDaemon::NoNotebook => {
                self.connection = Connection::Connected;
                self.overlay = Some(Overlay::Picker(Picker::default()));
                effects.push(Effect::ListNotebooks);
            }
            FromDaemon::Model(info) => self.llm = Some(*info),
        }
    }

    fn event(&mut self, body: EventBody, now: Instant, wall: Timestamp, effects: &mut Vec<Effect>) {
        let Some(notebook) = self.notebook.as_ref().map(|n| n.id) else {
            return;
        };
        if body.notebook() != Some(notebook) {
            return;
        }
        match body {
            EventBody::Message { message } | EventBody::MessageDone { message } => {
                if message.role != Role::SystemNote {
                    self.conversation.upsert(message);
                }
            }
            EventBody::Token {
                message_id, text, ..
            } => self.conversation.token(notebook, message_id, &text),
            EventBody::ToolCall { .. } => {}
            EventBody::TurnEnded { outcome, .. } => {
                self.conversation.turn_ended();
                if self
                    .notebook
                    .as_ref()
                    .is_some_and(|n| n.objectives_total > 0)
                {
                    effects.push(Effect::ListObjectives);
                }
                self.no_model = matches!(
                    &outcome,
                    TurnOutcome::Failed { error } if matches!(
                        error,
                        ApiError::LlmUnreachable { .. } | ApiError::LlmTimeout { .. }
                    )
                );
            }
            EventBody::Job { job } => {
                let news = self
                    .jobs
                    .get(job.id)
                    .is_none_or(|line| line.job.status != job.status);
                let has_artifact = job.artifact_id.is_some();
                self.jobs.update(job, now, wall);
                // The panel shows a new artifact, and its end, by push.
                if news && has_artifact {
                    effects.push(Effect::ListArtifacts);
                }
            }
        }
    }

    fn open_artifact(&mut self, artifact: Artifact, now: Instant) {
        use crate::cli::artifact::content::Content;
        use crate::cli::artifact::export;
        let id = artifact.id;
        let title = artifact.title.clone();
        let markdown = match Content::of(&artifact) {
            Content::Quiz(quiz) if !quiz.questions.is_empty() => {
                self.overlay = Some(Overlay::Quiz(QuizPlayer::new(id, quiz)));
                return;
            }
            Content::Quiz(_) | Content::Empty | Content::Other(_) => {
                self.say(crate::ui::words::nothing_to_open(&artifact), now);
                return;
            }
            Content::Podcast(p) => export::podcast_markdown(&p),
            Content::StudyGuide(g) => export::guide_markdown(&g),
            Content::Partial(p) => {
                let mut text = String::new();
                if let Some(outline) = &p.outline {
                    text.push_str(outline);
                }
                if let Some(transcript) = &p.transcript {
                    text.push_str("\n\n");
                    text.push_str(transcript);
                }
                text
            }
        };
        self.overlay = Some(Overlay::Reader(Reader {
            artifact: id,
            title,
            markdown,
            top: 0,
        }));
    }
}
