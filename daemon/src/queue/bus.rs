//! The event bus: every committed change is published here with a sequence number, and
//! subscribers long-poll for what came after their cursor.
//!
//! Memory is bounded by design: the bus keeps the last [`HISTORY`] events in one ring shared
//! by every subscriber, and keeps nothing per subscriber. A client that falls further behind
//! than the ring (or comes back after a daemon restart: another `epoch`) is told to reload its
//! state instead of being fed an unbounded backlog. Waiting subscribers are woken by a watch
//! channel when something is published: no timer, no polling.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mentor_shared::ids::UserId;
use mentor_shared::jobs::{Cursor, Event, EventBatch, EventBody, EventFilter};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Events kept for subscribers that are behind.
pub const HISTORY: usize = 4096;
/// Longest a long-poll may wait.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Most events in one batch.
pub const MAX_BATCH: usize = 1000;

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

struct Ring {
    events: VecDeque<(UserId, Arc<Event>)>,
    last_seq: u64,
}

/// The bus.
pub struct EventBus {
    epoch: u64,
    ring: Mutex<Ring>,
    seq: watch::Sender<u64>,
    capacity: usize,
}

impl EventBus {
    /// A bus for this daemon run (its epoch is the start time in microseconds).
    pub fn new() -> EventBus {
        EventBus::with_capacity(HISTORY)
    }

    /// A bus keeping `capacity` events (tests use a small one).
    pub fn with_capacity(capacity: usize) -> EventBus {
        EventBus {
            epoch: now_us().max(1) as u64,
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(HISTORY)),
                last_seq: 0,
            }),
            seq: watch::channel(0).0,
            capacity: capacity.max(1),
        }
    }

    /// This run's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes an event for `user`; returns its sequence number.
    pub fn publish(&self, user: UserId, body: EventBody) -> u64 {
        let seq = {
            let mut ring = self.ring();
            ring.last_seq += 1;
            let seq = ring.last_seq;
            if ring.events.len() == self.capacity {
                ring.events.pop_front();
            }
            ring.events.push_back((
                user,
                Arc::new(Event {
                    seq,
                    at_us: now_us(),
                    body,
                }),
            ));
            seq
        };
        self.seq.send_replace(seq);
        seq
    }

    /// The events after `after` that `user` may see and `filter` selects, without waiting.
    pub fn fetch(
        &self,
        user: UserId,
        after: Option<Cursor>,
        filter: &EventFilter,
        max: usize,
    ) -> EventBatch {
        let ring = self.ring();
        let end = Cursor {
            epoch: self.epoch,
            seq: ring.last_seq,
        };
        let Some(after) = after else {
            return EventBatch {
                cursor: end,
                events: Vec::new(),
                reload: false,
            };
        };
        let oldest = ring
            .events
            .front()
            .map(|(_, e)| e.seq)
            .unwrap_or(end.seq + 1);
        let missed = after.epoch != self.epoch
            || after.seq > end.seq
            || (after.seq + 1 < oldest && after.seq < end.seq);
        if missed {
            return EventBatch {
                cursor: end,
                events: Vec::new(),
                reload: true,
            };
        }
        let start = (after.seq + 1).saturating_sub(oldest) as usize;
        let mut selected: Vec<Arc<Event>> = Vec::new();
        let mut cursor = after;
        for (owner, event) in ring.events.iter().skip(start) {
            if selected.len() >= max.clamp(1, MAX_BATCH) {
                break;
            }
            cursor.seq = event.seq;
            if *owner == user && matches(filter, &event.body) {
                selected.push(event.clone());
            }
        }
        // Copy the events out after letting go of the ring: publishers never wait on a reader.
        drop(ring);
        let events = selected.iter().map(|e| Event::clone(e)).collect();
        EventBatch {
            cursor,
            events,
            reload: false,
        }
    }

    /// Waits until there are events after `after` (or a reload is due), `max_wait` passes or
    /// `stop` fires. Woken by publication only.
    pub async fn next(
        &self,
        user: UserId,
        after: Option<Cursor>,
        filter: &EventFilter,
        max: usize,
        max_wait: Duration,
        stop: &CancellationToken,
    ) -> EventBatch {
        let mut rx = self.seq.subscribe();
        let deadline = tokio::time::Instant::now() + max_wait.min(MAX_WAIT);
        let mut cursor = after;
        loop {
            rx.borrow_and_update();
            let batch = self.fetch(user, cursor, filter, max);
            if !batch.events.is_empty() || batch.reload || cursor.is_none() {
                return batch;
            }
            // Filtered-out events still move the cursor, so they are not scanned again.
            cursor = Some(batch.cursor);
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return batch },
                _ = tokio::time::sleep_until(deadline) => return batch,
                _ = stop.cancelled() => return batch,
            }
        }
    }
}

/// What an internal subscriber (the daemon itself) receives: every user's events.
pub enum Internal {
    /// Events after the cursor, with their owners.
    Events(Vec<(UserId, Arc<Event>)>),
    /// Events were missed (the subscriber fell behind the ring): rescan the database.
    Missed,
}

