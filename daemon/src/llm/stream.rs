//! One streamed answer: reads server-sent events under the first-token and idle deadlines,
//! and hands out deltas, coalesced so a fast server yields few big pieces while a slow one
//! yields each token as it comes.
//!
//! The request is sent exactly once: the event source never reconnects (its default would
//! re-send the POST after a cut or even after a normal end), and it is closed at `[DONE]`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use mentor_shared::ApiError;
use reqwest_eventsource::{Error as EsError, Event, EventSource};
use tokio::time::Instant;

use super::assemble::{Assembler, Completion, Delta, Deltas};
use super::error::{self, protocol, ENDED_EARLY};
use super::gate::Permit;
use super::local::{Answer, Item};

/// Events taken in one `next()` without waiting, at most, so a flood still comes in pieces.
const BATCH_EVENTS: usize = 1024;

/// Where an answer comes from.
enum Source {
    /// A model server's event stream.
    Server(Box<EventSource>),
    /// The local model's chunks.
    Local(Answer),
}

impl Source {
    fn close(&mut self) {
        match self {
            Source::Server(events) => events.close(),
            Source::Local(answer) => answer.close(),
        }
    }
}

/// A streamed answer. Holds its place at the gate until dropped; dropping it closes the
/// connection (or stops the local model).
pub struct Stream {
    source: Source,
    /// The place at the gate, held until the stream is dropped.
    permit: Permit,
    url: String,
    answer: Assembler,
    ready: Deltas,
    end: Option<Result<(), ApiError>>,
    first_token_by: Instant,
    first_token: Duration,
    idle: Duration,
    started: Instant,
    first_event_at: Option<Instant>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("url", &self.url)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Deadlines for one stream.
pub(crate) struct Limits {
    /// When the request was sent.
    pub started: Instant,
    /// From sending until the first event with data.
    pub first_token: Duration,
    /// Between two events after that.
    pub idle: Duration,
}

impl Stream {
    pub(crate) fn new(events: EventSource, permit: Permit, url: String, limits: Limits) -> Stream {
        Stream::from_source(Source::Server(Box::new(events)), permit, url, limits)
    }

    /// An answer of the local model; `label` (the model file) stands for the URL in errors.
    pub(crate) fn local(answer: Answer, permit: Permit, label: String, limits: Limits) -> Stream {
        Stream::from_source(Source::Local(answer), permit, label, limits)
    }

    fn from_source(source: Source, permit: Permit, url: String, limits: Limits) -> Stream {
        Stream {
            source,
            permit,
            url,
            answer: Assembler::default(),
            ready: Deltas::default(),
            end: None,
            first_token_by: limits.started + limits.first_token,
            first_token: limits.first_token,
            idle: limits.idle,
            started: limits.started,
            first_event_at: None,
        }
    }

    /// The next piece of the answer; `Ok(None)` once it is complete. After awaiting one
    /// event, also takes every event already received, merged into as few deltas as
    /// possible. Cancellation-safe: nothing is lost if the future is dropped.
    pub async fn next(&mut self) -> Result<Option<Delta>, ApiError> {
        loop {
            if let Some(delta) = self.ready.pop() {
                return Ok(Some(delta));
            }
            match &self.end {
                Some(Ok(())) => return Ok(None),
                Some(Err(e)) => return Err(e.clone()),
                None => {}
            }
            let (deadline, phase, limit) = match self.first_event_at {
                None => (self.first_token_by, "first_token", self.first_token),
                Some(_) => (Instant::now() + self.idle, "idle", self.idle),
            };
            // A job's request ends as soon as a waiting chat preempts it.
            let preempted = self.permit.preempted().clone();
            if let Source::Local(answer) = &mut self.source {
                let item = tokio::select! {
                    biased;
                    _ = preempted.cancelled() => {
                        self.stop(Err(ApiError::LlmPreempted));
                        continue;
                    }
                    item = tokio::time::timeout_at(deadline, answer.items.recv()) => item,
                };
                match item {
                    Ok(item) => self.take_local(item),
                    Err(_) => self.stop(Err(error::timeout(&self.url, phase, limit))),
                }
                let mut taken = 1;
                while self.end.is_none() && taken < BATCH_EVENTS {
                    let Source::Local(answer) = &mut self.source else {
                        break;
                    };
                    match answer.items.try_recv() {
                        Ok(item) => self.take_local(Some(item)),
                        Err(_) => break,
                    }
                    taken += 1;
                }
                continue;
            }
            let Source::Server(events) = &mut self.source else {
                continue;
            };
            let event = tokio::select! {
                biased;
                _ = preempted.cancelled() => {
                    self.stop(Err(ApiError::LlmPreempted));
                    continue;
                }
                event = tokio::time::timeout_at(deadline, next_event(&mut **events)) => event,
            };
            match event {
                Ok(event) => self.take(event),
                Err(_) => self.stop(Err(error::timeout(&self.url, phase, limit))),
            }
            let mut taken = 1;
            while self.end.is_none() && taken < BATCH_EVENTS {
                let Source::Server(events) = &mut self.source else {
                    break;
                };
                match next_event(&mut **events).now_or_never() {
                    Some(event) => self.take(event),
                    None => break,
                }
                taken += 1;
            }
        }
    }

    /// The text received so far.
    pub fn partial_text(&self) -> &str {
        self.answer.text()
    }

    /// The answer assembled from what arrived (all of it, after `next()` returned `None`).
    pub fn finish(self) -> Completion {
        let Stream { answer, .. } = self;
        answer.completion()
    }

