//! The SQLite store. One writer connection (every write is a `BEGIN IMMEDIATE` transaction, so
//! writers queue on the lock instead of failing mid-transaction) and a small pool of readers
//! (WAL lets them read while a write is in progress). All access runs on tokio's blocking
//! pool: no SQLite call ever blocks an async worker thread.

pub mod migrations;
pub mod notebooks;
pub mod objectives;
pub mod sources;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mentor_shared::ApiError;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// Readers kept open for reuse.
const MAX_IDLE_READERS: usize = 4;
/// How long a connection waits for another's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A store failure: a database error, or a refusal already phrased for the client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The request itself is refused (not found, invalid, …).
    #[error("{0}")]
    Api(#[from] ApiError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Api(api) => api,
            StoreError::Db(db) => {
                tracing::error!(error = %db, "database error");
                ApiError::Storage {
                    message: db.to_string(),
                }
            }
        }
    }
}

/// Result of a store function.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite could not open or set up the file.
    #[error("cannot open database {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The file was written by a newer Mentor.
    #[error("database {path} has schema version {found}, newer than this mentord ({supported})")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// What this build knows.
        supported: i64,
    },
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a closure poisons the mutex; the connection itself is still sound
    // (SQLite rolled back the transaction), so keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// Opens (creating if needed) and migrates the database. Blocking: call it off the
    /// async workers.
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        let err = |source| OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        configure(&writer).map_err(err)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "WAL journal mode unavailable");
        }
        migrations::migrate(&mut writer, path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`); commits when it returns `Ok`.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let mut conn = lock(&inner.writer);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` on a reader connection (a consistent snapshot when it uses one transaction).
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let conn = match lock(&inner.readers).pop() {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    configure(&c)?;
                    c
                }
            };
            let value = f(&conn);
            let mut idle = lock(&inner.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            value
        })
        .await
    }

    /// Checkpoints the WAL and closes the readers; called once at shutdown.
    pub async fn close(&self) {
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || {
            lock(&inner.readers).clear();
            let conn = lock(&inner.writer);
            if let Err(e) = conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
            {
                tracing::warn!(error = %e, "final checkpoint failed");
            }
        })
        .await;
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(join) => {
            tracing::error!(error = %join, "database task panicked");
            Err(ApiError::Internal {
                message: "database task failed".into(),
            })
        }
    }
}
