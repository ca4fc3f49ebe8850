//! Printing results: aligned tables for people, JSON for scripts. One place decides both.

use mentor_shared::time::{format_duration, Timestamp};
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::error::CliError;

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Io {
        path: "stdout".into(),
        reason: e.to_string(),
    })?;
    outln!("{text}");
    Ok(())
}

/// Prints one line of a JSON Lines stream: the record's fields with `"type": kind` first
/// (`{"type":"job","id":"job:…",…}`), so a reader can switch on `type` and still parse the
/// record itself from the same line.
pub fn json_line<T: Serialize>(kind: &'static str, record: &T) -> Result<(), CliError> {
    #[derive(Serialize)]
    struct Tagged<'a, T: Serialize> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        record: &'a T,
    }
    let text = serde_json::to_string(&Tagged { kind, record }).map_err(|e| CliError::Io {
        path: "stdout".into(),
        reason: e.to_string(),
    })?;
    outln!("{text}");
    Ok(())
}

/// Prints rows under headers, columns aligned by display width.
pub fn table(headers: &[String], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.width());
            }
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(cell.width()) + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        outln!("{}", out.trim_end());
    };
    line(headers);
    for row in rows {
        line(row);
    }
}

/// Prints `label  value` lines with the values aligned; a multi-line value stays under its
/// column.
pub fn fields(fields: &[(String, String)]) {
    let width = fields.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    for (key, value) in fields {
        let pad = " ".repeat(width - key.width());
        let mut lines = value.lines();
        outln!("{key}{pad}  {}", lines.next().unwrap_or(""));
        for more in lines {
            outln!("{}  {more}", " ".repeat(width));
        }
    }
}

/// "3m 05s" style age of a timestamp.
pub fn age(t: Timestamp) -> String {
    format_duration(t.age(Timestamp::now()))
}

/// Truncates text to `max` display columns with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.width() <= max {
        return one_line;
    }
    let mut out = String::new();
    for c in one_line.chars() {
        if out.width() + 1 >= max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
