//! Notebooks: one per subject. Every query is scoped by the learner (`user_id`), and a notebook
//! named by the user is resolved here, once, by id or case-insensitive title.

use mentor_shared::error::NotebookMatch;
use mentor_shared::ids::{NotebookId, UserId};
use mentor_shared::protocol::{Notebook, NotebookDeleted, NotebookSummary};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::{params, Connection, OptionalExtension};

use super::{objectives, sources, StoreResult};

/// Longest title accepted.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest module prompt accepted.
pub const MAX_PROMPT_CHARS: usize = 20_000;

/// Trims a title and checks it is neither empty nor too long; newlines become spaces.
pub fn clean_title(raw: &str) -> Result<String, ApiError> {
    let title: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if title.is_empty() {
        return Err(ApiError::EmptyField {
            field: "title".into(),
        });
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::FieldTooLong {
            field: "title".into(),
            max: MAX_TITLE_CHARS as u64,
        });
    }
    Ok(title)
}

/// Checks a module prompt's length and trims it.
pub fn clean_prompt(raw: &str) -> Result<String, ApiError> {
    let prompt = raw.trim().to_string();
    if prompt.chars().count() > MAX_PROMPT_CHARS {
        return Err(ApiError::FieldTooLong {
            field: "module_prompt".into(),
            max: MAX_PROMPT_CHARS as u64,
        });
    }
    Ok(prompt)
}

