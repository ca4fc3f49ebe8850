//! The screen's link to the daemon: one task that connects, loads the notebook, follows its
//! events by push and, when the connection breaks, says so, reconnects by itself (starting the
//! daemon if it is gone) and loads everything again. Requests the learner makes (send, stop,
//! cancel, open…) run beside it on the current connection; their answers come back as
//! messages to the app like everything else.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mentor_shared::i18n;
use mentor_shared::ids::NotebookId;
use mentor_shared::jobs::{JobFilter, JobStatus};
use mentor_shared::paths::Dirs;
use mentor_shared::t;
use tokio::sync::mpsc;

use crate::app::{FromDaemon, OpenNotebook, Snapshot};
use crate::cli::events::{current_cursor, NotebookEvents, Trouble};
use crate::cli::Env;
use crate::client::{self, ctx, Client};
use crate::error::CliError;

/// Messages loaded with a notebook.
const HISTORY: u32 = 500;
/// Pause between reconnection attempts.
const RETRY: Duration = Duration::from_millis(250);
/// How long a vanished daemon is waited for before one is started.
const START_AFTER: Duration = Duration::from_secs(2);

/// What the link is told to do.
#[derive(Debug)]
pub enum LinkCommand {
    /// Open another notebook.
    Switch(NotebookId),
}

/// A connection and the notebook open on it.
type Open = Option<(Client, Option<NotebookId>)>;

/// The current connection, shared with the requests.
#[derive(Clone, Default)]
pub struct Current {
    inner: Arc<Mutex<Open>>,
}

impl Current {
    /// The connection and the notebook open, if connected.
    pub fn get(&self) -> Open {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, value: Open) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = value;
    }
}

/// Starts the link on a first connection; returns the command sender.
pub fn start(
    env: &Env,
    first: Client,
    wanted: Option<String>,
    current: Current,
    to_app: mpsc::UnboundedSender<FromDaemon>,
) -> mpsc::UnboundedSender<LinkCommand> {
    let (tx, rx) = mpsc::unbounded_channel();
    let env = Env {
        dirs: env.dirs.clone(),
        config: env.config.clone(),
        json: false,
    };
    tokio::spawn(run(env, first, wanted, current, to_app, rx));
    tx
}

async fn run(
    env: Env,
    first: Client,
    wanted: Option<String>,
    current: Current,
    to_app: mpsc::UnboundedSender<FromDaemon>,
    mut commands: mpsc::UnboundedReceiver<LinkCommand>,
) {
    let l = i18n::ui();
    let mut client = Some(first);
    let mut wanted = wanted;
    let mut notebook: Option<NotebookId> = None;
    loop {
        let c = match client.take() {
            Some(c) => c,
            None => reconnect(&env.dirs).await,
        };
        current.set(Some((c.clone(), notebook)));
        // Which notebook: the one asked for, else the one open before, else the last used.
        let chosen = match resolve(&c, &env.dirs, wanted.take(), notebook).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                let _ = to_app.send(FromDaemon::NoNotebook);
                // Wait for the learner to choose or create one.
                match choice(&c, &to_app, &mut commands).await {
                    Some(LinkCommand::Switch(id)) => {
                        notebook = Some(id);
                        client = Some(c);
                        continue;
                    }
                    None => return,
                }
            }
            Err(Trouble::Lost(reason)) => {
                let _ = to_app.send(FromDaemon::Lost(reason));
                continue;
            }
            Err(Trouble::Failed(e)) => {
                let _ = to_app.send(FromDaemon::Said(e.localize(l)));
                let _ = to_app.send(FromDaemon::NoNotebook);
                match choice(&c, &to_app, &mut commands).await {
                    Some(LinkCommand::Switch(id)) => {
                        notebook = Some(id);
                        client = Some(c);
                        continue;
                    }
                    None => return,
                }
            }
        };
        notebook = Some(chosen);
        current.set(Some((c.clone(), notebook)));
        let _ = std::fs::create_dir_all(&env.dirs.state);
        let _ = std::fs::write(env.dirs.last_notebook(), chosen.to_string());
        // Subscribe first, then load: nothing that happens in between is missed.
        let followed = async {
            let cursor = current_cursor(&c).await?;
            let snapshot = load(&c, chosen).await?;
            let events = NotebookEvents::start(&env, &c, cursor, chosen).await?;
            Ok::<_, Trouble>((snapshot, events))
        };
        let (snapshot, mut events) = match followed.await {
            Ok(x) => x,
            Err(Trouble::Lost(reason)) => {
                let _ = to_app.send(FromDaemon::Lost(reason));
                continue;
            }
            Err(Trouble::Failed(e)) => {
                // The notebook is gone (deleted elsewhere): choose another.
                let _ = to_app.send(FromDaemon::Said(e.localize(l)));
                notebook = None;
                client = Some(c);
                continue;
            }
        };
        if to_app
            .send(FromDaemon::Connected(Box::new(snapshot)))
            .is_err()
        {
            return;
        }
        // Follow until the connection breaks, events are missed, or another notebook opens.
        // Which model answers is asked now and then: often while the local model loads.
        let mut ask_model = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(ask_model) => {
                    let Some(next) = ask_model_info(&c, &to_app).await else { return };
                    ask_model = next;
                }
                batch = events.next() => match batch {
                    Ok(batch) if batch.reload => {
                        client = Some(c.clone());
                        break;
                    }
                    Ok(batch) => {
                        for event in batch.events {
                            if to_app.send(FromDaemon::Event(Box::new(event))).is_err() {
                                return;
                            }
                        }
                    }
                    Err(Trouble::Lost(reason)) | Err(Trouble::Failed(CliError::Connection(reason))) => {
                        current.set(None);
                        let _ = to_app.send(FromDaemon::Lost(reason));
                        break;
                    }
                    Err(Trouble::Failed(e)) => {
                        let _ = to_app.send(FromDaemon::Said(e.localize(l)));
                        current.set(None);
                        let _ = to_app.send(FromDaemon::Lost(e.localize(l)));
                        break;
                    }
                },
                command = commands.recv() => match command {
                    Some(LinkCommand::Switch(id)) => {
                        notebook = Some(id);
                        wanted = None;
                        client = Some(c.clone());
                        break;
                    }
                    None => return,
                },
            }
        }
    }
}

