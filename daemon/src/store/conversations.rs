//! Conversations (one per notebook), the learner profile, and the jobs a conversation is
//! waiting to hear about.

use mentor_shared::chat::{ChatMessage, MessageState, Notice, Profile, Role, ToolCall};
use mentor_shared::ids::{JobId, MessageId, NotebookId, UserId};
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreResult;
use crate::queue::sql::{job_from_row, JobRow, JOB_COLUMNS};

/// Longest message a learner may send.
pub const MAX_MESSAGE_CHARS: usize = 32_000;

/// Checks a learner's message (surrounding whitespace is dropped, the rest kept as typed).
pub fn clean_message(raw: &str) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ApiError::EmptyField {
            field: "message".into(),
        });
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::FieldTooLong {
            field: "message".into(),
            max: MAX_MESSAGE_CHARS as u64,
        });
    }
    Ok(text.to_string())
}

const COLUMNS: &str = "id, notebook_id, role, text, tool_calls, tool_call_id, tool_name, \
     tool_error, notice, state, error, created_ms, seq";

fn internal(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.to_string().into())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<(i64, ChatMessage)> {
    let json = |i: usize| -> rusqlite::Result<Option<String>> { r.get(i) };
    let message = ChatMessage {
        id: MessageId::parse(&r.get::<_, String>(0)?).map_err(internal)?,
        notebook_id: NotebookId::parse(&r.get::<_, String>(1)?).map_err(internal)?,
        role: Role::parse(&r.get::<_, String>(2)?).unwrap_or(Role::Assistant),
        text: r.get(3)?,
        tool_calls: json(4)?
            .and_then(|t| serde_json::from_str::<Vec<ToolCall>>(&t).ok())
            .unwrap_or_default(),
        tool_call_id: r.get(5)?,
        tool_name: r.get(6)?,
        tool_error: r.get::<_, i64>(7)? != 0,
        notice: json(8)?.and_then(|t| serde_json::from_str::<Notice>(&t).ok()),
        state: MessageState::parse(&r.get::<_, String>(9)?).unwrap_or(MessageState::Complete),
        error: json(10)?.and_then(|t| serde_json::from_str::<ApiError>(&t).ok()),
        created: Timestamp(r.get(11)?),
    };
    Ok((r.get(12)?, message))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// Appends a message to its notebook's conversation.
pub fn insert(conn: &Connection, user: UserId, m: &ChatMessage) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO messages (id, user_id, notebook_id, role, text, tool_calls, tool_call_id,
                               tool_name, tool_error, notice, state, error, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        m.id.ulid(),
        user.0,
        m.notebook_id.ulid(),
        m.role.as_str(),
        m.text,
        (!m.tool_calls.is_empty()).then(|| to_json(&m.tool_calls)),
        m.tool_call_id,
        m.tool_name,
        m.tool_error as i64,
        m.notice.as_ref().map(to_json),
        m.state.as_str(),
        m.error.as_ref().map(to_json),
        m.created.0,
    ])?;
    Ok(())
}

/// Records how a streamed reply ended: its text, tool calls, state and error.
pub fn finish(conn: &Connection, m: &ChatMessage) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE messages SET text = ?2, tool_calls = ?3, state = ?4, error = ?5 WHERE id = ?1",
    )?
    .execute(params![
        m.id.ulid(),
        m.text,
        (!m.tool_calls.is_empty()).then(|| to_json(&m.tool_calls)),
        m.state.as_str(),
        m.error.as_ref().map(to_json),
    ])?;
    Ok(())
}

/// Replies that were streaming when the daemon stopped are kept, marked stopped.
pub fn stop_interrupted(conn: &Connection) -> StoreResult<usize> {
    Ok(conn
        .prepare_cached("UPDATE messages SET state = 'stopped' WHERE state = 'streaming'")?
        .execute([])?)
}

