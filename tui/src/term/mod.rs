//! The terminal client's runtime: one `select!` loop over the terminal's input, the daemon's
//! pushed events and the frame scheduler, feeding [`App::update`] and carrying out the
//! effects it returns.
//!
//! Frames are drawn on demand, never on a fixed busy tick: an input asks for a frame (at most
//! one per [`MIN_FRAME`], so a burst of tokens costs one draw), and the app says when it next
//! changes by itself (the spinner's next turn, a ready line's end). With nothing running and
//! nothing typed, the loop sleeps.

pub mod link;
pub mod terminal;

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use mentor_shared::i18n;
use mentor_shared::jobs::JobKind;
use mentor_shared::t;
use mentor_shared::time::Timestamp;
use tokio::sync::mpsc;

use self::link::{Current, LinkCommand};
use self::terminal::Screen;
use crate::app::{App, Effect, FromDaemon, Msg};
use crate::cli::artifact::{content, export, player};
use crate::cli::Env;
use crate::client::{self, answer, ctx};
use crate::error::CliError;
use crate::ui::{self, ViewCache};

/// The shortest time between two frames (120 per second at most).
pub const MIN_FRAME: Duration = Duration::from_millis(8);

/// Opens the terminal chat on a notebook (by id or title; default: the last one used).
pub async fn run(env: &Env, notebook: Option<String>) -> Result<(), CliError> {
    let config = env.config()?;
    // Connect before the screen opens: a daemon that cannot start says why, plainly.
    let first = client::connect(&env.dirs).await?;
    let l = i18n::ui();
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut app = App::new(config.llm.model.clone(), config.llm.base_url.clone(), color);
    let cache = ViewCache::default();
    let mut screen = Screen::enter().map_err(io_error)?;

    let (to_app, mut from_daemon) = mpsc::unbounded_channel();
    let current = Current::default();
    let link = link::start(env, first, notebook, current.clone(), to_app.clone());
    let mut input = EventStream::new();
    let mut next_frame: Option<Instant> = Some(Instant::now());
    let mut last_frame = Instant::now() - MIN_FRAME;
    let mut signals = Signals::new()?;

    loop {
        let sleep = async {
            match next_frame {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(k))) => Some(Msg::Key(k)),
                Some(Ok(TermEvent::Paste(text))) => Some(Msg::Paste(text)),
                Some(Ok(TermEvent::Mouse(m))) => Some(Msg::Mouse(m)),
                Some(Ok(TermEvent::Resize(..))) => Some(Msg::Resize),
                Some(Ok(_)) => None,
                // The terminal is gone (hung up): nothing more can be shown.
                Some(Err(_)) | None => break,
            },
            Some(d) = from_daemon.recv() => Some(Msg::Daemon(d)),
            _ = sleep => {
                let now = Instant::now();
                app.update(Msg::Tick, now, Timestamp::now());
                screen
                    .terminal
                    .draw(|f| ui::draw(f, &app, &cache, l, now))
                    .map_err(io_error)?;
                last_frame = now;
                next_frame = app.next_frame(now);
                None
            }
            _ = signals.next() => break,
        };
        let Some(msg) = msg else { continue };
        let now = Instant::now();
        let effects = app.update(msg, now, Timestamp::now());
        for effect in effects {
            carry_out(effect, &mut app, &mut screen, env, &current, &link, &to_app)?;
        }
        if app.quit {
            break;
        }
        // Something changed: a frame soon, but not more often than MIN_FRAME.
        let due = (last_frame + MIN_FRAME).max(now);
        next_frame = Some(next_frame.map_or(due, |at| at.min(due)));
    }
    drop(screen);
    Ok(())
}

/// SIGTERM and SIGHUP end the client cleanly (the screen is restored on the way out).
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, CliError> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(io_error)?,
            hup: signal(SignalKind::hangup()).map_err(io_error)?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

fn io_error(e: io::Error) -> CliError {
    CliError::Io {
        path: "terminal".into(),
        reason: e.to_string(),
    }
}

