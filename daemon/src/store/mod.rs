//! The SQLite store. One writer connection, owned by a dedicated thread, and a small pool of
//! readers (WAL lets them read while a write is in progress). No SQLite call ever runs on an
//! async worker thread: writes go to the writer thread, reads to tokio's blocking pool.
//!
//! The writer commits in groups: it takes every write request waiting (up to
//! [`MAX_GROUP`]), runs each in its own savepoint inside one `BEGIN IMMEDIATE` transaction,
//! commits once, and only then answers each request. A request that fails rolls back its own
//! savepoint and nothing else. Under load this turns many small commits into few, which is
//! what lets the job queue keep up; alone, a request is simply its own transaction.

pub mod conversations;
pub mod migrations;
pub mod notebooks;
pub mod objectives;
pub mod quiz;
pub mod sources;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mentor_shared::ApiError;
use rusqlite::Connection;
use rusqlite::OpenFlags;
use tokio::sync::oneshot;

/// Readers kept open for reuse.
const MAX_IDLE_READERS: usize = 4;
/// Most write requests committed together.
pub const MAX_GROUP: usize = 64;
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
                storage_error(&db)
            }
        }
    }
}

/// A database failure as the client gets it: SQLite's message, and what the learner can do
/// about a database locked by another program or a full disk.
pub fn storage_error(e: &rusqlite::Error) -> ApiError {
    use mentor_shared::error::StorageProblem;
    use rusqlite::ErrorCode;
    let problem = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Some(StorageProblem::Busy),
        Some(ErrorCode::DiskFull) => Some(StorageProblem::Full),
        _ => None,
    };
    ApiError::Storage {
        message: e.to_string(),
        problem,
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
    /// The writer thread could not start.
    #[error("cannot start the database writer for {path}: {reason}")]
    Thread {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
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
    writer: Mutex<mpsc::Sender<Msg>>,
    readers: Mutex<Vec<Connection>>,
}

/// A write request as the writer thread sees it.
trait WriteOp: Send {
    /// Runs inside the group's transaction; false when it failed (its savepoint is then
    /// rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the requester once the group's fate is known: committed, or not.
    fn deliver(self: Box<Self>, committed: Result<(), ApiError>);
}

struct Op<T, F, G> {
    f: Option<F>,
    after: Option<G>,
    result: Option<StoreResult<T>>,
    reply: Option<oneshot::Sender<Result<T, ApiError>>>,
}

impl<T, F, G> WriteOp for Op<T, F, G>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    G: FnOnce(&T) + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(f) = self.f.take() else { return false };
        let result = match std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))) {
            Ok(r) => r,
            Err(_) => {
                tracing::error!("database write panicked");
                Err(StoreError::Api(ApiError::Internal {
                    message: "database write failed".into(),
                }))
            }
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn deliver(mut self: Box<Self>, committed: Result<(), ApiError>) {
        let answer = match (self.result.take(), committed) {
            (Some(Ok(value)), Ok(())) => {
                if let Some(after) = self.after.take() {
                    after(&value);
                }
                Ok(value)
            }
            (Some(Err(e)), _) => Err(ApiError::from(e)),
            (Some(Ok(_)), Err(error)) | (None, Err(error)) => {
                tracing::error!(%error, "commit failed");
                Err(error)
            }
            (None, Ok(())) => Err(ApiError::Internal {
                message: "write request lost".into(),
            }),
        };
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(answer);
        }
    }
}

enum Msg {
    Write(Box<dyn WriteOp>),
    Close(oneshot::Sender<()>),
}

