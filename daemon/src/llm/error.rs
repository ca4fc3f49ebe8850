//! Turning what went wrong on the wire into [`ApiError`]s a person can act on: the URL tried,
//! a short reason ("connection refused"), the phase that timed out, and for HTTP errors the
//! server's own message rather than our guess.

use std::time::Duration;

use mentor_shared::error::net_reason;
use mentor_shared::ApiError;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// How a cut stream's reason starts; [`is_transient`] and the client's message rely on it.
pub(crate) const ENDED_EARLY: &str = net_reason::ENDED_EARLY;

/// The longest server message we keep, in characters.
const MESSAGE_CHARS: usize = 500;

/// The most of an error body we read, in bytes.
const BODY_BYTES: usize = 64 * 1024;

/// How long we wait for an error body.
const BODY_WAIT: Duration = Duration::from_secs(5);

/// Whether trying the same request again later may succeed: the server was unreachable,
/// slow, overloaded or cut the stream. Refusals (400, 401, 403, 404), garbage in the stream
/// and invalid structured answers will fail the same way again.
pub fn is_transient(e: &ApiError) -> bool {
    match e {
        ApiError::LlmUnreachable { .. } | ApiError::LlmTimeout { .. } => true,
        ApiError::LlmStatus { status, .. } => matches!(status, 408 | 429 | 500..=599),
        ApiError::LlmProtocol { reason, .. } => reason.starts_with(ENDED_EARLY),
        _ => false,
    }
}

/// A timeout error; `secs` is the limit rounded up to whole seconds.
pub(crate) fn timeout(url: &str, phase: &str, limit: Duration) -> ApiError {
    ApiError::LlmTimeout {
        url: url.to_string(),
        phase: phase.to_string(),
        secs: limit.as_secs() + u64::from(limit.subsec_nanos() > 0),
    }
}

/// A protocol error.
pub(crate) fn protocol(url: &str, reason: impl Into<String>) -> ApiError {
    ApiError::LlmProtocol {
        url: url.to_string(),
        reason: reason.into(),
    }
}

/// A failure before any answer arrived: connect errors, refused connections, resets.
pub(crate) fn transport(url: &str, e: &reqwest::Error, connect_limit: Duration) -> ApiError {
    if e.is_connect() && e.is_timeout() {
        return timeout(url, "connect", connect_limit);
    }
    ApiError::LlmUnreachable {
        url: url.to_string(),
        reason: short_reason(e),
    }
}

/// A failure while the answer was streaming in.
pub(crate) fn cut(url: &str, e: &reqwest::Error) -> ApiError {
    protocol(url, format!("{ENDED_EARLY} ({})", short_reason(e)))
}

/// A non-200 answer: the server's own message from its body.
pub(crate) async fn status(url: &str, status: StatusCode, response: Response) -> ApiError {
    let retry_after_secs = retry_after(response.headers());
    let body = read_body(response).await;
    ApiError::LlmStatus {
        url: url.to_string(),
        status: status.as_u16(),
        message: server_message(&body, status),
        retry_after_secs,
    }
}

/// The longest `Retry-After` we pass on, in seconds (a day).
const RETRY_AFTER_MAX: u64 = 86_400;

/// A `Retry-After` header in seconds (the HTTP-date form is not used by model servers).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: u64 = value.trim().parse().ok()?;
    Some(secs.min(RETRY_AFTER_MAX))
}

/// A 200 answer that is not an event stream. Some servers put their error in a JSON body
/// with status 200; otherwise the server does not speak the streaming protocol.
pub(crate) async fn content_type(url: &str, content_type: &str, response: Response) -> ApiError {
    let http = response.status();
    let body = read_body(response).await;
    if let Ok(json) = serde_json::from_str::<Value>(body.trim()) {
        if json.get("error").is_some_and(|e| !e.is_null()) {
            return in_stream(url, &json);
        }
    }
    let shown = if content_type.is_empty() {
        "no content type"
    } else {
        content_type
    };
    let mut reason = format!(
        "expected a streamed answer (text/event-stream), got {shown} with HTTP {}",
        http.as_u16()
    );
    let snippet = cap(body.trim(), 200);
    if !snippet.is_empty() {
        reason.push_str(": ");
        reason.push_str(&snippet);
    }
    protocol(url, reason)
}

/// An `{"error": …}` object inside the stream (llama.cpp, vLLM) or a JSON error body.
pub(crate) fn in_stream(url: &str, json: &Value) -> ApiError {
    let error = &json["error"];
    let code = match &error["code"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let status = code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..=599).contains(c))
        .unwrap_or(500);
    let message = json_message(json)
        .map(|m| cap(m.trim(), MESSAGE_CHARS))
        .unwrap_or_else(|| cap(&error.to_string(), MESSAGE_CHARS));
    ApiError::LlmStatus {
        url: url.to_string(),
        status,
        message,
        retry_after_secs: None,
    }
}

