//! The daemon's front door: a private directory (0700), a lock file that makes the daemon a
//! singleton, and a socket (0600) that replaces a stale one left by a crash. Peer credentials
//! are checked on every connection in `server.rs`.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mentor_shared::paths::Dirs;
use tokio::net::UnixListener;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another daemon holds the lock.
    #[error("another mentord is running (pid {pid:?})")]
    AlreadyRunning {
        /// Its pid, when readable.
        pid: Option<u32>,
    },
    /// A directory is owned by someone else, is a symlink, or is not a directory.
    #[error("unsafe directory {path}: {reason}")]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The socket path does not fit in `sun_path`.
    #[error("socket path too long: {0}")]
    SocketPathTooLong(PathBuf),
    /// The database could not be opened.
    #[error(transparent)]
    Database(#[from] crate::store::OpenError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The effective uid of this process.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Creates `path` (and parents) if needed and makes sure only we can enter it.
pub fn private_dir(path: &Path) -> Result<(), StartError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    match DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    let meta = std::fs::symlink_metadata(path).map_err(io_err(path))?;
    let unsafe_dir = |reason: &str| StartError::UnsafeDir {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir("is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("is not a directory"));
    }
    if meta.uid() != my_uid() {
        return Err(unsafe_dir(&format!("owned by uid {}", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err(path))?;
    }
    Ok(())
}

/// Held for the daemon's lifetime; a second daemon cannot take it.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the singleton lock and writes our pid into it.
pub fn acquire_lock(dirs: &Dirs) -> Result<InstanceLock, StartError> {
    let path = dirs.lock_file();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(StartError::AlreadyRunning {
                pid: text.trim().parse().ok(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
    }
    file.set_len(0).map_err(io_err(&path))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    Ok(InstanceLock { _file: file })
}

/// Binds the socket. We hold the lock, so an existing socket file is a crashed daemon's:
/// it is removed and replaced.
pub fn bind(dirs: &Dirs) -> Result<UnixListener, StartError> {
    let path = dirs
        .checked_socket()
        .map_err(|_| StartError::SocketPathTooLong(dirs.socket()))?;
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {
            tracing::warn!(socket = %path.display(), "replacing stale socket");
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    let listener = UnixListener::bind(&path).map_err(io_err(&path))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err(&path))?;
    Ok(listener)
}
