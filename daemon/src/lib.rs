//! mentor-daemon: `mentord`, the daemon that owns Mentor's database and serves clients over a
//! private Unix socket. Also a library, so tests can drive its parts directly.

pub mod chat;
pub mod frame_clock;
#[cfg(test)]
pub(crate) mod fuzz_support;
pub mod jobs;
pub mod llm;
pub mod logging;
pub mod queue;
pub mod rpc;
pub mod server;
pub mod socket;
pub mod sources;
pub mod state;
pub mod store;
pub mod tts;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mentor_shared::config::Config;
use mentor_shared::jobs::JobKind;
use mentor_shared::paths::Dirs;
use mentor_shared::time::Timestamp;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use socket::StartError;
use state::Daemon;
use store::Store;

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything `run` needs.
pub struct Options {
    /// Directories.
    pub dirs: Dirs,
    /// Effective configuration.
    pub config: Config,
    /// Protocol version to speak (tests use another to check the mismatch message).
    pub protocol: u32,
    /// The runtime job handlers run on (its own threads, at a lower CPU priority).
    pub jobs: tokio::runtime::Handle,
    /// Register the scripted `test` job handler (tests and benchmarks only).
    pub test_handlers: bool,
    /// Also register scripted stand-ins for the podcast, quiz and study-guide generators
    /// (tests and benchmarks of the chat only).
    pub stand_ins: bool,
    /// A pause before the local model loads, so that tests can watch the loading progress
    /// (`MENTORD_TEST_LOAD_PAUSE_MS`; tests only).
    pub load_pause: Duration,
}

/// Runs the daemon until SIGTERM, SIGINT or a `shutdown` request, then stops gracefully.
///
/// The lock is taken before anything else touches the runtime directory, so a second daemon
/// is refused before it can disturb the first one's socket.
pub async fn run(opts: Options) -> Result<(), StartError> {
    let Options {
        dirs,
        config,
        protocol,
        jobs,
        test_handlers,
        stand_ins,
        load_pause,
    } = opts;
    // Everything the daemon creates (database, logs, socket, artifacts) is owner-only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    socket::private_dir(&dirs.runtime)?;
    let _lock = socket::acquire_lock(&dirs)?;
    socket::private_dir(&dirs.data)?;
    socket::private_dir(&dirs.state)?;
    let _log_guard =
        logging::init(&dirs, &config.daemon.log_level).map_err(|source| StartError::Io {
            path: dirs.log_file(),
            source,
        })?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "mentord starting"
    );
    let db_path = dirs.database();
    let store = tokio::task::spawn_blocking(move || Store::open(&db_path))
        .await
        .map_err(|e| StartError::Io {
            path: dirs.database(),
            source: std::io::Error::other(e.to_string()),
        })??;
    let listener = socket::bind(&dirs)?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("mentor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| StartError::Io {
            path: dirs.socket(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let llm = llm::Llm::new(&config.llm)
        .map_err(|e| StartError::Io {
            path: dirs.config_file(),
            source: std::io::Error::other(e.to_string()),
        })?
        .with_local(
            config.local_model_path(&dirs),
            &config.llm.local,
            load_pause,
        );
    // Load the local model now, off any request's path, if it is the one that will answer.
    let preload = llm.clone();
    tokio::spawn(async move {
        if preload.choice().await == llm::Choice::Local {
            if let Some(local) = preload.local() {
                local.preload();
            }
        }
    });
    let mut handlers: Vec<Arc<dyn queue::JobHandler>> = Vec::new();
    if test_handlers {
        tracing::warn!("scripted test job handler enabled");
        handlers.push(Arc::new(
            queue::test_handler::TestHandler::new(Some(dirs.data.join("test-steps.log")))
                .with_llm(llm.clone()),
        ));
    }
    if stand_ins {
        tracing::warn!("scripted stand-ins replace the podcast, quiz and study-guide generators");
        for kind in [JobKind::Podcast, JobKind::Quiz, JobKind::StudyGuide] {
            handlers.push(Arc::new(queue::test_handler::TestHandler::stand_in(
                kind,
                Some(dirs.data.join("test-steps.log")),
            )));
        }
    } else {
        let kit = jobs::Kit {
            llm: llm.clone(),
            store: store.clone(),
            prompt_dir: dirs.config.clone(),
            sources_budget_tokens: config.jobs.sources_budget_tokens,
        };
        let speech = tts::Speech::new(&config.tts, http.clone());
        let files = jobs::files::ArtifactFiles::new(dirs.artifacts());
        handlers.push(Arc::new(jobs::podcast::PodcastHandler::new(
            kit.clone(),
            speech,
            files,
        )));
        handlers.push(Arc::new(jobs::quiz::QuizHandler::new(kit.clone())));
        handlers.push(Arc::new(jobs::study_guide::StudyGuideHandler::new(kit)));
    }
    let queue = Arc::new(queue::Queue::new(
        store.clone(),
        Arc::new(queue::bus::EventBus::new()),
        config.jobs.clone(),
        handlers,
    ));
    let daemon = Arc::new(Daemon {
        queue: queue.clone(),
        llm,
        chat: chat::Chat::new(),
        limits: (&config.sources).into(),
        config,
        dirs: dirs.clone(),
        store: store.clone(),
        protocol,
        started: Timestamp::now(),
        started_at: Instant::now(),
        connections: AtomicU32::new(0),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
        http,
    });
    spawn_signal_handler(daemon.shutdown.clone());
    jobs::files::start_janitor(&daemon).await;
    queue::pool::start(queue, &daemon.tasks, &jobs, daemon.shutdown.clone()).await;
    if let Err(e) = chat::start(&daemon).await {
        tracing::error!(error = %e, "cannot start the conversations' announcer");
    }
    tracing::info!(socket = %dirs.socket().display(), "listening");

    server::accept_loop(daemon.clone(), listener).await;

    tracing::info!("shutting down");
    let _ = std::fs::remove_file(dirs.socket());
    daemon.tasks.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, daemon.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some requests did not finish in time");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn spawn_signal_handler(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
            _ = shutdown.cancelled() => return,
        }
        shutdown.cancel();
    });
}
