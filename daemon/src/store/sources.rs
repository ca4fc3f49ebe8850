//! Sources and their full-text index. A source and all its chunks are written in one
//! transaction, so a source is either fully searchable or absent.

use mentor_shared::ids::{NotebookId, SourceId, UserId};
use mentor_shared::protocol::{SearchHit, Source, SourceDetail, SourceKind, MAX_SHOWN_TEXT};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::{params, Connection, OptionalExtension};

use super::StoreResult;

/// A source ready to be stored.
#[derive(Debug, Clone)]
pub struct NewSource {
    /// Title.
    pub title: String,
    /// Format.
    pub kind: SourceKind,
    /// Canonical path or URL.
    pub origin: String,
    /// Size of the original.
    pub bytes: u64,
    /// Extracted text.
    pub text: String,
    /// The text cut into indexable pieces.
    pub chunks: Vec<String>,
}

const COLUMNS: &str = "s.id, s.notebook_id, s.title, s.kind, s.origin, s.bytes, length(s.text),
     (SELECT COUNT(*) FROM source_chunks c WHERE c.source_id = s.id), s.created_ms";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, Source)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(3)?,
        Source {
            id: SourceId::default(),
            notebook_id: NotebookId::default(),
            title: r.get(2)?,
            kind: SourceKind::Text,
            origin: r.get(4)?,
            bytes: r.get::<_, i64>(5)? as u64,
            chars: r.get::<_, i64>(6)? as u64,
            chunks: r.get::<_, i64>(7)? as u32,
            created: Timestamp(r.get(8)?),
        },
    ))
}

fn finish((id, notebook, kind, mut s): (String, String, String, Source)) -> StoreResult<Source> {
    let bad = |m: String| ApiError::Internal { message: m };
    s.id = SourceId::parse(&id).map_err(|e| bad(e.to_string()))?;
    s.notebook_id = NotebookId::parse(&notebook).map_err(|e| bad(e.to_string()))?;
    s.kind = SourceKind::parse(&kind).ok_or_else(|| bad(format!("unknown source kind {kind}")))?;
    Ok(s)
}

/// The source with this origin in the notebook, if any.
pub fn find_by_origin(
    conn: &Connection,
    notebook: NotebookId,
    origin: &str,
) -> StoreResult<Option<SourceId>> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM sources WHERE notebook_id = ?1 AND origin = ?2",
            params![notebook.ulid(), origin],
            |r| r.get(0),
        )
        .optional()?;
    Ok(id.and_then(|i| SourceId::parse(&i).ok()))
}

/// Stores a source and indexes its chunks.
pub fn insert(conn: &Connection, notebook: NotebookId, new: &NewSource) -> StoreResult<SourceId> {
    if let Some(existing) = find_by_origin(conn, notebook, &new.origin)? {
        return Err(ApiError::SourceDuplicate {
            origin: new.origin.clone(),
            existing: existing.to_string(),
        }
        .into());
    }
    let id = SourceId::new();
    conn.execute(
        "INSERT INTO sources (id, notebook_id, title, kind, origin, bytes, text, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.ulid(),
            notebook.ulid(),
            new.title,
            new.kind.as_str(),
            new.origin,
            new.bytes as i64,
            new.text,
            Timestamp::now().millis()
        ],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO source_chunks (source_id, notebook_id, position, text) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (position, chunk) in new.chunks.iter().enumerate() {
        stmt.execute(params![id.ulid(), notebook.ulid(), position as i64, chunk])?;
    }
    Ok(id)
}

/// A notebook's sources, oldest first.
pub fn list(conn: &Connection, notebook: NotebookId) -> StoreResult<Vec<Source>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sources s WHERE s.notebook_id = ?1 ORDER BY s.created_ms, s.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![notebook.ulid()], from_row)?;
    rows.map(|r| finish(r?)).collect()
}

