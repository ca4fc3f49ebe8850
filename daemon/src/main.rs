//! `mentord`: runs in the foreground (for systemd or `mentor daemon start`) until SIGTERM,
//! SIGINT or `mentor daemon stop`.

use std::process::ExitCode;

use clap::Parser;
use mentor_daemon::{Options, StartError};
use mentor_shared::config::Config;
use mentor_shared::i18n::{self, Lang};
use mentor_shared::paths::Dirs;
use mentor_shared::{t, PROTOCOL_VERSION};

/// The Mentor daemon.
#[derive(Parser)]
#[command(name = "mentord", version, disable_help_subcommand = true)]
struct Args {}

fn main() -> ExitCode {
    let early = i18n::localizer(Lang::detect(None));
    let cmd = <Args as clap::CommandFactory>::command().about(t!(early, "mentord-about"));
    let _ = match cmd.try_get_matches() {
        Ok(m) => m,
        Err(e) => e.exit(),
    };
    let dirs = match Dirs::resolve() {
        Ok(d) => d,
        Err(e) => {
            say(&t!(early, "err-no-home", detail = e.to_string()));
            return ExitCode::FAILURE;
        }
    };
    let config = match Config::load(&dirs.config_file()) {
        Ok(c) => c,
        Err(e) => {
            say(&e.localize(early));
            return ExitCode::FAILURE;
        }
    };
    let lang = Lang::detect(config.language.as_deref());
    i18n::set_process_lang(lang);
    let l = i18n::ui();
    // Only for tests of the version handshake: speak another protocol version.
    let protocol = std::env::var("MENTORD_PROTOCOL_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PROTOCOL_VERSION);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(32)
        .thread_name("mentord")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let jobs = match jobs_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            say(&e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(mentor_daemon::run(Options {
        dirs,
        config,
        protocol,
        jobs: jobs.handle().clone(),
        test_handlers: std::env::var_os("MENTORD_TEST_HANDLERS")
            .is_some_and(|v| v == "1" || v == "stand-in"),
        stand_ins: std::env::var_os("MENTORD_TEST_HANDLERS").is_some_and(|v| v == "stand-in"),
        load_pause: std::env::var("MENTORD_TEST_LOAD_PAUSE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(std::time::Duration::ZERO, std::time::Duration::from_millis),
    }));
    // Handlers have been stopped and their jobs given back by now.
    jobs.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&describe(&e, l));
            if matches!(e, StartError::AlreadyRunning { .. }) {
                // Clients starting a daemon recognise this code (see `EXIT_ALREADY_RUNNING`).
                ExitCode::from(mentor_shared::paths::EXIT_ALREADY_RUNNING as u8)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Says why the daemon stops, on stderr. A stderr that cannot be written (a client started
/// the daemon with its output in a file, on a disk that is full) must not turn that into a
/// panic.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "mentord: {text}");
}

/// How much lower than the daemon's own the jobs' CPU priority is (a nice increment).
const JOBS_NICENESS: i32 = 10;

/// The runtime the job handlers run on: threads of their own, at a lower CPU priority (on
/// Linux, a nice value is per thread), so a burst of background work (a podcast's transcript,
/// its speech, which runs in child processes that inherit the priority) never makes the
/// teacher's reply or the status line wait for a core.
fn jobs_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let base = rustix::process::getpriority_process(None).unwrap_or(0);
    let nice = (base + JOBS_NICENESS).min(19);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(32)
        .thread_name("mentord-jobs")
        .on_thread_start(move || {
            // Best effort: a failure only leaves the thread at the daemon's priority.
            let _ = rustix::process::setpriority_process(None, nice);
        })
        .enable_all()
        .build()
}

fn describe(e: &StartError, l: &i18n::Localizer) -> String {
    match e {
        StartError::AlreadyRunning { pid } => t!(
            l,
            "err-daemon-already-running",
            pid = pid.map_or_else(|| "?".to_string(), |p| p.to_string())
        ),
        StartError::UnsafeDir { path, reason } => t!(
            l,
            "err-unsafe-dir",
            path = path.display().to_string(),
            reason = reason.as_str()
        ),
        StartError::Io { path, source } => t!(
            l,
            "err-daemon-io",
            path = path.display().to_string(),
            reason = source.to_string()
        ),
        StartError::SocketPathTooLong(path) => {
            t!(
                l,
                "err-socket-path-too-long",
                path = path.display().to_string()
            )
        }
        StartError::Database(db) => t!(l, "err-database-open", detail = db.to_string()),
    }
}
