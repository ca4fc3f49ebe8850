//! Versioned schema migrations. `PRAGMA user_version` records how many have run; each runs in
//! its own `BEGIN IMMEDIATE` transaction, so a crash mid-migration leaves the previous version.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::OpenError;

/// Every migration, in order. Never edit one that has shipped: append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: notebooks, objectives, sources with their full-text index.
    r#"
    CREATE TABLE notebooks (
        id            TEXT PRIMARY KEY,
        user_id       INTEGER NOT NULL,
        title         TEXT NOT NULL,
        module_prompt TEXT NOT NULL DEFAULT '',
        created_ms    INTEGER NOT NULL,
        updated_ms    INTEGER NOT NULL
    );
    CREATE INDEX notebooks_by_user ON notebooks(user_id, updated_ms);

    CREATE TABLE objectives (
        id          TEXT PRIMARY KEY,
        notebook_id TEXT NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        text        TEXT NOT NULL,
        met_ms      INTEGER,
        evidence    TEXT,
        created_ms  INTEGER NOT NULL
    );
    CREATE INDEX objectives_by_notebook ON objectives(notebook_id, position);

    CREATE TABLE sources (
        id          TEXT PRIMARY KEY,
        notebook_id TEXT NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
        title       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        origin      TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        text        TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        UNIQUE (notebook_id, origin)
    );

    CREATE TABLE source_chunks (
        id          INTEGER PRIMARY KEY,
        source_id   TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        notebook_id TEXT NOT NULL,
        position    INTEGER NOT NULL,
        text        TEXT NOT NULL
    );
    CREATE INDEX source_chunks_by_source ON source_chunks(source_id, position);
    CREATE INDEX source_chunks_by_notebook ON source_chunks(notebook_id);

    CREATE VIRTUAL TABLE source_chunks_fts USING fts5(
        text,
        content = 'source_chunks',
        content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER source_chunks_ai AFTER INSERT ON source_chunks BEGIN
        INSERT INTO source_chunks_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER source_chunks_ad AFTER DELETE ON source_chunks BEGIN
        INSERT INTO source_chunks_fts(source_chunks_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
    END;
    "#,
    // 2: the job queue, its checkpoints, and the artifacts jobs fill.
    r#"
    CREATE TABLE jobs (
        id               TEXT PRIMARY KEY,
        user_id          INTEGER NOT NULL,
        notebook_id      TEXT REFERENCES notebooks(id) ON DELETE CASCADE,
        artifact_id      TEXT,
        kind             TEXT NOT NULL,
        topic            TEXT NOT NULL DEFAULT '',
        params           TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN
                             ('pending', 'processing', 'completed', 'error', 'cancelled')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL,
        fence            INTEGER NOT NULL DEFAULT 0,
        run_at_ms        INTEGER NOT NULL,
        lease_until_ms   INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        checkpointed     INTEGER NOT NULL DEFAULT 0,
        progress_current INTEGER,
        progress_total   INTEGER,
        progress_stage   TEXT,
        result           TEXT,
        error_message    TEXT,
        failure          TEXT,
        created_ms       INTEGER NOT NULL,
        updated_ms       INTEGER NOT NULL,
        finished_ms      INTEGER
    );
    CREATE INDEX jobs_ready ON jobs(run_at_ms) WHERE status = 'pending';
    CREATE INDEX jobs_leased ON jobs(lease_until_ms) WHERE status = 'processing';
    CREATE INDEX jobs_by_user ON jobs(user_id, created_ms);
    CREATE INDEX jobs_by_notebook ON jobs(notebook_id, created_ms);

    CREATE TABLE job_checkpoints (
        job_id     TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        data       TEXT NOT NULL,
        attempt    INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (job_id, name)
    ) WITHOUT ROWID;

    CREATE TABLE artifacts (
        id          TEXT PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        notebook_id TEXT NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
        job_id      TEXT NOT NULL UNIQUE REFERENCES jobs(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        title       TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('generating', 'ready', 'failed', 'cancelled')),
        data        TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    CREATE INDEX artifacts_by_notebook ON artifacts(notebook_id, created_ms);
    "#,
    // 3: conversations, the learner profile, and which jobs the conversation must hear about.
    r#"
    CREATE TABLE messages (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        user_id      INTEGER NOT NULL,
        notebook_id  TEXT NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
        role         TEXT NOT NULL CHECK (role IN
                         ('user', 'assistant', 'tool', 'notice', 'system_note')),
        text         TEXT NOT NULL DEFAULT '',
        tool_calls   TEXT,
        tool_call_id TEXT,
        tool_name    TEXT,
        tool_error   INTEGER NOT NULL DEFAULT 0,
        notice       TEXT,
        state        TEXT NOT NULL CHECK (state IN
                         ('complete', 'streaming', 'stopped', 'failed')),
        error        TEXT,
        created_ms   INTEGER NOT NULL
    );
    CREATE INDEX messages_by_notebook ON messages(notebook_id, seq);

    CREATE TABLE profiles (
        user_id    INTEGER PRIMARY KEY,
        name       TEXT,
        level      TEXT,
        language   TEXT,
        updated_ms INTEGER NOT NULL
    );

    -- 0: nobody to tell; 1: the conversation must hear how the job ends; 2: it has.
    ALTER TABLE jobs ADD COLUMN chat_notify INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_to_notify ON jobs(notebook_id) WHERE chat_notify = 1;
    "#,
    // 4: the learner's attempts at quizzes, numbered per quiz.
    r#"
    CREATE TABLE quiz_attempts (
        artifact_id TEXT NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
        number      INTEGER NOT NULL,
        answers     TEXT NOT NULL,
        score       INTEGER NOT NULL,
        total       INTEGER NOT NULL,
        created_ms  INTEGER NOT NULL,
        PRIMARY KEY (artifact_id, number)
    );
    "#,
    // 5: the whole job's percentage, weighted over its steps (NULL: derived from current
    // and total, as before).
    r#"
    ALTER TABLE jobs ADD COLUMN progress_percent INTEGER;
    "#,
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`latest`]; refuses a database from a newer build.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), OpenError> {
    let err = |source| OpenError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if current > latest() {
        return Err(OpenError::TooNew {
            path: path.to_path_buf(),
            found: current,
            supported: latest(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(version, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_refuse_newer_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path).unwrap();
        migrate(&mut conn, &path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest());
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn, &path),
            Err(OpenError::TooNew { .. })
        ));
    }
}
