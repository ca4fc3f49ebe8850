//! Learning objectives of a notebook, kept in a numbered order the learner can refer to.

use mentor_shared::ids::{NotebookId, ObjectiveId};
use mentor_shared::protocol::Objective;
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::{params, Connection, OptionalExtension};

use super::StoreResult;

/// Longest objective accepted.
pub const MAX_OBJECTIVE_CHARS: usize = 1000;

/// Trims an objective's text and checks it.
pub fn clean_text(raw: &str) -> Result<String, ApiError> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(ApiError::EmptyField {
            field: "objective".into(),
        });
    }
    if text.chars().count() > MAX_OBJECTIVE_CHARS {
        return Err(ApiError::FieldTooLong {
            field: "objective".into(),
            max: MAX_OBJECTIVE_CHARS as u64,
        });
    }
    Ok(text)
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Objective)> {
    Ok((
        r.get(0)?,
        Objective {
            id: ObjectiveId::default(),
            position: r.get::<_, i64>(1)? as u32,
            text: r.get(2)?,
            met_at: r.get::<_, Option<i64>>(3)?.map(Timestamp),
            met: r.get::<_, Option<i64>>(3)?.is_some(),
            evidence: r.get(4)?,
            created: Timestamp(r.get(5)?),
        },
    ))
}

fn with_id((id, mut o): (String, Objective)) -> StoreResult<Objective> {
    o.id = ObjectiveId::parse(&id).map_err(|e| ApiError::Internal {
        message: e.to_string(),
    })?;
    Ok(o)
}

/// A notebook's objectives in order.
pub fn list(conn: &Connection, notebook: NotebookId) -> StoreResult<Vec<Objective>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, position, text, met_ms, evidence, created_ms FROM objectives
         WHERE notebook_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map(params![notebook.ulid()], from_row)?;
    rows.map(|r| with_id(r?)).collect()
}

/// Appends an objective.
pub fn add(conn: &Connection, notebook: NotebookId, text: &str) -> StoreResult<Objective> {
    let id = ObjectiveId::new();
    let now = Timestamp::now().millis();
    conn.execute(
        "INSERT INTO objectives (id, notebook_id, position, text, created_ms)
         VALUES (?1, ?2,
                 (SELECT COALESCE(MAX(position), 0) + 1 FROM objectives WHERE notebook_id = ?2),
                 ?3, ?4)",
        params![id.ulid(), notebook.ulid(), text, now],
    )?;
    find(conn, notebook, &id.to_string())
}

/// Finds an objective by id or by its 1-based position.
pub fn find(conn: &Connection, notebook: NotebookId, reference: &str) -> StoreResult<Objective> {
    let reference = reference.trim();
    let row = if let Ok(position) = reference.trim_start_matches('#').parse::<u32>() {
        conn.query_row(
            "SELECT id, position, text, met_ms, evidence, created_ms FROM objectives
             WHERE notebook_id = ?1 AND position = ?2",
            params![notebook.ulid(), position],
            from_row,
        )
        .optional()?
    } else if let Ok(id) = ObjectiveId::parse(reference) {
        conn.query_row(
            "SELECT id, position, text, met_ms, evidence, created_ms FROM objectives
             WHERE notebook_id = ?1 AND id = ?2",
            params![notebook.ulid(), id.ulid()],
            from_row,
        )
        .optional()?
    } else {
        None
    };
    match row {
        Some(r) => with_id(r),
        None => Err(ApiError::ObjectiveNotFound {
            reference: reference.to_string(),
        }
        .into()),
    }
}

/// Removes an objective and closes the gap in the numbering.
pub fn remove(conn: &Connection, notebook: NotebookId, reference: &str) -> StoreResult<Objective> {
    let objective = find(conn, notebook, reference)?;
    conn.execute(
        "DELETE FROM objectives WHERE id = ?1",
        params![objective.id.ulid()],
    )?;
    conn.execute(
        "UPDATE objectives SET position = position - 1 WHERE notebook_id = ?1 AND position > ?2",
        params![notebook.ulid(), objective.position],
    )?;
    Ok(objective)
}

/// Marks an objective (of this notebook only) as met, with the evidence.
pub fn mark_met(
    conn: &Connection,
    notebook: NotebookId,
    reference: &str,
    evidence: &str,
    now: Timestamp,
) -> StoreResult<Objective> {
    let objective = find(conn, notebook, reference)?;
    conn.execute(
        "UPDATE objectives SET met_ms = ?2, evidence = ?3 WHERE id = ?1",
        params![objective.id.ulid(), now.0, evidence],
    )?;
    find(conn, notebook, &objective.id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{notebooks, Store};
    use mentor_shared::ids::UserId;

    #[tokio::test]
    async fn add_find_remove_renumbers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let nb = store
            .write(|tx| notebooks::create(tx, UserId(1), "Bio", ""))
            .await
            .unwrap();
        for text in ["one", "two", "three"] {
            store.write(move |tx| add(tx, nb, text)).await.unwrap();
        }
        let removed = store.write(move |tx| remove(tx, nb, "2")).await.unwrap();
        assert_eq!(removed.text, "two");
        let left = store.read(move |c| list(c, nb)).await.unwrap();
        let view: Vec<_> = left.iter().map(|o| (o.position, o.text.as_str())).collect();
        assert_eq!(view, [(1, "one"), (2, "three")]);
        let by_id = left[1].id.to_string();
        let found = store.read(move |c| find(c, nb, &by_id)).await.unwrap();
        assert_eq!(found.text, "three");
        for bad in ["7", "0", "nonsense", ""] {
            let bad = bad.to_string();
            let r = store.read(move |c| find(c, nb, &bad)).await;
            assert!(matches!(r, Err(ApiError::ObjectiveNotFound { .. })));
        }
        assert!(matches!(clean_text("  "), Err(ApiError::EmptyField { .. })));
    }
}
