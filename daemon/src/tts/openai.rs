//! The openai engine: any OpenAI-compatible speech server (`POST {base_url}/audio/speech`,
//! e.g. a self-hosted Kokoro), asked for WAV.
//!
//! Each clip is one request, sent once (retrying is the job's decision: see
//! [`TtsError::is_transient`]) and bounded as a whole by `tts.timeout_secs`. The answer is
//! read into memory (bounded), parsed, and written as a plain mono 16-bit WAV: servers often
//! stream their WAV with a header whose sizes say "unknown", which some players refuse, and
//! the file then holds exactly the clip returned. The API key is sent as a bearer token and
//! never logged.

use std::path::Path;

use mentor_shared::config::TtsConfig;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::wav::Clip;
use super::{head, io_error, Limit, TtsError};

/// The largest answer read, in bytes: some 20 minutes of 24 kHz 16-bit stereo.
const MAX_AUDIO_BYTES: usize = 200 * 1024 * 1024;

/// The most of an error body read, in bytes.
const ERROR_BODY_BYTES: usize = 16 * 1024;

/// The most of a server's message shown, in characters.
const MESSAGE_CHARS: usize = 300;

/// The speech server, its model and credentials.
pub(super) struct OpenAi {
    http: reqwest::Client,
    url: String,
    model: String,
    /// The `Authorization` header, or why the key cannot be sent.
    auth: Result<Option<HeaderValue>, String>,
}