/// The writer thread: groups waiting requests into one transaction each.
fn writer_loop(conn: Connection, rx: mpsc::Receiver<Msg>) {
    let mut group: Vec<Box<dyn WriteOp>> = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = rx.recv() {
        let mut close = None;
        match first {
            Msg::Write(op) => group.push(op),
            Msg::Close(done) => close = Some(done),
        }
        while close.is_none() && group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(Msg::Write(op)) => group.push(op),
                Ok(Msg::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if !group.is_empty() {
            commit_group(&conn, &mut group);
        }
        if let Some(done) = close {
            if let Err(e) = conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
            {
                tracing::warn!(error = %e, "final checkpoint failed");
            }
            let _ = done.send(());
            return;
        }
    }
}

fn commit_group(conn: &Connection, group: &mut Vec<Box<dyn WriteOp>>) {
    let single = group.len() == 1;
    // Cached statements: transaction control is not parsed again for every group.
    let run = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
    };
    let outcome = (|| -> rusqlite::Result<()> {
        run("BEGIN IMMEDIATE")?;
        for op in group.iter_mut() {
            if single {
                if !op.run(conn) {
                    run("ROLLBACK")?;
                    return Ok(());
                }
                continue;
            }
            run("SAVEPOINT op")?;
            if op.run(conn) {
                run("RELEASE op")?;
            } else {
                run("ROLLBACK TO op")?;
                run("RELEASE op")?;
            }
        }
        run("COMMIT")
    })();
    let committed = match outcome {
        Ok(()) => Ok(()),
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(storage_error(&e))
        }
    };
    for op in group.drain(..) {
        op.deliver(committed.clone());
    }
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement the daemon runs, so none is parsed twice.
    conn.set_prepared_statement_cache_capacity(128);
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
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        configure(&conn).map_err(err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "WAL journal mode unavailable");
        }
        migrations::migrate(&mut conn, path)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("mentor-db-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| OpenError::Thread {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(tx),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`, possibly shared with other
    /// requests, each in its own savepoint); returns once it is committed. When `f` fails,
    /// its changes are rolled back.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_then(f, |_: &T| {}).await
    }

    /// Like [`Store::write`], then runs `after` on the committed value on the writer thread,
    /// before the next commit: whatever `after` publishes is therefore ordered exactly as the
    /// commits were (the job event bus relies on it).
    pub async fn write_then<T, F, G>(&self, f: F, after: G) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        G: FnOnce(&T) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op = Op {
            f: Some(f),
            after: Some(after),
            result: None,
            reply: Some(reply),
        };
        let sent = lock(&self.inner.writer).send(Msg::Write(Box::new(op)));
        if sent.is_err() {
            return Err(ApiError::ShuttingDown);
        }
        answer.await.unwrap_or(Err(ApiError::ShuttingDown))
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

    /// Finishes the writes already asked for, checkpoints the WAL and closes the readers;
    /// called once at shutdown. Later writes are refused.
    pub async fn close(&self) {
        lock(&self.inner.readers).clear();
        let (done, closed) = oneshot::channel();
        if lock(&self.inner.writer).send(Msg::Close(done)).is_ok() {
            let _ = closed.await;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_in_a_group_rolls_back_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("g.db")).expect("open");
        store
            .write(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .await
            .expect("create");
        // Many writers at once, so the writer groups them; every third one fails after
        // inserting its row.
        let mut tasks = Vec::new();
        for n in 0..300i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let r = store
                    .write(move |c| {
                        c.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                        if n % 3 == 0 {
                            return Err(StoreError::Api(ApiError::EmptyQuery));
                        }
                        Ok(n)
                    })
                    .await;
                (n, r)
            }));
        }
        for t in tasks {
            let (n, r) = t.await.expect("task");
            assert_eq!(r.is_ok(), n % 3 != 0, "{n}: {r:?}");
        }
        let rows: Vec<i64> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT n FROM t ORDER BY n")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .expect("read");
        let expected: Vec<i64> = (0..300).filter(|n| n % 3 != 0).collect();
        assert_eq!(rows, expected);
        store.close().await;
        // After close, writes are refused rather than lost silently.
        let late = store.write(|_| Ok(())).await;
        assert!(matches!(late, Err(ApiError::ShuttingDown)), "{late:?}");
    }
}
