//! Snapshots of every visible state of the screen, drawn on ratatui's `TestBackend` with
//! colors off (NO_COLOR) so the snapshots read as text; and the timing rules of the status
//! lines driven through `App::update` with a hand-held clock.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mentor_shared::artifacts::Question;
use mentor_shared::chat::{
    ChatHistory, ChatMessage, MessageState, Notice, NoticeKind, Role, ToolCall,
};
use mentor_shared::i18n::{localizer, Lang};
use mentor_shared::ids::{ArtifactId, JobId, MessageId, NotebookId};
use mentor_shared::jobs::{
    Artifact, ArtifactStatus, Difficulty, EventBody, Job, JobKind, JobStatus,
};
use mentor_shared::time::Timestamp;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::{render, ViewCache};
use crate::app::jobs::tests::job;
use crate::app::panels::QuizPlayer;
use crate::app::{App, Connection, FromDaemon, Msg, OpenNotebook, Overlay, Snapshot};

fn notebook() -> OpenNotebook {
    OpenNotebook {
        id: NotebookId::new(),
        title: "Biology".into(),
        objectives_met: 2,
        objectives_total: 5,
    }
}

fn message(nb: NotebookId, role: Role, text: &str) -> ChatMessage {
    ChatMessage {
        id: MessageId::new(),
        notebook_id: nb,
        role,
        text: text.into(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        tool_name: None,
        tool_error: false,
        notice: None,
        state: MessageState::Complete,
        error: None,
        created: Timestamp::now(),
    }
}

/// A connected screen on "Biology" with a short conversation.
fn app(t0: Instant) -> App {
    let mut app = App::new("llama3.2".into(), "http://127.0.0.1:11434/v1".into(), false);
    let nb = notebook();
    let id = nb.id;
    let mut ask = message(id, Role::Assistant, "");
    ask.tool_calls.push(ToolCall {
        id: "call_1".into(),
        name: "generate_artifact".into(),
        arguments: r#"{"artifact_type":"podcast","topic":"photosynthesis"}"#.into(),
    });
    let history = ChatHistory {
        notebook_id: id,
        messages: vec![
            message(id, Role::User, "Make me a podcast about photosynthesis"),
            ask,
            message(
                id,
                Role::Notice,
                "I'm generating that for you. Let's continue while it's processing.",
            ),
            message(
                id,
                Role::Assistant,
                "Meanwhile, **chlorophyll** absorbs red and blue light:\n\n- light\n- water\n- carbon dioxide",
            ),
        ],
        busy: false,
        earlier: 0,
    };
    let snapshot = Snapshot {
        notebook: nb,
        history,
        jobs: Vec::new(),
        artifacts: Vec::new(),
    };
    app.update(
        Msg::Daemon(FromDaemon::Connected(Box::new(snapshot))),
        t0,
        Timestamp::now(),
    );
    app
}

fn nb_of(app: &App) -> NotebookId {
    app.notebook.as_ref().map(|n| n.id).unwrap_or_default()
}

/// Pushes one daemon event; returns the effects it asked for.
fn push_event(app: &mut App, body: EventBody, now: Instant) -> Vec<crate::app::Effect> {
    app.update(
        Msg::Daemon(FromDaemon::Event(Box::new(mentor_shared::jobs::Event {
            seq: 1,
            at_us: 0,
            body,
        }))),
        now,
        Timestamp::now(),
    )
}

fn push_job(app: &mut App, mut j: Job, now: Instant) -> Job {
    j.notebook_id = Some(nb_of(app));
    push_event(app, EventBody::Job { job: j.clone() }, now);
    j
}

/// A podcast job processing since now, at `stage` when it reports progress, pushed.
fn running(app: &mut App, progress: Option<(u32, u32, &str)>, now: Instant) -> Job {
    let mut j = job(
        JobKind::Podcast,
        JobStatus::Processing,
        progress.map(|(current, total, _)| (current, total)),
    );
    settle(&mut j);
    if let (Some(p), Some((_, _, stage))) = (j.progress.as_mut(), progress) {
        p.stage = stage.into();
    }
    push_job(app, j, now)
}

fn event(app: &mut App, body: EventBody, now: Instant) {
    app.update(
        Msg::Daemon(FromDaemon::Event(Box::new(mentor_shared::jobs::Event {
            seq: 1,
            at_us: 0,
            body,
        }))),
        now,
        Timestamp::now(),
    );
}

fn screen(app: &App, lang: Lang, now: Instant, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let cache = ViewCache::default();
    let l = localizer(lang);
    terminal
        .draw(|f| {
            let area = f.area();
            render(app, &cache, l, now, area, f.buffer_mut());
        })
        .expect("draw");
    format!("{}", terminal.backend())
}

fn en(app: &App, now: Instant) -> String {
    screen(app, Lang::EnUs, now, 80, 24)
}

fn key(app: &mut App, code: KeyCode, mods: KeyModifiers, now: Instant) -> Vec<crate::app::Effect> {
    app.update(Msg::Key(KeyEvent::new(code, mods)), now, Timestamp::now())
}

fn settle(j: &mut Job) {
    // Elapsed times in snapshots must not depend on when the test runs.
    j.created = Timestamp::now();
}

#[test]
fn empty_conversation() {
    let t0 = Instant::now();
    let mut app = App::new("llama3.2".into(), "http://127.0.0.1:11434/v1".into(), false);
    let snapshot = Snapshot {
        notebook: notebook(),
        history: ChatHistory {
            notebook_id: NotebookId::new(),
            messages: Vec::new(),
            busy: false,
            earlier: 0,
        },
        jobs: Vec::new(),
        artifacts: Vec::new(),
    };
    app.update(
        Msg::Daemon(FromDaemon::Connected(Box::new(snapshot))),
        t0,
        Timestamp::now(),
    );
    insta::assert_snapshot!(en(&app, t0));
}

#[test]
fn streaming_reply_with_a_queued_message() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let nb = nb_of(&app);
    let reply = MessageId::new();
    for word in ["Leaves ", "are ", "green ", "because"] {
        event(
            &mut app,
            EventBody::Token {
                notebook_id: nb,
                message_id: reply,
                text: word.into(),
            },
            t0,
        );
    }
    let queued = message(nb, Role::User, "And roots?");
    app.update(
        Msg::Daemon(FromDaemon::Sent(Box::new(mentor_shared::chat::ChatSent {
            message: queued,
            queued: true,
        }))),
        t0,
        Timestamp::now(),
    );
    insta::assert_snapshot!(en(&app, t0));
}