/// The last `limit` messages the learner sees (0: all), oldest first, and how many visible
/// messages come before them.
pub fn history(
    conn: &Connection,
    notebook: NotebookId,
    limit: u32,
) -> StoreResult<(Vec<ChatMessage>, u64)> {
    let limit = if limit == 0 { i64::MAX } else { limit as i64 };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE notebook_id = ?1 AND role != 'system_note'
         ORDER BY seq DESC LIMIT ?2"
    ))?;
    let mut messages: Vec<ChatMessage> = stmt
        .query_map(params![notebook.ulid(), limit], from_row)?
        .map(|r| r.map(|(_, m)| m))
        .collect::<Result<_, _>>()?;
    messages.reverse();
    let total: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM messages WHERE notebook_id = ?1 AND role != 'system_note'",
        )?
        .query_row(params![notebook.ulid()], |r| r.get(0))?;
    let earlier = (total as u64).saturating_sub(messages.len() as u64);
    Ok((messages, earlier))
}

/// The newest messages, newest first, whose estimated size fits `budget_tokens` — what the
/// model is sent, oldest message first after reversal by the caller. `cost` estimates one
/// message. The newest message is always included.
pub fn recent_within(
    conn: &Connection,
    notebook: NotebookId,
    budget_tokens: u32,
    cost: impl Fn(&ChatMessage) -> u32,
) -> StoreResult<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE notebook_id = ?1 ORDER BY seq DESC"
    ))?;
    let mut rows = stmt.query(params![notebook.ulid()])?;
    let mut out = Vec::new();
    let mut used: u64 = 0;
    while let Some(row) = rows.next()? {
        let (_, m) = from_row(row)?;
        let c = cost(&m) as u64;
        if !out.is_empty() && used + c > budget_tokens as u64 {
            break;
        }
        used += c;
        out.push(m);
    }
    Ok(out)
}

/// The learner's messages the next turn answers: those after the teacher's (or a tool's, or
/// a note's) last message, oldest first. The daemon's notices in between are passed over.
pub fn unanswered(conn: &Connection, notebook: NotebookId) -> StoreResult<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE notebook_id = ?1 ORDER BY seq DESC"
    ))?;
    let mut rows = stmt.query(params![notebook.ulid()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let (_, m) = from_row(row)?;
        match m.role {
            Role::User => out.push(m),
            Role::Notice => {}
            _ => break,
        }
    }
    out.reverse();
    Ok(out)
}

/// One message.
pub fn get(conn: &Connection, id: MessageId) -> StoreResult<Option<ChatMessage>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"))?
        .query_row(params![id.ulid()], from_row)
        .optional()?
        .map(|(_, m)| m))
}

/// The learner's profile (empty when never set).
pub fn profile(conn: &Connection, user: UserId) -> StoreResult<Profile> {
    Ok(conn
        .prepare_cached("SELECT name, level, language FROM profiles WHERE user_id = ?1")?
        .query_row(params![user.0], |r| {
            Ok(Profile {
                name: r.get(0)?,
                level: r.get(1)?,
                language: r.get(2)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Stores the learner's profile.
pub fn set_profile(
    conn: &Connection,
    user: UserId,
    p: &Profile,
    now: Timestamp,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO profiles (user_id, name, level, language, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id) DO UPDATE SET name = ?2, level = ?3, language = ?4,
                                             updated_ms = ?5",
    )?
    .execute(params![user.0, p.name, p.level, p.language, now.0])?;
    Ok(())
}

/// Jobs a conversation asked for that have ended and whose end it has not been told yet,
/// oldest first (all notebooks when `notebook` is `None`).
pub fn ended_unannounced(
    conn: &Connection,
    notebook: Option<NotebookId>,
) -> StoreResult<Vec<JobRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE chat_notify = 1 AND status IN ('completed', 'error', 'cancelled')
           AND (?1 IS NULL OR notebook_id = ?1)
         ORDER BY finished_ms, rowid"
    ))?;
    let rows = stmt.query_map(params![notebook.map(|n| n.ulid())], job_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The title of a job's artifact, if it makes one.
pub fn artifact_title(conn: &Connection, job: JobId) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT title FROM artifacts WHERE job_id = ?1")?
        .query_row(params![job.ulid()], |r| r.get(0))
        .optional()?)
}

/// Records that the conversation was told how a job ended (with the notice, in the same
/// transaction). False when it already had been.
pub fn mark_announced(conn: &Connection, job: JobId) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("UPDATE jobs SET chat_notify = 2 WHERE id = ?1 AND chat_notify = 1")?
        .execute(params![job.ulid()])?
        == 1)
}