/// The server's message: from a JSON error body when there is one, else the body text
/// (trimmed, capped), else the status's standard reason.
pub(crate) fn server_message(body: &str, status: StatusCode) -> String {
    let body = body.trim();
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        if let Some(message) = json_message(&json) {
            return cap(message.trim(), MESSAGE_CHARS);
        }
    }
    if body.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        cap(body, MESSAGE_CHARS)
    }
}

/// `{"error":{"message":…}}`, `{"error":"…"}`, `{"message":…}` or FastAPI's `{"detail":…}`.
fn json_message(json: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    text(&json["error"]["message"])
        .or_else(|| text(&json["error"]))
        .or_else(|| text(&json["message"]))
        .or_else(|| text(&json["detail"]))
        .or_else(|| match &json["detail"] {
            Value::Null => None,
            detail => Some(detail.to_string()),
        })
}

/// Reads at most [`BODY_BYTES`] of a body, giving up after [`BODY_WAIT`].
async fn read_body(mut response: Response) -> String {
    let mut bytes = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            bytes.extend_from_slice(&chunk);
            if bytes.len() >= BODY_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(BODY_WAIT, read).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The first `max` characters, with an ellipsis when cut.
pub(crate) fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A short human reason from an error's chain: the system's words for common socket
/// failures, else the innermost message.
fn short_reason(e: &(dyn std::error::Error + 'static)) -> String {
    use std::io::ErrorKind;
    let mut innermost = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            let known = match io.kind() {
                ErrorKind::ConnectionRefused => Some(net_reason::CONNECTION_REFUSED),
                ErrorKind::ConnectionReset => Some(net_reason::CONNECTION_RESET),
                ErrorKind::ConnectionAborted => Some(net_reason::CONNECTION_ABORTED),
                ErrorKind::UnexpectedEof => Some(net_reason::CLOSED),
                ErrorKind::TimedOut => Some(net_reason::TIMED_OUT),
                ErrorKind::HostUnreachable => Some(net_reason::HOST_UNREACHABLE),
                ErrorKind::NetworkUnreachable => Some(net_reason::NETWORK_UNREACHABLE),
                ErrorKind::AddrNotAvailable => Some(net_reason::ADDR_NOT_AVAILABLE),
                _ => None,
            };
            if let Some(known) = known {
                return known.to_string();
            }
        }
        let text = err.to_string();
        if !text.is_empty() {
            innermost = text;
        }
        source = err.source();
    }
    innermost
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_messages_in_their_usual_places() {
        let s = StatusCode::BAD_REQUEST;
        assert_eq!(
            server_message(r#"{"error":{"message":"bad model"}}"#, s),
            "bad model"
        );
        assert_eq!(
            server_message(r#"{"error":"no such model"}"#, s),
            "no such model"
        );
        assert_eq!(server_message(r#"{"message":"nope"}"#, s), "nope");
        assert_eq!(server_message(r#"{"detail":"Not Found"}"#, s), "Not Found");
        assert_eq!(server_message("  plain text\n", s), "plain text");
        assert_eq!(server_message("", s), "Bad Request");
        let long = "x".repeat(2000);
        assert_eq!(server_message(&long, s).chars().count(), MESSAGE_CHARS + 1);
    }

    #[test]
    fn in_stream_errors_keep_their_code() {
        let e = in_stream(
            "u",
            &json!({"error": {"code": 400, "message": "context too long"}}),
        );
        assert!(
            matches!(e, ApiError::LlmStatus { status: 400, ref message, .. }
            if message == "context too long")
        );
        let e = in_stream("u", &json!({"error": {"message": "boom"}}));
        assert!(matches!(e, ApiError::LlmStatus { status: 500, .. }));
    }

    #[test]
    fn transient_or_not() {
        let status = |status| ApiError::LlmStatus {
            url: "u".into(),
            status,
            message: String::new(),
            retry_after_secs: None,
        };
        for s in [408, 429, 500, 502, 503] {
            assert!(is_transient(&status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(!is_transient(&status(s)), "{s}");
        }
        assert!(is_transient(&protocol("u", format!("{ENDED_EARLY} (x)"))));
        assert!(!is_transient(&protocol("u", "a data line is not JSON")));
        assert!(is_transient(&timeout(
            "u",
            "idle",
            Duration::from_millis(1)
        )));
        assert!(!is_transient(&ApiError::LlmOutput { reason: "x".into() }));
    }

    #[test]
    fn timeouts_round_up() {
        let ApiError::LlmTimeout { secs, .. } = timeout("u", "idle", Duration::from_millis(200))
        else {
            panic!("not a timeout");
        };
        assert_eq!(secs, 1);
    }
}