#[test]
fn one_job_with_progress() {
    let t0 = Instant::now();
    let mut app = app(t0);
    running(&mut app, Some((3, 12, "stage-speech")), t0);
    insta::assert_snapshot!(en(&app, t0 + Duration::from_secs(65)));
}

#[test]
fn one_job_without_progress() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let mut j = job(JobKind::Quiz, JobStatus::Processing, None);
    settle(&mut j);
    push_job(&mut app, j, t0);
    insta::assert_snapshot!(en(&app, t0 + Duration::from_secs(2)));
}

#[test]
fn three_jobs_and_more() {
    let t0 = Instant::now();
    let mut app = app(t0);
    for (kind, progress) in [
        (JobKind::Podcast, Some((1, 4))),
        (JobKind::Quiz, None),
        (JobKind::StudyGuide, Some((2, 4))),
        (JobKind::Podcast, Some((3, 4))),
        (JobKind::Quiz, None),
    ] {
        let mut j = job(kind, JobStatus::Processing, progress);
        settle(&mut j);
        push_job(&mut app, j, t0);
    }
    insta::assert_snapshot!(en(&app, t0));
}

#[test]
fn ready_then_gone_after_five_seconds() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let mut j = job(JobKind::Podcast, JobStatus::Processing, Some((11, 12)));
    settle(&mut j);
    let mut j = push_job(&mut app, j, t0);
    j.status = JobStatus::Completed;
    let t1 = t0 + Duration::from_secs(30);
    push_job(&mut app, j, t1);
    let mut notice = message(
        nb_of(&app),
        Role::Notice,
        "Your podcast is ready. Open it with `mentor artifact show art:01J…` or in the artifacts panel (F2).",
    );
    notice.notice = Some(Notice {
        kind: NoticeKind::Ready,
        job_id: JobId::new(),
        job_kind: JobKind::Podcast,
        artifact_id: None,
        reason: None,
    });
    event(&mut app, EventBody::Message { message: notice }, t1);
    insta::assert_snapshot!(en(&app, t1));
    // Not before 5 s…
    app.update(
        Msg::Tick,
        t1 + Duration::from_millis(4999),
        Timestamp::now(),
    );
    assert!(en(&app, t1 + Duration::from_millis(4999)).contains("Podcast ready"));
    // …and gone at 5 s, with nothing left to wake up for.
    let t2 = t1 + Duration::from_secs(5);
    app.update(Msg::Tick, t2, Timestamp::now());
    assert!(!en(&app, t2).contains("Podcast ready"));
    assert!(app.jobs.is_empty());
    assert_eq!(app.next_frame(t2), None, "an idle screen asks for no frame");
}

