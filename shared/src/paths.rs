//! Where Mentor keeps things. One function resolves every directory, so the daemon, the
//! client and the tests agree; `MENTOR_HOME` relocates all of them at once (tests use it to
//! run in a temporary directory without touching the user's real data).

use std::path::{Path, PathBuf};

/// Maximum length of a Unix socket path on Linux (`sun_path` minus the terminating NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// `mentord`'s exit code when another daemon already holds the lock (so a client that
/// started it knows to connect to that one, or to try again once it has stopped).
pub const EXIT_ALREADY_RUNNING: i32 = 3;

/// Every directory and well-known file Mentor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// `config.toml` and prompt overrides.
    pub config: PathBuf,
    /// The database and artifact files.
    pub data: PathBuf,
    /// Logs.
    pub state: PathBuf,
    /// The socket and the daemon's lock file (private, 0700).
    pub runtime: PathBuf,
}

/// Why the directories could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// No home directory and no `MENTOR_HOME`.
    #[error("cannot find a home directory; set MENTOR_HOME")]
    NoHome,
    /// The socket path would not fit in `sun_path`.
    #[error("socket path too long: {0}")]
    SocketPathTooLong(PathBuf),
}

impl Dirs {
    /// Resolves the directories from the environment (nothing is created).
    pub fn resolve() -> Result<Dirs, PathError> {
        Self::resolve_with(|name| std::env::var_os(name))
    }

    /// Resolves with an explicit environment lookup (for tests).
    pub fn resolve_with(
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Dirs, PathError> {
        if let Some(home) = env("MENTOR_HOME").filter(|h| !h.is_empty()) {
            return Ok(Self::under(Path::new(&home)));
        }
        let pd = directories::ProjectDirs::from("", "", "mentor").ok_or(PathError::NoHome)?;
        let data = pd.data_dir().to_path_buf();
        let state = pd
            .state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| pd.data_local_dir().join("state"));
        // $XDG_RUNTIME_DIR is per-user and private; without it we fall back to a private
        // directory under the data dir rather than a shared place like /tmp.
        let runtime = pd
            .runtime_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| data.join("run"));
        Ok(Dirs {
            config: pd.config_dir().to_path_buf(),
            data,
            state,
            runtime,
        })
    }

    /// All directories under one root (what `MENTOR_HOME` does).
    pub fn under(home: &Path) -> Dirs {
        Dirs {
            config: home.join("config"),
            data: home.join("data"),
            state: home.join("state"),
            runtime: home.join("run"),
        }
    }

    /// The configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.toml")
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.data.join("mentor.db")
    }

    /// Where `./install.sh` puts the local model (`llm.local.model` empty).
    pub fn default_local_model(&self) -> PathBuf {
        self.data.join("models").join("local.gguf")
    }

    /// The daemon's socket.
    pub fn socket(&self) -> PathBuf {
        self.runtime.join("mentord.sock")
    }

    /// The socket path, checked against the kernel's length limit.
    pub fn checked_socket(&self) -> Result<PathBuf, PathError> {
        let socket = self.socket();
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(PathError::SocketPathTooLong(socket));
        }
        Ok(socket)
    }

    /// The lock file a running daemon holds (its pid is written inside).
    pub fn lock_file(&self) -> PathBuf {
        self.runtime.join("mentord.lock")
    }

    /// The pid of the daemon holding the lock file, or `None` when no daemon runs.
    pub fn running_daemon_pid(&self) -> Option<u32> {
        use std::io::Read;
        let mut file = std::fs::File::open(self.lock_file()).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(_) => {
                let mut text = String::new();
                file.read_to_string(&mut text).ok()?;
                text.trim().parse().ok()
            }
        }
    }

    /// The daemon's log file.
    pub fn log_file(&self) -> PathBuf {
        self.state.join("mentord.log")
    }

    /// Where a daemon started by the client writes what it prints before its log is open.
    pub fn startup_output(&self) -> PathBuf {
        self.state.join("mentord.startup.log")
    }

    /// The directory of generated artifact files.
    pub fn artifacts(&self) -> PathBuf {
        self.data.join("artifacts")
    }

    /// User overrides of the prompt templates.
    pub fn prompt_overrides(&self) -> PathBuf {
        self.config.join("prompts")
    }

    /// The notebook the terminal client last opened (its id, one line).
    pub fn last_notebook(&self) -> PathBuf {
        self.state.join("last-notebook")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn mentor_home_relocates_everything() {
        let dirs =
            Dirs::resolve_with(|k| (k == "MENTOR_HOME").then(|| OsString::from("/x/h"))).unwrap();
        for dir in [&dirs.config, &dirs.data, &dirs.state, &dirs.runtime] {
            assert!(dir.starts_with("/x/h"), "{dir:?}");
        }
        assert_eq!(dirs.socket(), PathBuf::from("/x/h/run/mentord.sock"));
    }

    #[test]
    fn overlong_socket_paths_are_refused() {
        let long = "/".to_string() + &"d".repeat(120);
        let dirs = Dirs::under(Path::new(&long));
        assert!(matches!(
            dirs.checked_socket(),
            Err(PathError::SocketPathTooLong(_))
        ));
    }
}
