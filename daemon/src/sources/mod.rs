//! Turning files and URLs into sources: read (within the size limit), extract text, cut into
//! chunks. Everything here happens before the database is touched, so a bad input stores
//! nothing; the caller writes the result in one transaction.

pub mod chunk;
pub mod extract;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mentor_shared::config::SourcesConfig;
use mentor_shared::protocol::SourceKind;
use mentor_shared::ApiError;

use self::extract::{DocKind, ExtractError};
use crate::store::sources::NewSource;

/// Limits that apply to every source.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest original accepted, in bytes.
    pub max_bytes: u64,
    /// Characters per chunk.
    pub chunk_chars: usize,
    /// Time allowed to fetch a URL.
    pub fetch_timeout: Duration,
}

impl From<&SourcesConfig> for Limits {
    fn from(c: &SourcesConfig) -> Self {
        Limits {
            max_bytes: c.max_bytes,
            chunk_chars: c.chunk_chars as usize,
            fetch_timeout: Duration::from_secs(c.fetch_timeout_secs),
        }
    }
}

fn source_kind(kind: DocKind) -> SourceKind {
    match kind {
        DocKind::Text => SourceKind::Text,
        DocKind::Markdown => SourceKind::Markdown,
        DocKind::Pdf => SourceKind::Pdf,
        DocKind::Html => SourceKind::Html,
    }
}

fn extract_error(origin: &str, e: ExtractError) -> ApiError {
    let origin = origin.to_string();
    match e {
        ExtractError::Binary => ApiError::SourceBinary { origin },
        ExtractError::NotUtf8 { offset } => ApiError::SourceNotUtf8 {
            origin,
            offset: offset as u64,
        },
        ExtractError::Empty => ApiError::SourceEmpty { origin },
        ExtractError::Pdf { reason } => ApiError::SourcePdf { origin, reason },
    }
}

fn build(
    origin: String,
    fallback_title: String,
    kind: DocKind,
    bytes: &[u8],
    limits: &Limits,
) -> Result<NewSource, ApiError> {
    let extracted = extract::extract(kind, bytes).map_err(|e| extract_error(&origin, e))?;
    let chunks = chunk::chunk_text(&extracted.text, limits.chunk_chars)
        .into_iter()
        .map(|c| c.text)
        .collect::<Vec<_>>();
    if chunks.is_empty() {
        return Err(ApiError::SourceEmpty { origin });
    }
    let title = extracted
        .title
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(fallback_title);
    Ok(NewSource {
        title: title.chars().take(200).collect(),
        kind: source_kind(kind),
        origin,
        bytes: bytes.len() as u64,
        text: extracted.text,
        chunks,
    })
}

/// Reads and extracts one file. Blocking: run it on the blocking pool.
pub fn load_file(raw_path: &str, limits: &Limits) -> Result<NewSource, ApiError> {
    let shown = raw_path.to_string();
    let path = Path::new(raw_path);
    // The daemon's working directory is not the client's: only absolute paths mean the same
    // file to both.
    if !path.is_absolute() {
        return Err(ApiError::FileUnreadable {
            path: shown,
            reason: "not an absolute path".into(),
        });
    }
    // Canonical paths make the duplicate check and the stored origin unambiguous.
    let canonical: PathBuf = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::FileMissing { path: shown })
        }
        Err(e) => {
            return Err(ApiError::FileUnreadable {
                path: shown,
                reason: e.to_string(),
            })
        }
    };
    let origin = canonical.to_string_lossy().into_owned();
    let meta = std::fs::metadata(&canonical).map_err(|e| ApiError::FileUnreadable {
        path: origin.clone(),
        reason: e.to_string(),
    })?;
    if meta.is_dir() {
        return Err(ApiError::FileIsDirectory { path: origin });
    }
    if !meta.is_file() {
        return Err(ApiError::FileUnreadable {
            path: origin,
            reason: "not a regular file".into(),
        });
    }
    if meta.len() > limits.max_bytes {
        return Err(ApiError::SourceTooLarge {
            origin,
            size: meta.len(),
            limit: limits.max_bytes,
        });
    }
    let extension = canonical
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_string();
    let kind = match DocKind::from_extension(&extension) {
        Some(kind) => kind,
        // A file without an extension (README, NOTES) is read as plain text; binary or
        // non-UTF-8 content is still refused by the extractor.
        None if extension.is_empty() => DocKind::Text,
        None => {
            return Err(ApiError::SourceUnsupported {
                origin,
                detail: format!(".{extension}"),
            })
        }
    };
    let file = std::fs::File::open(&canonical).map_err(|e| ApiError::FileUnreadable {
        path: origin.clone(),
        reason: e.to_string(),
    })?;
    // Read at most one byte past the limit: the file may have grown since the stat.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limits.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ApiError::FileUnreadable {
            path: origin.clone(),
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(ApiError::SourceTooLarge {
            origin,
            size: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let file_name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| origin.clone());
    build(origin, file_name, kind, &bytes, limits)
}

/// Fetches a URL and extracts it.
pub async fn load_url(
    http: &reqwest::Client,
    raw_url: &str,
    limits: &Limits,
) -> Result<NewSource, ApiError> {
    let trimmed = raw_url.trim();
    let url = reqwest::Url::parse(trimmed)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ApiError::UrlInvalid {
            url: trimmed.to_string(),
        })?;
    let origin = url.to_string();
    let unreachable = |e: reqwest::Error| ApiError::UrlUnreachable {
        url: origin.clone(),
        reason: describe_http_error(&e),
    };
    let mut response = http
        .get(url.clone())
        .timeout(limits.fetch_timeout)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ApiError::UrlStatus {
            url: origin,
            status: status.as_u16(),
        });
    }
    if let Some(len) = response.content_length() {
        if len > limits.max_bytes {
            return Err(ApiError::SourceTooLarge {
                origin,
                size: len,
                limit: limits.max_bytes,
            });
        }
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let by_path = Path::new(url.path())
        .extension()
        .and_then(|e| e.to_str())
        .and_then(DocKind::from_extension);
    let kind = match content_type.as_deref() {
        Some(ct) => DocKind::from_content_type(ct).or(
            // Servers often send octet-stream for files; trust the extension then.
            if ct.starts_with("application/octet-stream") {
                by_path
            } else {
                None
            },
        ),
        None => by_path,
    }
    .ok_or_else(|| ApiError::SourceUnsupported {
        origin: origin.clone(),
        detail: content_type.clone().unwrap_or_else(|| "unknown".into()),
    })?;
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > limits.max_bytes {
            return Err(ApiError::SourceTooLarge {
                origin,
                size: bytes.len() as u64,
                limit: limits.max_bytes,
            });
        }
    }
    let limits = limits.clone();
    let fallback = origin.clone();
    tokio::task::spawn_blocking(move || build(origin, fallback, kind, &bytes, &limits))
        .await
        .map_err(|e| ApiError::Internal {
            message: e.to_string(),
        })?
}

/// A short, human reason for a failed HTTP request (reqwest's Display hides the cause).
pub fn describe_http_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