#[test]
fn failed_stays_amber_until_dismissed() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let j = job(JobKind::Podcast, JobStatus::Processing, None);
    let mut j = push_job(&mut app, j, t0);
    j.status = JobStatus::Error;
    j.error_message = Some("espeak-ng is not installed".into());
    push_job(&mut app, j, t0);
    insta::assert_snapshot!(en(&app, t0));
    let later = t0 + Duration::from_secs(3600);
    app.update(Msg::Tick, later, Timestamp::now());
    assert!(en(&app, later).contains("⚠ Podcast failed: espeak-ng is not installed"));
    key(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL, later);
    assert!(!en(&app, later).contains("Podcast failed"));
}

#[test]
fn cancelled_is_dim_and_goes() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let j = job(JobKind::StudyGuide, JobStatus::Pending, None);
    let mut j = push_job(&mut app, j, t0);
    j.status = JobStatus::Cancelled;
    push_job(&mut app, j, t0);
    insta::assert_snapshot!(en(&app, t0));
    app.update(Msg::Tick, t0 + Duration::from_secs(5), Timestamp::now());
    assert!(app.jobs.is_empty());
}

fn artifact(
    kind: JobKind,
    status: ArtifactStatus,
    title: &str,
    data: Option<serde_json::Value>,
) -> Artifact {
    let now = Timestamp::now();
    Artifact {
        id: ArtifactId::new(),
        notebook_id: NotebookId::new(),
        job_id: JobId::new(),
        kind,
        title: title.into(),
        status,
        data,
        created: now,
        updated: now,
    }
}

#[test]
fn artifacts_panel() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(
        Msg::Daemon(FromDaemon::Artifacts(vec![
            artifact(
                JobKind::Podcast,
                ArtifactStatus::Ready,
                "Photosynthesis",
                None,
            ),
            artifact(JobKind::Quiz, ArtifactStatus::Generating, "Cells", None),
            artifact(JobKind::StudyGuide, ArtifactStatus::Failed, "Roots", None),
        ])),
        t0,
        Timestamp::now(),
    );
    key(&mut app, KeyCode::F(2), KeyModifiers::NONE, t0);
    key(&mut app, KeyCode::Down, KeyModifiers::NONE, t0);
    insta::assert_snapshot!(en(&app, t0));
}

