//! Logging to a file in the state directory (owner-only, like everything the daemon writes).
//! `mentor daemon logs` reads it. `MENTOR_LOG` (an env-filter directive) overrides the level.

use mentor_shared::paths::Dirs;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts logging; keep the guard alive until exit so buffered lines are flushed.
pub fn init(dirs: &Dirs, level: &str) -> std::io::Result<WorkerGuard> {
    std::fs::create_dir_all(&dirs.state)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dirs.log_file())?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = std::env::var("MENTOR_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| {
            EnvFilter::new(format!(
                "{level},tarpc=warn,hyper=warn,reqwest=warn,llama-cpp-2=warn,llama_cpp_2=warn"
            ))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
    Ok(guard)
}