impl OpenAi {
    pub(super) fn new(config: &TtsConfig, http: reqwest::Client) -> OpenAi {
        let base = config.base_url.trim().trim_end_matches('/');
        let url = if base.ends_with("/audio/speech") {
            base.to_string()
        } else {
            format!("{base}/audio/speech")
        };
        let auth = match config.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => HeaderValue::from_str(&format!("Bearer {key}"))
                .map(|mut value| {
                    value.set_sensitive(true);
                    Some(value)
                })
                .map_err(|_| {
                    "tts.api_key contains characters that cannot be sent in an HTTP header; \
                     check the key (or MENTOR_TTS_API_KEY)"
                        .to_string()
                }),
            _ => Ok(None),
        };
        OpenAi {
            http,
            url,
            model: config.model.trim().to_string(),
            auth,
        }
    }

    /// Asks the server for `text` spoken by `voice`, and writes the clip to `part`.
    pub(super) async fn speak(
        &self,
        text: &str,
        voice: &str,
        part: &Path,
        limit: Limit,
        cancel: &CancellationToken,
    ) -> Result<Clip, TtsError> {
        let auth = self
            .auth
            .clone()
            .map_err(|detail| TtsError::Failed { detail })?;
        let body = json!({
            "model": self.model,
            "input": text,
            "voice": voice,
            "response_format": "wav",
        });
        let mut request = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "audio/wav")
            .body(body.to_string());
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        let work = async {
            let response = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(self.refused(status, response).await);
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type")
                .to_string();
            let bytes = self.read_audio(response).await?;
            let clip = Clip::parse(&bytes).map_err(|e| TtsError::BadAudio {
                detail: format!(
                    "{e} ({} answered {content_type}{})",
                    self.url,
                    snippet(&bytes)
                ),
            })?;
            tokio::fs::write(part, clip.to_wav())
                .await
                .map_err(|e| io_error(part, &e))?;
            Ok(clip)
        };
        tokio::select! {
            done = tokio::time::timeout(limit.time, work) => {
                done.unwrap_or_else(|_| Err(limit.exceeded()))
            }
            () = cancel.cancelled() => Err(TtsError::Cancelled),
        }
    }

    /// The whole answer, at most [`MAX_AUDIO_BYTES`].
    async fn read_audio(&self, mut response: Response) -> Result<Vec<u8>, TtsError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(&e))? {
            if bytes.len() + chunk.len() > MAX_AUDIO_BYTES {
                return Err(TtsError::BadAudio {
                    detail: format!(
                        "{} sent more than {} MiB of audio for one clip",
                        self.url,
                        MAX_AUDIO_BYTES / (1024 * 1024)
                    ),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// A refusal: 408, 429 and 5xx may pass (the server is busy or down), others will not.
    async fn refused(&self, status: StatusCode, mut response: Response) -> TtsError {
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= ERROR_BODY_BYTES {
                break;
            }
        }
        let detail = format!(
            "{} answered HTTP {}: {}",
            self.url,
            status.as_u16(),
            server_message(&String::from_utf8_lossy(&body), status)
        );
        if matches!(status.as_u16(), 408 | 429 | 500..=599) {
            TtsError::Unreachable { detail }
        } else {
            TtsError::Failed { detail }
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> TtsError {
        TtsError::Unreachable {
            detail: format!("{}: {}", self.url, reason(e)),
        }
    }
}

/// The server's message: from a JSON error body (`{"error":{"message"}}`, `{"error"}`,
/// `{"message"}`, FastAPI's `{"detail"}`), else the body's start, else the status's reason.
fn server_message(body: &str, status: StatusCode) -> String {
    let body = body.trim();
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let text = |v: &Value| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            _ => None,
        };
        let message = text(&json["error"]["message"])
            .or_else(|| text(&json["error"]))
            .or_else(|| text(&json["message"]))
            .or_else(|| text(&json["detail"]))
            .or_else(|| match &json["detail"] {
                Value::Null => None,
                detail => Some(detail.to_string()),
            });
        if let Some(message) = message {
            return head(&message, MESSAGE_CHARS);
        }
    }
    if body.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        head(body, MESSAGE_CHARS)
    }
}

/// The start of an answer that is not audio, when it reads as text.
fn snippet(bytes: &[u8]) -> String {
    let start = &bytes[..bytes.len().min(MESSAGE_CHARS * 4)];
    match std::str::from_utf8(start) {
        Ok(text) if !text.trim().is_empty() => format!(": {}", head(text, 120)),
        _ => String::new(),
    }
}

/// The innermost reason of a transport error ("Connection refused"), which reqwest's own
/// message ("error sending request") leaves out.
fn reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !text.is_empty() {
            reason = text;
        }
        source = inner.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::super::Speech;
    use super::*;
    use crate::tts::files_in;

    /// What the loopback server answers.
    enum Answer {
        /// Status, content type, body.
        With(u16, &'static str, Vec<u8>),
        /// Headers never come.
        Hang,
    }

    /// A speech server on a loopback port answering one request. Its task returns the request
    /// as received (head and body).
    async fn server(answer: Answer) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("a connection");
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            // The head, then as much body as it announces.
            let body_start = loop {
                let n = tcp.read(&mut buf).await.expect("read");
                assert!(n > 0, "the client left before its request was whole");
                request.extend_from_slice(&buf[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
            };
            let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while request.len() < body_start + length {
                let n = tcp.read(&mut buf).await.expect("read");
                assert!(n > 0, "the body was cut");
                request.extend_from_slice(&buf[..n]);
            }
            match answer {
                Answer::With(status, content_type, body) => {
                    let head = format!(
                        "HTTP/1.1 {status} Scripted\r\nContent-Type: {content_type}\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    tcp.write_all(head.as_bytes()).await.expect("write");
                    tcp.write_all(&body).await.expect("write");
                    let _ = tcp.shutdown().await;
                }
                Answer::Hang => {
                    // Until the client leaves.
                    let _ = tcp.read(&mut buf).await;
                }
            }
            String::from_utf8_lossy(&request).into_owned()
        });
        (format!("http://{addr}/v1"), task)
    }

    fn speech(base_url: &str, api_key: Option<&str>, timeout_secs: u64) -> Speech {
        let config = TtsConfig {
            engine: "openai".into(),
            base_url: base_url.to_string(),
            model: "kokoro".into(),
            api_key: api_key.map(str::to_string),
            timeout_secs,
            ..TtsConfig::default()
        };
        Speech::new(&config, reqwest::Client::new())
    }

    fn tone(rate: u32, ms: u32) -> Clip {
        let n = (rate * ms / 1000) as usize;
        Clip {
            rate,
            samples: (0..n)
                .map(|i| ((i as f64 * 0.1).sin() * 9000.0) as i16)
                .collect(),
        }
    }

    fn body_of(request: &str) -> Value {
        let (_, body) = request.split_once("\r\n\r\n").expect("a body");
        serde_json::from_str(body).expect("a JSON body")
    }

    #[tokio::test]
    async fn a_wav_answer_is_the_clip_and_the_key_is_a_bearer_token() {
        let clip = tone(24_000, 300);
        let (url, request) = server(Answer::With(200, "audio/wav", clip.to_wav())).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("clip.wav");
        let speech = speech(&url, Some("sk-speech"), 10);
        assert_eq!(speech.check().await, Ok(()));
        let got = speech
            .speak(
                "-Hello, \"you\".",
                "af_heart",
                &out,
                &CancellationToken::new(),
            )
            .await
            .expect("spoken");
        assert_eq!(got, clip);
        assert_eq!(std::fs::read(&out).expect("the file"), clip.to_wav());
        assert_eq!(files_in(dir.path()), ["clip.wav"]);
        let request = request.await.expect("the server");
        assert!(
            request.starts_with("POST /v1/audio/speech HTTP/1.1\r\n"),
            "{request}"
        );
        let head = request.to_ascii_lowercase();
        assert!(
            head.contains("\r\nauthorization: bearer sk-speech\r\n"),
            "{request}"
        );
        assert!(
            head.contains("\r\ncontent-type: application/json\r\n"),
            "{request}"
        );
        assert_eq!(
            body_of(&request),
            json!({"model": "kokoro", "input": "-Hello, \"you\".", "voice": "af_heart",
                   "response_format": "wav"})
        );
    }

    #[tokio::test]
    async fn a_streamed_stereo_wav_is_written_as_plain_mono() {
        let mut wav = b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0".to_vec();
        for v in [1u16, 2] {
            wav.extend_from_slice(&v.to_le_bytes());
        }
        wav.extend_from_slice(&24_000u32.to_le_bytes());
        wav.extend_from_slice(&96_000u32.to_le_bytes());
        wav.extend_from_slice(&4u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data\xff\xff\xff\xff");
        for (l, r) in [(1000i16, 3000i16), (-1000, -3000), (10, 30)] {
            wav.extend_from_slice(&l.to_le_bytes());
            wav.extend_from_slice(&r.to_le_bytes());
        }
        let (url, _request) = server(Answer::With(200, "audio/wav", wav)).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("clip.wav");
        let clip = speech(&url, None, 10)
            .speak("Hi.", "af_heart", &out, &CancellationToken::new())
            .await
            .expect("spoken");
        assert_eq!(clip.samples, [2000, -2000, 20]);
        assert_eq!(std::fs::read(&out).expect("the file"), clip.to_wav());
    }

    #[tokio::test]
    async fn without_a_key_no_authorization_is_sent() {
        let (url, request) =
            server(Answer::With(200, "audio/wav", tone(24_000, 50).to_wav())).await;
        let dir = tempfile::tempdir().expect("tempdir");
        speech(&url, None, 10)
            .speak(
                "Hi.",
                "af_heart",
                &dir.path().join("c.wav"),
                &CancellationToken::new(),
            )
            .await
            .expect("spoken");
        let request = request.await.expect("the server").to_ascii_lowercase();
        assert!(!request.contains("authorization"), "{request}");
    }

    #[tokio::test]
    async fn busy_or_broken_servers_are_transient() {
        for status in [500, 503, 429, 408] {
            let body = br#"{"error":{"message":"model is loading"}}"#.to_vec();
            let (url, _request) = server(Answer::With(status, "application/json", body)).await;
            let dir = tempfile::tempdir().expect("tempdir");
            let out = dir.path().join("clip.wav");
            let e = speech(&url, None, 10)
                .speak("Hi.", "af_heart", &out, &CancellationToken::new())
                .await
                .expect_err("refused");
            let TtsError::Unreachable { detail } = &e else {
                panic!("{status}: {e:?}");
            };
            assert!(detail.contains(&format!("HTTP {status}")), "{detail}");
            assert!(detail.contains("model is loading"), "{detail}");
            assert!(e.is_transient());
            assert!(files_in(dir.path()).is_empty(), "{status}");
        }
    }

    #[tokio::test]
    async fn a_refusal_is_permanent_with_the_servers_words() {
        for status in [400, 401, 404, 422] {
            let body = br#"{"detail":"voice 'zz' not found"}"#.to_vec();
            let (url, _request) = server(Answer::With(status, "application/json", body)).await;
            let dir = tempfile::tempdir().expect("tempdir");
            let e = speech(&url, None, 10)
                .speak(
                    "Hi.",
                    "zz",
                    &dir.path().join("c.wav"),
                    &CancellationToken::new(),
                )
                .await
                .expect_err("refused");
            let TtsError::Failed { detail } = &e else {
                panic!("{status}: {e:?}");
            };
            assert!(detail.contains(&format!("HTTP {status}")), "{detail}");
            assert!(detail.contains("voice 'zz' not found"), "{detail}");
            assert!(!e.is_transient());
            assert!(files_in(dir.path()).is_empty());
        }
    }

    #[tokio::test]
    async fn an_answer_that_is_not_a_wav_is_bad_audio() {
        for (content_type, body) in [
            ("audio/mpeg", b"ID3\x04\0\0 an mp3".to_vec()),
            ("application/json", br#"{"audio":"base64..."}"#.to_vec()),
            ("audio/wav", Vec::new()),
        ] {
            let (url, _request) = server(Answer::With(200, content_type, body)).await;
            let dir = tempfile::tempdir().expect("tempdir");
            let e = speech(&url, None, 10)
                .speak(
                    "Hi.",
                    "af_heart",
                    &dir.path().join("c.wav"),
                    &CancellationToken::new(),
                )
                .await
                .expect_err("not audio");
            let TtsError::BadAudio { detail } = &e else {
                panic!("{content_type}: {e:?}");
            };
            assert!(detail.contains(content_type), "{detail}");
            assert!(!e.is_transient());
            assert!(files_in(dir.path()).is_empty());
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let e = speech(&format!("http://127.0.0.1:{port}/v1"), None, 10)
            .speak(
                "Hi.",
                "af_heart",
                Path::new("/nonexistent/c.wav"),
                &CancellationToken::new(),
            )
            .await
            .expect_err("nobody listens");
        let TtsError::Unreachable { detail } = &e else {
            panic!("{e:?}");
        };
        assert!(detail.contains(&format!("127.0.0.1:{port}")), "{detail}");
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_cancellation_is_prompt() {
        let (url, _request) = server(Answer::Hang).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("clip.wav");
        let started = Instant::now();
        let e = speech(&url, None, 1)
            .speak("Hi.", "af_heart", &out, &CancellationToken::new())
            .await
            .expect_err("no answer");
        assert_eq!(e, TtsError::TimedOut { secs: 1 });
        assert!(e.is_transient());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(files_in(dir.path()).is_empty());

        let (url, _request) = server(Answer::Hang).await;
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let e = speech(&url, None, 60)
            .speak("Hi.", "af_heart", &out, &cancel)
            .await
            .expect_err("cancelled");
        assert_eq!(e, TtsError::Cancelled);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(files_in(dir.path()).is_empty());
    }

    #[test]
    fn the_url_is_built_from_the_base() {
        let config = |base: &str| TtsConfig {
            base_url: base.to_string(),
            ..TtsConfig::default()
        };
        let http = reqwest::Client::new();
        for base in [
            "http://h:8880/v1",
            "http://h:8880/v1/",
            " http://h:8880/v1/audio/speech ",
        ] {
            assert_eq!(
                OpenAi::new(&config(base), http.clone()).url,
                "http://h:8880/v1/audio/speech"
            );
        }
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_refused_on_use() {
        let config = TtsConfig {
            api_key: Some("bad\nkey".into()),
            ..TtsConfig::default()
        };
        let engine = OpenAi::new(&config, reqwest::Client::new());
        assert!(engine.auth.is_err());
        let none = OpenAi::new(
            &TtsConfig {
                api_key: Some("  ".into()),
                ..TtsConfig::default()
            },
            reqwest::Client::new(),
        );
        assert_eq!(none.auth, Ok(None));
    }

    #[test]
    fn server_messages_in_their_usual_places() {
        let s = StatusCode::BAD_REQUEST;
        assert_eq!(
            server_message(r#"{"error":{"message":"bad voice"}}"#, s),
            "bad voice"
        );
        assert_eq!(server_message(r#"{"detail":"Not Found"}"#, s), "Not Found");
        assert_eq!(server_message(" plain\n", s), "plain");
        assert_eq!(server_message("", s), "Bad Request");
        assert_eq!(
            server_message(&"x".repeat(2000), s).chars().count(),
            MESSAGE_CHARS + 1
        );
    }
}