fn quiz() -> mentor_shared::artifacts::Quiz {
    mentor_shared::artifacts::Quiz {
        title: "Cells".into(),
        difficulty: Difficulty::Medium,
        language: "en-US".into(),
        questions: vec![
            Question {
                question: "Which organelle makes most of a cell's energy?".into(),
                options: vec![
                    "The nucleus".into(),
                    "The mitochondrion".into(),
                    "The ribosome".into(),
                    "The cell wall".into(),
                ],
                answer: 1,
                explanation: "Mitochondria run cellular respiration, which makes ATP.".into(),
                source: None,
            },
            Question {
                question: "What does the cell membrane do?".into(),
                options: vec![
                    "Stores DNA".into(),
                    "Makes proteins".into(),
                    "Controls what enters and leaves".into(),
                    "Captures light".into(),
                ],
                answer: 2,
                explanation: "It is selectively permeable.".into(),
                source: None,
            },
        ],
    }
}

#[test]
fn quiz_question_feedback_and_result() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let id = ArtifactId::new();
    app.overlay = Some(Overlay::Quiz(QuizPlayer::new(id, quiz())));
    insta::assert_snapshot!("quiz_question", en(&app, t0));
    key(&mut app, KeyCode::Char('a'), KeyModifiers::NONE, t0);
    insta::assert_snapshot!("quiz_feedback", en(&app, t0));
    key(&mut app, KeyCode::Enter, KeyModifiers::NONE, t0);
    // The options are shown as A–D: the capital letter answers too.
    let effects = key(&mut app, KeyCode::Char('C'), KeyModifiers::SHIFT, t0);
    assert_eq!(effects, [crate::app::Effect::SaveQuiz(id, vec![0, 2])]);
    key(&mut app, KeyCode::Enter, KeyModifiers::NONE, t0);
    app.update(
        Msg::Daemon(FromDaemon::QuizSaved(Ok(()))),
        t0,
        Timestamp::now(),
    );
    insta::assert_snapshot!("quiz_result", en(&app, t0));
}

#[test]
fn help_overlay_lists_every_key() {
    let t0 = Instant::now();
    let mut app = app(t0);
    key(&mut app, KeyCode::F(1), KeyModifiers::NONE, t0);
    let shown = screen(&app, Lang::EnUs, t0, 120, 40);
    for b in crate::app::keymap::BINDINGS {
        let label = b.keys[0].label();
        assert!(shown.contains(&label), "{label} missing from the help");
    }
    insta::assert_snapshot!(shown);
    // Any key closes it.
    key(&mut app, KeyCode::Char('x'), KeyModifiers::NONE, t0);
    assert!(app.overlay.is_none());
}

#[test]
fn help_at_80_by_24_shows_every_key_by_scrolling() {
    let t0 = Instant::now();
    let mut app = app(t0);
    key(&mut app, KeyCode::F(1), KeyModifiers::NONE, t0);
    let first = screen(&app, Lang::EnUs, t0, 80, 24);
    insta::assert_snapshot!("help_80x24", first);
    // Scroll to the end (more presses than needed stop at the end), then read both screens.
    for _ in 0..30 {
        key(&mut app, KeyCode::Down, KeyModifiers::NONE, t0);
        screen(&app, Lang::EnUs, t0, 80, 24);
    }
    let last = screen(&app, Lang::EnUs, t0, 80, 24);
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    // Descriptions may wrap: compare words with the borders and line breaks taken out.
    let both = format!("{first}{last}")
        .replace(['│', '"'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for b in crate::app::keymap::BINDINGS {
        let label = b.keys[0].label();
        assert!(both.contains(&label), "{label} missing from the help");
        let what = localizer(Lang::EnUs).text(b.help, None);
        assert!(both.contains(&what), "{what} missing from the help");
    }
    // One press up moves back from the end at once.
    key(&mut app, KeyCode::Up, KeyModifiers::NONE, t0);
    assert_ne!(screen(&app, Lang::EnUs, t0, 80, 24), last);
    key(&mut app, KeyCode::Char('x'), KeyModifiers::NONE, t0);
    assert!(app.overlay.is_none());
}

#[test]
fn reconnecting_keeps_the_input() {
    let t0 = Instant::now();
    let mut app = app(t0);
    for c in "half a thought".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE, t0);
    }
    app.update(
        Msg::Daemon(FromDaemon::Lost("connection reset".into())),
        t0,
        Timestamp::now(),
    );
    assert_eq!(
        app.connection,
        Connection::Reconnecting {
            reason: "connection reset".into()
        }
    );
    insta::assert_snapshot!(en(&app, t0));
}