impl EventBus {
    /// The sequence number of the last event published.
    pub fn last_seq(&self) -> u64 {
        self.ring().last_seq
    }

    /// The daemon's own subscription: waits for events of every user after `after` (or the
    /// end of the stream when `None`), moving `after` forward. Woken by publication only.
    pub async fn next_internal(
        &self,
        after: &mut Option<u64>,
        stop: &CancellationToken,
    ) -> Option<Internal> {
        let mut rx = self.seq.subscribe();
        loop {
            rx.borrow_and_update();
            {
                let ring = self.ring();
                let Some(seen) = *after else {
                    *after = Some(ring.last_seq);
                    drop(ring);
                    continue;
                };
                if seen < ring.last_seq {
                    let oldest = ring.events.front().map(|(_, e)| e.seq).unwrap_or(0);
                    *after = Some(ring.last_seq);
                    if seen + 1 < oldest {
                        return Some(Internal::Missed);
                    }
                    let start = (seen + 1).saturating_sub(oldest) as usize;
                    let events = ring
                        .events
                        .iter()
                        .skip(start)
                        .map(|(u, e)| (*u, e.clone()))
                        .collect();
                    return Some(Internal::Events(events));
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return None },
                _ = stop.cancelled() => return None,
            }
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

fn matches(filter: &EventFilter, body: &EventBody) -> bool {
    let job_matches = match body {
        EventBody::Job { job } => filter.job.is_none_or(|id| id == job.id),
        // A subscriber to one job hears nothing of the conversation.
        _ => filter.job.is_none(),
    };
    job_matches && filter.notebook.is_none_or(|nb| body.notebook() == Some(nb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::ids::JobId;
    use mentor_shared::jobs::{Job, JobKind, JobStatus};
    use mentor_shared::time::Timestamp;

    fn job(id: JobId) -> EventBody {
        EventBody::Job {
            job: Job {
                id,
                kind: JobKind::Test,
                status: JobStatus::Pending,
                notebook_id: None,
                artifact_id: None,
                topic: String::new(),
                params: serde_json::Value::Null,
                progress: None,
                result: None,
                error_message: None,
                failure: None,
                attempts: 0,
                max_attempts: 1,
                run_at: Timestamp(0),
                cancel_requested: false,
                created: Timestamp(0),
                updated: Timestamp(0),
                finished: None,
            },
        }
    }

    const ME: UserId = UserId(1000);

    #[test]
    fn cursors_resume_without_loss_or_duplicates() {
        let bus = EventBus::with_capacity(8);
        let all = EventFilter::default();
        let start = bus.fetch(ME, None, &all, 100).cursor;
        let a = JobId::new();
        for _ in 0..5 {
            bus.publish(ME, job(a));
        }
        let first = bus.fetch(ME, Some(start), &all, 3);
        assert_eq!(
            first.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let rest = bus.fetch(ME, Some(first.cursor), &all, 100);
        assert_eq!(
            rest.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [4, 5]
        );
        assert!(!rest.reload);
    }

    #[test]
    fn falling_behind_or_another_run_means_reload() {
        let bus = EventBus::with_capacity(4);
        let all = EventFilter::default();
        let start = bus.fetch(ME, None, &all, 100).cursor;
        for _ in 0..10 {
            bus.publish(ME, job(JobId::new()));
        }
        let behind = bus.fetch(ME, Some(start), &all, 100);
        assert!(behind.reload);
        assert_eq!(behind.cursor.seq, 10);
        // The reload cursor then works.
        bus.publish(ME, job(JobId::new()));
        let next = bus.fetch(ME, Some(behind.cursor), &all, 100);
        assert_eq!(next.events.len(), 1);
        let stale = Cursor {
            epoch: bus.epoch() + 1,
            seq: 3,
        };
        assert!(bus.fetch(ME, Some(stale), &all, 100).reload);
        // Memory stays bounded.
        assert_eq!(bus.ring().events.len(), 4);
    }

    #[test]
    fn filters_and_owners_select_events() {
        let bus = EventBus::new();
        let start = bus.fetch(ME, None, &EventFilter::default(), 100).cursor;
        let a = JobId::new();
        bus.publish(ME, job(JobId::new()));
        bus.publish(UserId(0), job(a));
        bus.publish(ME, job(a));
        let only_a = EventFilter {
            job: Some(a),
            notebook: None,
        };
        let batch = bus.fetch(ME, Some(start), &only_a, 100);
        assert_eq!(batch.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
        assert_eq!(batch.cursor.seq, 3);
    }

    #[tokio::test]
    async fn a_waiting_subscriber_is_woken_by_publication() {
        let bus = Arc::new(EventBus::new());
        let start = bus.fetch(ME, None, &EventFilter::default(), 100).cursor;
        let stop = CancellationToken::new();
        let waiter = {
            let bus = bus.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                bus.next(
                    ME,
                    Some(start),
                    &EventFilter::default(),
                    100,
                    Duration::from_secs(30),
                    &stop,
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        bus.publish(ME, job(JobId::new()));
        let batch = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("task");
        assert_eq!(batch.events.len(), 1);
    }
}
