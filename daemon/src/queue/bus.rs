//! The event bus: every committed change is published here with a sequence number, and
//! subscribers long-poll for what came after their cursor.
//!
//! Memory is bounded by design: the bus keeps the last [`HISTORY`] events in one ring shared
//! by every subscriber, and keeps nothing per subscriber. A client that falls further behind
//! than the ring (or comes back after a daemon restart: another `epoch`) is told to reload its
//! state instead of being fed an unbounded backlog. Waiting subscribers are woken by a watch
//! channel when something is published: no timer, no polling. There is one channel per
//! family of events (jobs, conversation), so a subscriber to one is not woken by the other: a
//! conversation's long-poll sleeps through a busy job's progress, and a job watcher through a
//! streaming reply.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mentor_shared::ids::{JobId, UserId};
use mentor_shared::jobs::{
    Cursor, Event, EventBatch, EventBody, EventFilter, EventKinds, JobStatus,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Events kept for subscribers that are behind.
pub const HISTORY: usize = 4096;
/// Longest a long-poll may wait.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Most events in one batch.
pub const MAX_BATCH: usize = 1000;
/// Longest an answer may linger for more events after the first.
pub const MAX_LINGER: Duration = Duration::from_secs(1);

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

struct Ring {
    events: VecDeque<(UserId, Arc<Event>)>,
    last_seq: u64,
    /// The newest event let go of, per family (jobs, conversation): a subscriber that sleeps
    /// through the other family's events is behind only if one of its own was let go of.
    evicted: Evicted,
}

#[derive(Default, Clone, Copy)]
struct Evicted {
    jobs: u64,
    conversation: u64,
    /// The newest job event of a job's end.
    ended: u64,
}

impl Evicted {
    /// The newest event of `kinds` no longer in the ring (0: none).
    fn newest(self, kinds: EventKinds) -> u64 {
        match kinds {
            EventKinds::All => self.jobs.max(self.conversation),
            EventKinds::Jobs => self.jobs,
            EventKinds::Conversation => self.conversation,
        }
    }
}

/// Whether `body` tells of a job's end.
fn is_end(body: &EventBody) -> bool {
    matches!(body, EventBody::Job { job } if job.status.is_terminal())
}

/// How much a long-poll takes and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// Most events in the answer.
    pub max: usize,
    /// Longest wait for a first event (capped at [`MAX_WAIT`]).
    pub max_wait: Duration,
    /// How long to wait for more after the first (capped at [`MAX_LINGER`]).
    pub linger: Duration,
    /// Send only the last of a job's events that share its status (see
    /// [`coalesce_progress`]).
    pub coalesce: bool,
}

impl Wait {
    /// Up to `max` events, waiting up to `max_wait`, answering at once.
    pub fn new(max: usize, max_wait: Duration) -> Wait {
        Wait {
            max,
            max_wait,
            linger: Duration::ZERO,
            coalesce: false,
        }
    }
}

/// Drops from `batch` each `job` event followed, in the same batch, by another event of the
/// same job with the same status: what it said (progress) is superseded by the later full
/// record. Every status change stays, in order, and the cursor is unchanged.
fn coalesce_progress(mut batch: EventBatch) -> EventBatch {
    let mut later: std::collections::HashMap<JobId, JobStatus> = Default::default();
    let mut keep = vec![true; batch.events.len()];
    for (i, event) in batch.events.iter().enumerate().rev() {
        if let EventBody::Job { job } = &event.body {
            if later.insert(job.id, job.status) == Some(job.status) {
                keep[i] = false;
            }
        }
    }
    let mut keep = keep.into_iter();
    batch.events.retain(|_| keep.next().unwrap_or(true));
    batch
}

/// The family a subscriber hears: one job's watcher hears only job events.
fn kinds_of(filter: &EventFilter) -> EventKinds {
    match filter.job {
        Some(_) => EventKinds::Jobs,
        None => filter.kinds,
    }
}

/// The bus.
pub struct EventBus {
    epoch: u64,
    ring: Mutex<Ring>,
    /// The last sequence number of a `job` event.
    jobs_seq: watch::Sender<u64>,
    /// The last sequence number of any other event.
    conversation_seq: watch::Sender<u64>,
    /// The last sequence number of a `job` event of a job that reached its end.
    ended_seq: watch::Sender<u64>,
    capacity: usize,
}

/// The wake-up channels a subscriber of `kinds` listens to.
struct Wake {
    jobs: Option<watch::Receiver<u64>>,
    conversation: Option<watch::Receiver<u64>>,
}