#[test]
fn french_main_screen() {
    let t0 = Instant::now();
    let mut app = app(t0);
    running(&mut app, Some((1, 4, "stage-outline")), t0);
    insta::assert_snapshot!(screen(&app, Lang::FrFr, t0, 80, 24));
}

#[test]
fn a_small_terminal_still_shows_the_status_and_the_input() {
    let t0 = Instant::now();
    let mut app = app(t0);
    running(&mut app, Some((2, 4, "stage-transcript")), t0);
    let shown = screen(&app, Lang::EnUs, t0, 40, 8);
    assert!(shown.contains("Generating podcast"), "{shown}");
    assert!(shown.contains('›'), "{shown}");
}

#[test]
fn typing_sends_and_question_mark_is_text_once_typing() {
    let t0 = Instant::now();
    let mut app = app(t0);
    key(&mut app, KeyCode::Char('?'), KeyModifiers::NONE, t0);
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    key(&mut app, KeyCode::Esc, KeyModifiers::NONE, t0);
    for c in "why?".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE, t0);
    }
    assert!(app.overlay.is_none());
    key(&mut app, KeyCode::Enter, KeyModifiers::SHIFT, t0);
    key(&mut app, KeyCode::Char('x'), KeyModifiers::NONE, t0);
    let effects = key(&mut app, KeyCode::Enter, KeyModifiers::NONE, t0);
    assert_eq!(effects, [crate::app::Effect::Send("why?\nx".into())]);
    assert!(app.input.is_empty());
}

#[test]
fn a_spinner_asks_for_its_next_frame_and_an_idle_screen_for_none() {
    let t0 = Instant::now();
    let mut app = app(t0);
    assert_eq!(app.next_frame(t0), None);
    let j = push_job(
        &mut app,
        job(JobKind::Podcast, JobStatus::Processing, None),
        t0,
    );
    assert_eq!(app.next_frame(t0), Some(t0 + crate::app::SPINNER_FRAME));
    let a = en(&app, t0);
    let b = en(&app, t0 + crate::app::SPINNER_FRAME);
    assert_ne!(a, b, "the spinner turns");
    let _ = j;
}

#[test]
fn the_objectives_are_counted_again_after_each_turn() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let notebook = app.notebook.as_ref().map(|n| n.id).expect("notebook");
    let ended = EventBody::TurnEnded {
        notebook_id: notebook,
        outcome: mentor_shared::chat::TurnOutcome::Completed,
    };
    let effects = push_event(&mut app, ended, t0);
    assert!(effects.contains(&crate::app::Effect::ListObjectives));
    app.update(
        Msg::Daemon(FromDaemon::Objectives(3, 5)),
        t0,
        Timestamp::now(),
    );
    assert!(en(&app, t0).contains("objectives 3/5"));
}

#[test]
fn a_stopped_reply_is_marked_and_a_failed_one_says_why() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let nb = nb_of(&app);
    let mut stopped = message(nb, Role::Assistant, "Light reactions happen in the");
    stopped.state = MessageState::Stopped;
    push_event(&mut app, EventBody::MessageDone { message: stopped }, t0);
    let shown = en(&app, t0);
    assert!(shown.contains("Light reactions happen in the"), "{shown}");
    assert!(shown.contains("⏹ stopped"), "{shown}");
    let mut failed = message(nb, Role::Assistant, "");
    failed.state = MessageState::Failed;
    failed.error = Some(mentor_shared::ApiError::LlmTimeout {
        url: "http://127.0.0.1:11434/v1".into(),
        phase: "first_token".into(),
        secs: 30,
    });
    push_event(&mut app, EventBody::MessageDone { message: failed }, t0);
    let shown = en(&app, t0);
    assert!(shown.contains("✗ The reply failed:"), "{shown}");
}