/// Finds the notebook a user means: by id (with or without `nb:`), else by title, ignoring
/// case. Several notebooks with that title is an error listing them.
pub fn resolve(conn: &Connection, user: UserId, reference: &str) -> StoreResult<NotebookId> {
    let not_found = || ApiError::NotebookNotFound {
        reference: reference.trim().to_string(),
    };
    if let Ok(id) = NotebookId::parse(reference) {
        let found: Option<String> = conn
            .query_row(
                "SELECT id FROM notebooks WHERE id = ?1 AND user_id = ?2",
                params![id.ulid(), user.0],
                |r| r.get(0),
            )
            .optional()?;
        return found.map(|_| id).ok_or_else(|| not_found().into());
    }
    let wanted = reference
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if wanted.is_empty() {
        return Err(not_found().into());
    }
    let mut stmt = conn
        .prepare_cached("SELECT id, title FROM notebooks WHERE user_id = ?1 ORDER BY created_ms")?;
    let rows = stmt.query_map(params![user.0], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut matches = Vec::new();
    for row in rows {
        let (id, title) = row?;
        if title.to_lowercase() == wanted {
            matches.push((id, title));
        }
    }
    match matches.len() {
        0 => Err(not_found().into()),
        1 => Ok(parse_id(&matches[0].0)?),
        _ => Err(ApiError::NotebookAmbiguous {
            reference: reference.trim().to_string(),
            matches: matches
                .into_iter()
                .map(|(id, title)| NotebookMatch {
                    id: format!("{}:{id}", NotebookId::PREFIX),
                    title,
                })
                .collect(),
        }
        .into()),
    }
}

/// Parses an id read from the database.
pub fn parse_id(text: &str) -> StoreResult<NotebookId> {
    NotebookId::parse(text).map_err(|e| {
        ApiError::Internal {
            message: e.to_string(),
        }
        .into()
    })
}

/// Creates a notebook.
pub fn create(
    conn: &Connection,
    user: UserId,
    title: &str,
    module_prompt: &str,
) -> StoreResult<NotebookId> {
    let id = NotebookId::new();
    let now = Timestamp::now().millis();
    conn.execute(
        "INSERT INTO notebooks (id, user_id, title, module_prompt, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![id.ulid(), user.0, title, module_prompt, now],
    )?;
    Ok(id)
}

/// Lists a user's notebooks, most recently changed first.
pub fn list(conn: &Connection, user: UserId) -> StoreResult<Vec<NotebookSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT n.id, n.title, n.created_ms, n.updated_ms,
                (SELECT COUNT(*) FROM sources s WHERE s.notebook_id = n.id),
                (SELECT COUNT(*) FROM objectives o WHERE o.notebook_id = n.id AND o.met_ms IS NOT NULL),
                (SELECT COUNT(*) FROM objectives o WHERE o.notebook_id = n.id)
         FROM notebooks n WHERE n.user_id = ?1
         ORDER BY n.updated_ms DESC, n.id DESC",
    )?;
    let rows = stmt.query_map(params![user.0], |r| {
        Ok((
            r.get::<_, String>(0)?,
            NotebookSummary {
                id: NotebookId::default(),
                title: r.get(1)?,
                created: Timestamp(r.get(2)?),
                updated: Timestamp(r.get(3)?),
                sources: r.get::<_, i64>(4)? as u64,
                objectives_met: r.get::<_, i64>(5)? as u32,
                objectives_total: r.get::<_, i64>(6)? as u32,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, mut summary) = row?;
        summary.id = parse_id(&id)?;
        out.push(summary);
    }
    Ok(out)
}

/// One notebook with its objectives and sources.
pub fn get(conn: &Connection, user: UserId, id: NotebookId) -> StoreResult<Notebook> {
    let row = conn
        .query_row(
            "SELECT title, module_prompt, created_ms, updated_ms FROM notebooks
             WHERE id = ?1 AND user_id = ?2",
            params![id.ulid(), user.0],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((title, module_prompt, created, updated)) = row else {
        return Err(ApiError::NotebookNotFound {
            reference: id.to_string(),
        }
        .into());
    };
    Ok(Notebook {
        id,
        title,
        module_prompt,
        created: Timestamp(created),
        updated: Timestamp(updated),
        objectives: objectives::list(conn, id)?,
        sources: sources::list(conn, id)?,
    })
}

/// Marks a notebook as changed now.
pub fn touch(conn: &Connection, id: NotebookId) -> StoreResult<()> {
    conn.execute(
        "UPDATE notebooks SET updated_ms = ?2 WHERE id = ?1",
        params![id.ulid(), Timestamp::now().millis()],
    )?;
    Ok(())
}

/// Renames a notebook.
pub fn rename(conn: &Connection, id: NotebookId, title: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE notebooks SET title = ?2, updated_ms = ?3 WHERE id = ?1",
        params![id.ulid(), title, Timestamp::now().millis()],
    )?;
    Ok(())
}

/// Replaces a notebook's module prompt.
pub fn set_prompt(conn: &Connection, id: NotebookId, prompt: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE notebooks SET module_prompt = ?2, updated_ms = ?3 WHERE id = ?1",
        params![id.ulid(), prompt, Timestamp::now().millis()],
    )?;
    Ok(())
}

/// Deletes a notebook; its objectives, sources and chunks go with it (foreign-key cascade).
pub fn delete(conn: &Connection, user: UserId, id: NotebookId) -> StoreResult<NotebookDeleted> {
    let notebook = get(conn, user, id)?;
    conn.execute(
        "DELETE FROM notebooks WHERE id = ?1 AND user_id = ?2",
        params![id.ulid(), user.0],
    )?;
    Ok(NotebookDeleted {
        id,
        title: notebook.title,
        sources: notebook.sources.len() as u64,
    })
}

/// Counts for the daemon status.
pub fn counts(conn: &Connection, user: UserId) -> StoreResult<(u64, u64)> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM notebooks WHERE user_id = ?1),
                (SELECT COUNT(*) FROM sources s JOIN notebooks n ON n.id = s.notebook_id
                 WHERE n.user_id = ?1)",
        params![user.0],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn resolve_by_id_title_and_ambiguity() {
        let (_d, store) = store();
        let me = UserId(1);
        let other = UserId(2);
        let bio = store
            .write(move |tx| create(tx, me, "Biologie Végétale", ""))
            .await
            .unwrap();
        let found = store
            .read(move |c| resolve(c, me, "  biologie   VÉGÉTALE "))
            .await
            .unwrap();
        assert_eq!(found, bio);
        let by_id = store
            .read(move |c| resolve(c, me, &bio.ulid().to_lowercase()))
            .await
            .unwrap();
        assert_eq!(by_id, bio);
        // Another learner's notebook is invisible, by id and by title.
        let err = store
            .read(move |c| resolve(c, other, &bio.to_string()))
            .await;
        assert!(matches!(err, Err(ApiError::NotebookNotFound { .. })));
        store
            .write(move |tx| create(tx, me, "biologie végétale", ""))
            .await
            .unwrap();
        let err = store
            .read(move |c| resolve(c, me, "Biologie végétale"))
            .await
            .unwrap_err();
        let ApiError::NotebookAmbiguous { matches, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(matches.len(), 2);
    }

    #[test]
    fn titles_are_cleaned_and_checked() {
        assert_eq!(clean_title("  Cell\n biology \t").unwrap(), "Cell biology");
        assert!(matches!(
            clean_title(" \n "),
            Err(ApiError::EmptyField { .. })
        ));
        assert!(matches!(
            clean_title(&"x".repeat(201)),
            Err(ApiError::FieldTooLong { .. })
        ));
    }
}