/// Does what the app asked for.
fn carry_out(
    effect: Effect,
    app: &mut App,
    screen: &mut Screen,
    env: &Env,
    current: &Current,
    link: &mpsc::UnboundedSender<LinkCommand>,
    to_app: &mpsc::UnboundedSender<FromDaemon>,
) -> Result<(), CliError> {
    let l = i18n::ui();
    let nb =
        |n: Option<mentor_shared::ids::NotebookId>| n.map(|id| id.to_string()).unwrap_or_default();
    match effect {
        Effect::Quit => {}
        Effect::Send(text) => link::request(
            current,
            to_app,
            move |c, n| async move { answer(c.rpc.chat_send(ctx(30), nb(n), text).await) },
            |sent| Some(FromDaemon::Sent(Box::new(sent))),
        ),
        Effect::StopReply => link::request(
            current,
            to_app,
            move |c, n| async move { answer(c.rpc.chat_cancel(ctx(30), nb(n)).await) },
            |_| None,
        ),
        Effect::CancelJob(job) => link::request(
            current,
            to_app,
            move |c, _| async move { answer(c.rpc.job_cancel(ctx(30), job.to_string()).await) },
            |_| None,
        ),
        Effect::RetryJob(job) => link::request(
            current,
            to_app,
            move |c, _| async move { answer(c.rpc.job_retry(ctx(30), job.to_string()).await) },
            |_| None,
        ),
        Effect::ListArtifacts => link::request(
            current,
            to_app,
            move |c, n| async move { answer(c.rpc.artifact_list(ctx(30), nb(n)).await) },
            |list| Some(FromDaemon::Artifacts(list)),
        ),
        Effect::ListObjectives => link::request(
            current,
            to_app,
            move |c, n| async move { answer(c.rpc.objective_list(ctx(30), nb(n)).await) },
            |list| {
                let met = list.iter().filter(|o| o.met).count() as u32;
                Some(FromDaemon::Objectives(met, list.len() as u32))
            },
        ),
        Effect::OpenArtifact(id) => link::request(
            current,
            to_app,
            move |c, _| async move { answer(c.rpc.artifact_show(ctx(30), id.to_string()).await) },
            |a| Some(FromDaemon::Opened(Box::new(a))),
        ),
        Effect::SaveQuiz(id, answers) => {
            let to = to_app.clone();
            link::request(
                current,
                to_app,
                move |c, _| async move {
                    let saved = answer(
                        c.rpc
                            .quiz_attempt_save(ctx(30), id.to_string(), answers)
                            .await,
                    );
                    let _ = to.send(FromDaemon::QuizSaved(
                        saved
                            .as_ref()
                            .map(|_| ())
                            .map_err(|e| e.localize(i18n::ui())),
                    ));
                    saved.map(|_| ())
                },
                |_| None,
            )
        }
        Effect::ListNotebooks => link::request(
            current,
            to_app,
            move |c, _| async move { answer(c.rpc.notebook_list(ctx(30)).await) },
            |list| Some(FromDaemon::Notebooks(list)),
        ),
        Effect::Switch(id) => {
            let _ = link.send(LinkCommand::Switch(id));
        }
        Effect::CreateNotebook(title) => {
            let link = link.clone();
            link::request(
                current,
                to_app,
                move |c, _| async move { answer(c.rpc.notebook_create(ctx(30), title, None).await) },
                move |nb| {
                    let _ = link.send(LinkCommand::Switch(nb.id));
                    None
                },
            )
        }
        Effect::Copy(text) => {
            let said = match terminal::copy(&text) {
                Ok(()) => t!(l, "tui-copied"),
                Err(e) => e.to_string(),
            };
            app.say(said, Instant::now());
        }
        Effect::Editor(text) => {
            let edited = screen.suspended(|| edit(&text)).map_err(io_error)?;
            match edited {
                Ok(new) => app.input.set_text(new.trim_end_matches('\n').to_string()),
                Err(reason) => app.say(reason, Instant::now()),
            }
        }
        Effect::Play(id) => {
            let configured = env.config()?.artifacts.player.clone();
            link::request(
                current,
                to_app,
                move |c, _| async move {
                    let a = answer(c.rpc.artifact_show(ctx(30), id.to_string()).await)?;
                    play(&a, &configured)
                },
                |said| Some(FromDaemon::Said(said)),
            )
        }
        Effect::Export(id) => link::request(
            current,
            to_app,
            move |c, _| async move {
                let a = answer(c.rpc.artifact_show(ctx(30), id.to_string()).await)?;
                export_here(&a)
            },
            |said| Some(FromDaemon::Said(said)),
        ),
    }
    Ok(())
}

/// Edits text in `$VISUAL` / `$EDITOR` (else `vi`), in a private temporary file.
fn edit(text: &str) -> Result<String, String> {
    let l = i18n::ui();
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_string());
    let dir = tempfile::Builder::new()
        .prefix("mentor-edit")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let file = dir.path().join("message.md");
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&file)
        .status()
        .map_err(|e| {
            t!(
                l,
                "tui-editor-failed",
                editor = editor.as_str(),
                reason = e.to_string()
            )
        })?;
    if !status.success() {
        return Err(t!(
            l,
            "tui-editor-failed",
            editor = editor.as_str(),
            reason = status.to_string()
        ));
    }
    std::fs::read_to_string(&file).map_err(|e| e.to_string())
}

/// Starts the player on a podcast, detached from the screen; says which.
fn play(a: &mentor_shared::jobs::Artifact, configured: &str) -> Result<String, CliError> {
    let l = i18n::ui();
    let podcast: mentor_shared::artifacts::Podcast = content::ready(a, JobKind::Podcast)?;
    let Some(audio) = &podcast.audio else {
        return Err(crate::cli::artifact::problem::Problem::TranscriptOnly {
            artifact: a.id.to_string(),
        }
        .into());
    };
    let path = std::env::var_os("PATH");
    let player = player::choose(None, configured, path.as_deref())?;
    std::process::Command::new(&player.program)
        .args(&player.args)
        .arg(&audio.path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| crate::cli::artifact::problem::Problem::PlayerFailed {
            player: player.program.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok(t!(
        l,
        "tui-playing",
        title = podcast.title.trim(),
        player = player.name()
    ))
}

/// Exports an artifact into the working directory, named after its title; says where.
fn export_here(a: &mentor_shared::jobs::Artifact) -> Result<String, CliError> {
    let l = i18n::ui();
    let (format, payload) = export::payload(a, None)?;
    let stem: String = a
        .title
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let stem = if stem.is_empty() {
        a.id.to_string()
    } else {
        stem
    };
    let dest = PathBuf::from(format!("{stem}.{}", format.name()));
    export::write(&dest, &payload, false)?;
    let shown = std::fs::canonicalize(&dest).unwrap_or(dest);
    Ok(t!(l, "tui-exported", path = shown.display().to_string()))
}