    /// Handles one item from the event source (or the panic of its parser).
    fn take(&mut self, polled: Polled) {
        let event = match polled {
            Ok(event) => event,
            Err(panic) => {
                tracing::debug!(%panic, "the event parser panicked");
                let reason = "the event stream cannot be parsed (its parser failed)";
                self.stop(Err(protocol(&self.url, reason)));
                return;
            }
        };
        match event {
            Some(Ok(Event::Open)) => {}
            Some(Ok(Event::Message(message))) => {
                self.first_event_at.get_or_insert_with(Instant::now);
                let (url, answer, ready) = (&self.url, &mut self.answer, &mut self.ready);
                if let Some(end) = on_message(answer, url, &message.event, &message.data, ready) {
                    self.stop(end);
                }
            }
            // The event source is closed: only after an error or [DONE], both already ended us.
            None => self.ended(None),
            Some(Err(EsError::StreamEnded)) => self.ended(None),
            Some(Err(EsError::Transport(e))) => self.ended(Some(e)),
            Some(Err(EsError::Utf8(_))) => {
                self.stop(Err(protocol(&self.url, "the stream is not valid UTF-8")))
            }
            Some(Err(EsError::Parser(e))) => self.stop(Err(protocol(
                &self.url,
                format!("the event stream cannot be parsed: {e}"),
            ))),
            Some(Err(e)) => self.stop(Err(protocol(&self.url, e.to_string()))),
        }
    }

    /// Handles one item from the local model (`None`: its thread dropped the request).
    fn take_local(&mut self, item: Option<Item>) {
        match item {
            Some(Item::Started) => {
                if self.first_event_at.is_none() {
                    self.first_token_by = Instant::now() + self.first_token;
                }
            }
            Some(Item::Data(data)) => {
                self.first_event_at.get_or_insert_with(Instant::now);
                let (url, answer, ready) = (&self.url, &mut self.answer, &mut self.ready);
                if let Some(end) = on_message(answer, url, "", &data, ready) {
                    self.stop(end);
                }
            }
            Some(Item::Error(reason)) => self.stop(Err(ApiError::LocalModel {
                path: self.url.clone(),
                reason,
            })),
            None => self.stop(Err(protocol(&self.url, ENDED_EARLY))),
        }
    }

    /// The connection ended, cleanly or not: fine after a finish reason, else a cut.
    fn ended(&mut self, cause: Option<reqwest::Error>) {
        if self.answer.finished() {
            self.stop(Ok(()));
            return;
        }
        let e = match cause {
            Some(e) => error::cut(&self.url, &e),
            None => protocol(&self.url, ENDED_EARLY),
        };
        self.stop(Err(e));
    }

    /// Records the end (once) and logs it.
    fn stop(&mut self, end: Result<(), ApiError>) {
        if self.end.is_some() {
            return;
        }
        self.source.close();
        let usage = self.answer.usage().unwrap_or_default();
        let first_token_ms = self
            .first_event_at
            .map(|t| t.duration_since(self.started).as_millis());
        let elapsed_ms = self.started.elapsed().as_millis();
        match &end {
            Ok(()) => tracing::debug!(
                elapsed_ms,
                first_token_ms,
                prompt_tokens = usage.prompt_tokens,
                completion_tokens = usage.completion_tokens,
                finish_reason = self.answer.finish_reason(),
                tool_calls = self.answer.call_count(),
                "model request done"
            ),
            Err(e) => {
                tracing::debug!(elapsed_ms, first_token_ms, error = %e, "model request failed")
            }
        }
        self.end = Some(end);
    }
}

/// An item of the event source, or the message of a panic in its parser.
type Polled = Result<Option<Result<Event, EsError>>, String>;

/// The next item of `events`, a panic of the event parser caught: `eventsource-stream` 0.2.3
/// panics on a stream that starts with a byte-order mark (it slices inside the mark). The
/// stream cannot go on after that (the chunk is lost), so the caller ends the answer.
fn next_event<S>(events: &mut S) -> impl Future<Output = Result<Option<S::Item>, String>> + '_
where
    S: futures::Stream + Unpin,
{
    AssertUnwindSafe(events.next())
        .catch_unwind()
        .map(|caught| {
            caught.map_err(|payload| {
                if let Some(s) = payload.downcast_ref::<&str>() {
                    (*s).to_string()
                } else if let Some(s) = payload.downcast_ref::<String>() {
                    s.clone()
                } else {
                    "unknown panic".to_string()
                }
            })
        })
}

/// What one event (its type and data) does to the answer: adds to it (`None`), or ends it — `[DONE]`
/// (`Ok`), an `error` event or a chunk that cannot be read (`Err`). Pure, so the fuzz tests
/// drive it with the event parser and no connection.
fn on_message(
    answer: &mut Assembler,
    url: &str,
    event: &str,
    data: &str,
    ready: &mut Deltas,
) -> Option<Result<(), ApiError>> {
    let data = data.trim();
    if event == "error" {
        let json =
            serde_json::from_str(data).unwrap_or_else(|_| serde_json::json!({ "error": data }));
        let json = if json.get("error").is_some() {
            json
        } else {
            serde_json::json!({ "error": json })
        };
        Some(Err(error::in_stream(url, &json)))
    } else if data == "[DONE]" {
        Some(Ok(()))
    } else if data.is_empty() {
        None
    } else {
        answer.feed(url, data, ready).err().map(Err)
    }
}

#[cfg(test)]
mod fuzz;