impl Wake {
    fn mark_seen(&mut self) {
        for rx in [&mut self.jobs, &mut self.conversation]
            .into_iter()
            .flatten()
        {
            rx.borrow_and_update();
        }
    }

    /// Returns when either channel moved; `false` when the bus is gone.
    async fn changed(&mut self) -> bool {
        async fn one(rx: &mut Option<watch::Receiver<u64>>) -> bool {
            match rx {
                Some(rx) => rx.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            ok = one(&mut self.jobs) => ok,
            ok = one(&mut self.conversation) => ok,
        }
    }
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
                evicted: Evicted::default(),
            }),
            jobs_seq: watch::channel(0).0,
            conversation_seq: watch::channel(0).0,
            ended_seq: watch::channel(0).0,
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
        let ended = is_end(&body);
        let wake = if matches!(body, EventBody::Job { .. }) {
            &self.jobs_seq
        } else {
            &self.conversation_seq
        };
        let seq = {
            let mut ring = self.ring();
            ring.last_seq += 1;
            let seq = ring.last_seq;
            if ring.events.len() == self.capacity {
                if let Some((_, old)) = ring.events.pop_front() {
                    match &old.body {
                        EventBody::Job { .. } => {
                            ring.evicted.jobs = old.seq;
                            if is_end(&old.body) {
                                ring.evicted.ended = old.seq;
                            }
                        }
                        _ => ring.evicted.conversation = old.seq,
                    }
                }
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
        wake.send_replace(seq);
        if ended {
            self.ended_seq.send_replace(seq);
        }
        seq
    }

    /// A subscription to the wake-ups of `kinds`.
    fn wake(&self, kinds: EventKinds) -> Wake {
        Wake {
            jobs: (kinds != EventKinds::Conversation).then(|| self.jobs_seq.subscribe()),
            conversation: (kinds != EventKinds::Jobs).then(|| self.conversation_seq.subscribe()),
        }
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
            || ring.evicted.newest(kinds_of(filter)) > after.seq;
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
    /// `stop` fires. Woken by publication only. With a `linger`, the answer waits that long
    /// after the first event for more to come with it (at most [`MAX_LINGER`]): a client that
    /// only draws what the events say (a status line) then makes a few round trips a second
    /// however busy the jobs are, instead of one per event.
    pub async fn next(
        &self,
        user: UserId,
        after: Option<Cursor>,
        filter: &EventFilter,
        wait: Wait,
        stop: &CancellationToken,
    ) -> EventBatch {
        let Wait {
            max,
            max_wait,
            linger,
            coalesce,
        } = wait;
        let answer = |batch: EventBatch| match coalesce {
            true => coalesce_progress(batch),
            false => batch,
        };
        let mut wake = self.wake(kinds_of(filter));
        let deadline = tokio::time::Instant::now() + max_wait.min(MAX_WAIT);
        let linger = linger.min(MAX_LINGER);
        let mut cursor = after;
        loop {
            wake.mark_seen();
            let batch = self.fetch(user, cursor, filter, max);
            if batch.reload || cursor.is_none() {
                return batch;
            }
            if !batch.events.is_empty() {
                if linger.is_zero() || batch.events.len() >= max.clamp(1, MAX_BATCH) {
                    return answer(batch);
                }
                // The same cursor again after the linger: these events and what followed.
                tokio::select! {
                    _ = tokio::time::sleep(linger) => {}
                    _ = stop.cancelled() => return answer(batch),
                }
                return answer(self.fetch(user, cursor, filter, max));
            }
            // Filtered-out events still move the cursor, so they are not scanned again.
            cursor = Some(batch.cursor);
            tokio::select! {
                alive = wake.changed() => if !alive { return batch },
                _ = tokio::time::sleep_until(deadline) => return batch,
                _ = stop.cancelled() => return batch,
            }
        }
    }
}

/// What the daemon's own subscriber receives: jobs' ends, of every user.
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

    /// The daemon's own subscription to jobs' ends (completed, failed, cancelled), of every
    /// user: waits for the next after `after` (or the end of the stream when `None`), moving
    /// `after` forward. Progress and the conversation do not wake it. `Missed` when an end it
    /// had not seen was let go of.
    pub async fn next_job_ends(
        &self,
        after: &mut Option<u64>,
        stop: &CancellationToken,
    ) -> Option<Internal> {
        let mut wake = Wake {
            jobs: Some(self.ended_seq.subscribe()),
            conversation: None,
        };
        loop {
            wake.mark_seen();
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
                    if ring.evicted.ended > seen {
                        return Some(Internal::Missed);
                    }
                    let start = (seen + 1).saturating_sub(oldest) as usize;
                    let events: Vec<_> = ring
                        .events
                        .iter()
                        .skip(start)
                        .filter(|(_, e)| is_end(&e.body))
                        .map(|(u, e)| (*u, e.clone()))
                        .collect();
                    if !events.is_empty() {
                        return Some(Internal::Events(events));
                    }
                }
            }
            tokio::select! {
                alive = wake.changed() => if !alive { return None },
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
    job_matches
        && filter.kinds.admit(body)
        && filter.notebook.is_none_or(|nb| body.notebook() == Some(nb))
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
            ..EventFilter::default()
        };
        let batch = bus.fetch(ME, Some(start), &only_a, 100);
        assert_eq!(batch.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
        assert_eq!(batch.cursor.seq, 3);
    }

    fn token(text: &str) -> EventBody {
        EventBody::Token {
            notebook_id: mentor_shared::ids::NotebookId::new(),
            message_id: mentor_shared::ids::MessageId::new(),
            text: text.into(),
        }
    }

    #[test]
    fn a_subscriber_is_behind_only_when_its_own_events_were_let_go_of() {
        let bus = EventBus::with_capacity(4);
        let conversation = EventFilter {
            kinds: EventKinds::Conversation,
            ..EventFilter::default()
        };
        let jobs = EventFilter {
            kinds: EventKinds::Jobs,
            ..EventFilter::default()
        };
        let start = bus.fetch(ME, None, &conversation, 100).cursor;
        bus.publish(ME, token("a"));
        // Ten job events push the token and some job events out of the ring…
        for _ in 0..10 {
            bus.publish(ME, job(JobId::new()));
        }
        // …so a conversation subscriber from before the token must reload, and a job
        // subscriber from before the jobs too.
        assert!(bus.fetch(ME, Some(start), &conversation, 100).reload);
        assert!(bus.fetch(ME, Some(start), &jobs, 100).reload);
        // A conversation subscriber that had the token slept through job events only: no
        // reload, and the next token reaches it.
        let after_token = Cursor {
            epoch: bus.epoch(),
            seq: 1,
        };
        let quiet = bus.fetch(ME, Some(after_token), &conversation, 100);
        assert!(!quiet.reload);
        assert!(quiet.events.is_empty());
        bus.publish(ME, token("b"));
        let next = bus.fetch(ME, Some(after_token), &conversation, 100);
        assert!(!next.reload);
        assert_eq!(next.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [12]);
        // The jobs stream then lets the token go without harm to a job subscriber.
        for _ in 0..4 {
            bus.publish(ME, job(JobId::new()));
        }
        let jobs_cursor = Cursor {
            epoch: bus.epoch(),
            seq: 12,
        };
        let batch = bus.fetch(ME, Some(jobs_cursor), &jobs, 100);
        assert!(!batch.reload);
        assert_eq!(batch.events.len(), 4);
    }

    #[tokio::test]
    async fn a_subscriber_sleeps_through_the_other_family() {
        let bus = Arc::new(EventBus::new());
        let conversation = EventFilter {
            kinds: EventKinds::Conversation,
            ..EventFilter::default()
        };
        let start = bus.fetch(ME, None, &conversation, 100).cursor;
        let stop = CancellationToken::new();
        let waiter = {
            let bus = bus.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                bus.next(
                    ME,
                    Some(start),
                    &conversation,
                    Wait::new(100, Duration::from_secs(30)),
                    &stop,
                )
                .await
            })
        };
        for _ in 0..50 {
            bus.publish(ME, job(JobId::new()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "woken by job events");
        bus.publish(ME, token("hello"));
        let batch = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("task");
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.cursor.seq, 51);
    }

    fn ended(id: JobId) -> EventBody {
        let EventBody::Job { mut job } = job(id) else {
            unreachable!()
        };
        job.status = JobStatus::Completed;
        EventBody::Job { job }
    }

    #[tokio::test]
    async fn the_daemon_hears_of_job_ends_only() {
        let bus = Arc::new(EventBus::with_capacity(8));
        let stop = CancellationToken::new();
        let mut after = Some(bus.last_seq());
        let a = JobId::new();
        let waiter = {
            let bus = bus.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let news = bus.next_job_ends(&mut after, &stop).await;
                (news, after)
            })
        };
        for _ in 0..5 {
            bus.publish(ME, job(a));
            bus.publish(ME, token("x"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "woken by progress or tokens");
        bus.publish(ME, ended(a));
        let (news, after) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("task");
        let Some(Internal::Events(events)) = news else {
            panic!("no events")
        };
        assert_eq!(events.iter().map(|(_, e)| e.seq).collect::<Vec<_>>(), [11]);
        assert_eq!(after, Some(11));
        // An end let go of before the daemon looked: rescan.
        let mut behind = Some(11);
        bus.publish(ME, ended(JobId::new()));
        for _ in 0..8 {
            bus.publish(ME, job(a));
        }
        assert!(matches!(
            bus.next_job_ends(&mut behind, &stop).await,
            Some(Internal::Missed)
        ));
        // Progress let go of is no reason to.
        for _ in 0..20 {
            bus.publish(ME, job(a));
        }
        let mut quiet = behind;
        bus.publish(ME, ended(a));
        let Some(Internal::Events(events)) = bus.next_job_ends(&mut quiet, &stop).await else {
            panic!("missed")
        };
        assert_eq!(events.len(), 1);
    }

    #[tokio::test]
    async fn a_lingering_poll_answers_with_what_came_meanwhile() {
        let bus = Arc::new(EventBus::new());
        let all = EventFilter::default();
        let start = bus.fetch(ME, None, &all, 100).cursor;
        let stop = CancellationToken::new();
        let poll = |linger_ms: u64, max: usize| {
            let (bus, stop, all) = (bus.clone(), stop.clone(), all.clone());
            tokio::spawn(async move {
                let wait = Wait {
                    max,
                    max_wait: Duration::from_secs(30),
                    linger: Duration::from_millis(linger_ms),
                    coalesce: false,
                };
                bus.next(ME, Some(start), &all, wait, &stop).await
            })
        };
        let lingering = poll(300, 100);
        let full = poll(300, 2);
        let at_once = poll(0, 100);
        tokio::time::sleep(Duration::from_millis(20)).await;
        bus.publish(ME, job(JobId::new()));
        tokio::time::sleep(Duration::from_millis(30)).await;
        bus.publish(ME, job(JobId::new()));
        bus.publish(ME, job(JobId::new()));
        let got = |h: tokio::task::JoinHandle<EventBatch>| async {
            tokio::time::timeout(Duration::from_secs(5), h)
                .await
                .expect("answered")
                .expect("task")
                .events
                .len()
        };
        assert_eq!(got(at_once).await, 1);
        assert_eq!(got(lingering).await, 3);
        // The linger never makes an answer bigger than asked.
        assert_eq!(got(full).await, 2);
    }

    #[test]
    fn coalescing_keeps_every_status_change_and_the_last_progress() {
        let (a, b) = (JobId::new(), JobId::new());
        let with = |id: JobId, status: JobStatus, current: u32| {
            let EventBody::Job { mut job } = job(id) else {
                unreachable!()
            };
            job.status = status;
            job.progress = Some(mentor_shared::jobs::Progress::new(current, 10, "step"));
            EventBody::Job { job }
        };
        let bus = EventBus::new();
        let all = EventFilter::default();
        let start = bus.fetch(ME, None, &all, 100).cursor;
        use JobStatus::{Completed, Pending, Processing};
        for body in [
            with(a, Pending, 0),
            with(a, Processing, 1),
            with(b, Processing, 1),
            with(a, Processing, 2),
            token("t"),
            with(a, Processing, 3),
            with(b, Processing, 2),
            with(a, Completed, 10),
            with(b, Processing, 3),
        ] {
            bus.publish(ME, body);
        }
        let batch = coalesce_progress(bus.fetch(ME, Some(start), &all, 100));
        let seen: Vec<_> = batch
            .events
            .iter()
            .map(|e| match &e.body {
                EventBody::Job { job } => {
                    let current = job.progress.as_ref().map_or(0, |p| p.current);
                    format!(
                        "{}:{:?}:{current}",
                        if job.id == a { "a" } else { "b" },
                        job.status
                    )
                }
                _ => "token".to_string(),
            })
            .collect();
        assert_eq!(
            seen,
            [
                "a:Pending:0",
                "token",
                "a:Processing:3",
                "a:Completed:10",
                "b:Processing:3"
            ]
        );
        assert_eq!(batch.cursor.seq, 9);
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
                    Wait::new(100, Duration::from_secs(30)),
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