/// A source by id, only if it belongs to one of the user's notebooks.
pub fn get(conn: &Connection, user: UserId, reference: &str) -> StoreResult<SourceDetail> {
    let not_found = || ApiError::SourceNotFound {
        reference: reference.trim().to_string(),
    };
    let id = SourceId::parse(reference).map_err(|_| not_found())?;
    let sql = format!(
        "SELECT {COLUMNS}, s.text FROM sources s JOIN notebooks n ON n.id = s.notebook_id
         WHERE s.id = ?1 AND n.user_id = ?2"
    );
    let row = conn
        .query_row(&sql, params![id.ulid(), user.0], |r| {
            Ok((from_row(r)?, r.get::<_, String>(9)?))
        })
        .optional()?;
    let (row, mut text) = row.ok_or_else(not_found)?;
    let truncated = text.len() > MAX_SHOWN_TEXT;
    if truncated {
        let mut cut = MAX_SHOWN_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Ok(SourceDetail {
        source: finish(row)?,
        text,
        truncated,
    })
}

/// Removes a source (its chunks leave the index with it).
pub fn remove(conn: &Connection, user: UserId, reference: &str) -> StoreResult<Source> {
    let detail = get(conn, user, reference)?;
    conn.execute(
        "DELETE FROM sources WHERE id = ?1",
        params![detail.source.id.ulid()],
    )?;
    Ok(detail.source)
}

/// Turns free text into an FTS5 query: each word quoted (so punctuation and FTS operators in
/// the learner's text cannot break the syntax), any word may match, best matches first.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

/// Full-text search inside one notebook: short snippets with the matches marked.
pub fn search(
    conn: &Connection,
    notebook: NotebookId,
    query: &str,
    limit: u32,
) -> StoreResult<Vec<SearchHit>> {
    ranked(
        conn,
        notebook,
        query,
        limit,
        "snippet(source_chunks_fts, 0, '**', '**', '…', 24)",
    )
}

/// The chunks of one notebook that best match `query`, whole (for the teacher's prompt):
/// like [`search`], with the full chunk text in `snippet`.
pub fn passages(
    conn: &Connection,
    notebook: NotebookId,
    query: &str,
    limit: u32,
) -> StoreResult<Vec<SearchHit>> {
    ranked(conn, notebook, query, limit, "c.text")
}

/// A notebook's chunks spread over its sources, whole: every source's first chunk, then
/// every second chunk, and so on (for a generator asked about the whole notebook, or whose
/// topic matches nothing). Scores fall in that order.
pub fn spread(conn: &Connection, notebook: NotebookId, limit: u32) -> StoreResult<Vec<SearchHit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.source_id, s.title, c.position, c.text
         FROM source_chunks c JOIN sources s ON s.id = c.source_id
         WHERE c.notebook_id = ?1
         ORDER BY c.position, s.created_ms, s.id
         LIMIT ?2",
    )?;
    let limit = limit.clamp(1, 1000);
    let rows = stmt.query_map(params![notebook.ulid(), limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut hits = Vec::new();
    for (i, row) in rows.enumerate() {
        let (id, title, position, text) = row?;
        hits.push(SearchHit {
            source_id: SourceId::parse(&id).map_err(|e| ApiError::Internal {
                message: e.to_string(),
            })?,
            source_title: title,
            chunk: position as u32,
            snippet: text,
            score: f64::from(limit) - i as f64,
        });
    }
    Ok(hits)
}

/// Best matches first; `text` is the SQL expression giving each hit's text.
fn ranked(
    conn: &Connection,
    notebook: NotebookId,
    query: &str,
    limit: u32,
    text: &'static str,
) -> StoreResult<Vec<SearchHit>> {
    let fts = fts_query(query).ok_or(ApiError::EmptyQuery)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.source_id, s.title, c.position, {text}, bm25(source_chunks_fts)
         FROM source_chunks_fts
         JOIN source_chunks c ON c.id = source_chunks_fts.rowid
         JOIN sources s ON s.id = c.source_id
         WHERE source_chunks_fts MATCH ?1 AND c.notebook_id = ?2
         ORDER BY bm25(source_chunks_fts)
         LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![fts, notebook.ulid(), limit.clamp(1, 100)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            SearchHit {
                source_id: SourceId::default(),
                source_title: r.get(1)?,
                chunk: r.get::<_, i64>(2)? as u32,
                snippet: r.get(3)?,
                score: -r.get::<_, f64>(4)?,
            },
        ))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (id, mut hit) = row?;
        hit.source_id = SourceId::parse(&id).map_err(|e| ApiError::Internal {
            message: e.to_string(),
        })?;
        hits.push(hit);
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{notebooks, Store};

    fn sample(origin: &str, text: &str) -> NewSource {
        NewSource {
            title: origin.into(),
            kind: SourceKind::Text,
            origin: origin.into(),
            bytes: text.len() as u64,
            text: text.into(),
            chunks: vec![text.into()],
        }
    }

    #[tokio::test]
    async fn search_is_scoped_to_the_notebook_and_survives_hostile_queries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let me = UserId(1);
        let a = store
            .write(move |tx| notebooks::create(tx, me, "A", ""))
            .await
            .unwrap();
        let b = store
            .write(move |tx| notebooks::create(tx, me, "B", ""))
            .await
            .unwrap();
        store
            .write(move |tx| insert(tx, a, &sample("/a.txt", "Chlorophyll absorbs light.")))
            .await
            .unwrap();
        store
            .write(move |tx| insert(tx, b, &sample("/b.txt", "Chlorophyll in notebook B.")))
            .await
            .unwrap();
        let hits = store
            .read(move |c| search(c, a, "chlorophyll", 10))
            .await
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert!(hits[0].snippet.contains("**Chlorophyll**"), "{hits:?}");
        for hostile in ["\"", "NEAR(", "a AND", "*", "chloro\"phyll OR ("] {
            let q = hostile.to_string();
            let r = store.read(move |c| search(c, a, &q, 10)).await;
            assert!(
                r.is_ok() || matches!(r, Err(ApiError::EmptyQuery)),
                "{hostile}: {r:?}"
            );
        }
        let empty = store.read(move |c| search(c, a, " ?! ", 10)).await;
        assert!(matches!(empty, Err(ApiError::EmptyQuery)));
        // Duplicates are refused and nothing changes.
        let dup = store
            .write(move |tx| insert(tx, a, &sample("/a.txt", "again")))
            .await;
        assert!(matches!(dup, Err(ApiError::SourceDuplicate { .. })));
        // Removing a source removes it from the index.
        let id = store.read(move |c| list(c, a)).await.unwrap()[0]
            .id
            .to_string();
        store.write(move |tx| remove(tx, me, &id)).await.unwrap();
        let hits = store
            .read(move |c| search(c, a, "chlorophyll", 10))
            .await
            .unwrap();
        assert!(hits.is_empty());
    }
}