/// How often the header's model is asked for, and while the local model loads.
const MODEL_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
const MODEL_LOADING_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Asks which model answers and hands it to the header; when to ask next (sooner while the
/// local model loads), or `None` once the app has gone.
async fn ask_model_info(
    c: &Client,
    to_app: &mpsc::UnboundedSender<FromDaemon>,
) -> Option<tokio::time::Instant> {
    let loading = match c.rpc.llm_info(ctx(5)).await {
        Ok(Ok(info)) => {
            let loading = info.local.as_ref().is_some_and(|m| m.state == "loading");
            to_app.send(FromDaemon::Model(Box::new(info))).ok()?;
            loading
        }
        _ => false,
    };
    Some(
        tokio::time::Instant::now()
            + if loading {
                MODEL_LOADING_EVERY
            } else {
                MODEL_EVERY
            },
    )
}

/// Waits for the learner to choose a notebook, keeping the header's model up to date
/// meanwhile (the picker is the first screen of a new installation).
async fn choice(
    c: &Client,
    to_app: &mpsc::UnboundedSender<FromDaemon>,
    commands: &mut mpsc::UnboundedReceiver<LinkCommand>,
) -> Option<LinkCommand> {
    let mut ask_model = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(ask_model) => {
                ask_model = ask_model_info(c, to_app).await?;
            }
            command = commands.recv() => return command,
        }
    }
}

/// Connects again, waiting for a daemon that restarts and starting one that stays gone.
async fn reconnect(dirs: &Dirs) -> Client {
    let started = tokio::time::Instant::now();
    loop {
        let attempt = if started.elapsed() < START_AFTER {
            client::connect_existing(dirs).await.ok().flatten()
        } else {
            client::connect_quietly(dirs).await.ok()
        };
        if let Some(c) = attempt {
            return c;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// The notebook to open.
async fn resolve(
    c: &Client,
    dirs: &Dirs,
    wanted: Option<String>,
    open: Option<NotebookId>,
) -> Result<Option<NotebookId>, Trouble> {
    if let Some(id) = open {
        return Ok(Some(id));
    }
    if let Some(name) = wanted {
        let nb = crate::cli::events::call(c.rpc.notebook_show(ctx(10), name).await)?;
        return Ok(Some(nb.id));
    }
    let list = crate::cli::events::call(c.rpc.notebook_list(ctx(10)).await)?;
    let last = std::fs::read_to_string(dirs.last_notebook())
        .ok()
        .and_then(|s| s.trim().parse::<NotebookId>().ok());
    if let Some(id) = last.filter(|id| list.iter().any(|n| n.id == *id)) {
        return Ok(Some(id));
    }
    Ok(list.iter().max_by_key(|n| n.updated).map(|n| n.id))
}

/// Everything the screen shows of a notebook.
async fn load(c: &Client, id: NotebookId) -> Result<Snapshot, Trouble> {
    use crate::cli::events::call;
    let key = id.to_string();
    let nb = call(c.rpc.notebook_show(ctx(10), key.clone()).await)?;
    let history = call(c.rpc.chat_history(ctx(10), key.clone(), HISTORY).await)?;
    let mut jobs = Vec::new();
    for status in [JobStatus::Pending, JobStatus::Processing] {
        let filter = JobFilter {
            notebook: Some(key.clone()),
            status: Some(status),
            ..JobFilter::default()
        };
        jobs.extend(call(c.rpc.job_list(ctx(10), filter).await)?);
    }
    jobs.sort_by_key(|j| j.created);
    let artifacts = call(c.rpc.artifact_list(ctx(10), key).await)?;
    let objectives = call(c.rpc.objective_list(ctx(10), id.to_string()).await)?;
    Ok(Snapshot {
        notebook: OpenNotebook {
            id: nb.id,
            title: nb.title,
            objectives_met: objectives.iter().filter(|o| o.met).count() as u32,
            objectives_total: objectives.len() as u32,
        },
        history,
        jobs,
        artifacts,
    })
}

/// Runs one request on the current connection; the answer (or the refusal, in words) goes to
/// the app. Without a connection, says so.
pub fn request<T, F, Fut>(
    current: &Current,
    to_app: &mpsc::UnboundedSender<FromDaemon>,
    call: F,
    then: impl FnOnce(T) -> Option<FromDaemon> + Send + 'static,
) where
    T: Send + 'static,
    F: FnOnce(Client, Option<NotebookId>) -> Fut,
    Fut: std::future::Future<Output = Result<T, CliError>> + Send + 'static,
{
    let l = i18n::ui();
    let Some((c, notebook)) = current.get() else {
        let _ = to_app.send(FromDaemon::Said(t!(l, "tui-not-connected")));
        return;
    };
    let fut = call(c, notebook);
    let to_app = to_app.clone();
    tokio::spawn(async move {
        let message = match fut.await {
            Ok(v) => then(v),
            Err(e) => Some(FromDaemon::Said(e.localize(l))),
        };
        if let Some(m) = message {
            let _ = to_app.send(m);
        }
    });
}
