//! The gate in front of the model: at most `n` requests in flight, and when a place frees
//! up, a waiting chat request always goes before a waiting background job, so the learner
//! never waits behind a podcast script. FIFO within each class.
//!
//! Two more rules keep a chat from waiting long behind jobs:
//! - **Places kept for the chat** ([`Gate::keep_for_chat`]): jobs may hold at most `n - k`
//!   places, so a chat always finds one (the local model, which decodes its sequences
//!   together, keeps one of its sequences for the conversation).
//! - **Preemption** ([`Gate::preempt_after`]): a chat that has waited that long while jobs
//!   hold the places fires the preemption token of the youngest job's permit (the least work
//!   lost), and again after each further wait of that length. The job's request, which
//!   watches its token ([`Permit::preempted`]), ends with [`mentor_shared::ApiError::LlmPreempted`]
//!   and gives its place up; the job's step goes back to the queue.
//!
//! Cancellation-safe: a waiter dropped while queued leaves the queue, and a waiter dropped
//! just after being handed a place passes that place on, so no permit is ever lost.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Who is asking: the conversation (a person is waiting) or a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// A chat turn: served first.
    Chat,
    /// A background job: served when no chat request is waiting.
    Job,
}

/// Limits concurrent model requests, chat first. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Mutex<State>>,
}

/// A place at the gate; dropping it lets the next waiter in.
pub struct Permit {
    inner: Arc<Mutex<State>>,
    id: u64,
    priority: Priority,
    preempt: CancellationToken,
}

struct State {
    free: usize,
    in_use: usize,
    /// Places jobs may hold at once.
    job_places: usize,
    /// Places jobs hold.
    jobs_in_use: usize,
    /// How long a chat waits behind jobs before it preempts one (`None`: never).
    preempt_after: Option<Duration>,
    /// Chat requests that preempted a job (for logs and tests).
    preemptions: u64,
    next_id: u64,
    chat: VecDeque<Waiter>,
    job: VecDeque<Waiter>,
    /// The jobs holding a place, oldest first.
    holders: Vec<Holder>,
}

struct Waiter {
    id: u64,
    wake: oneshot::Sender<()>,
    /// The token its permit will watch.
    preempt: CancellationToken,
}

/// A job holding a place, which a waiting chat may preempt.
struct Holder {
    id: u64,
    since: Instant,
    preempt: CancellationToken,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (chat, job) = self.waiting();
        f.debug_struct("Gate")
            .field("in_use", &self.in_use())
            .field("waiting_chat", &chat)
            .field("waiting_job", &job)
            .finish()
    }
}

fn lock(inner: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state stays consistent even if a holder panicked: every change is one statement.
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    /// Takes a place for `id` at `priority` (the caller checked there is one).
    fn take(&mut self, id: u64, priority: Priority, preempt: &CancellationToken) {
        self.in_use += 1;
        if priority == Priority::Job {
            self.jobs_in_use += 1;
            self.holders.push(Holder {
                id,
                since: Instant::now(),
                preempt: preempt.clone(),
            });
        }
    }

    /// Whether a request at `priority` may take a free place now.
    fn can_take(&self, priority: Priority) -> bool {
        self.free > 0 && (priority == Priority::Chat || self.jobs_in_use < self.job_places)
    }

    /// Fires the preemption token of the youngest job holding a place that was not preempted
    /// yet; false when there is none.
    fn preempt_youngest(&mut self) -> bool {
        let Some(holder) = self
            .holders
            .iter()
            .filter(|h| !h.preempt.is_cancelled())
            .max_by_key(|h| h.since)
        else {
            return false;
        };
        holder.preempt.cancel();
        self.preemptions += 1;
        true
    }
}

impl Gate {
    /// A gate letting `n` requests through at once (at least one).
    pub fn new(n: usize) -> Gate {
        let n = n.max(1);
        Gate {
            inner: Arc::new(Mutex::new(State {
                free: n,
                in_use: 0,
                job_places: n,
                jobs_in_use: 0,
                preempt_after: None,
                preemptions: 0,
                next_id: 0,
                chat: VecDeque::new(),
                job: VecDeque::new(),
                holders: Vec::new(),
            })),
        }
    }

    /// The same gate with `k` of its places kept for chat requests (jobs hold at most
    /// `n - k`, and at least one).
    pub fn keep_for_chat(self, k: usize) -> Gate {
        {
            let mut state = lock(&self.inner);
            let n = state.free + state.in_use;
            state.job_places = n.saturating_sub(k).max(1);
        }
        self
    }

    /// The same gate where a chat that has waited `after` behind jobs preempts one (`None`
    /// or zero: never).
    pub fn preempt_after(self, after: Option<Duration>) -> Gate {
        lock(&self.inner).preempt_after = after.filter(|d| !d.is_zero());
        self
    }

    /// Waits for a place. Dropping the future while it waits gives up the place in line.
    pub async fn acquire(&self, priority: Priority) -> Permit {
        let preempt = CancellationToken::new();
        let permit = |id| Permit {
            inner: self.inner.clone(),
            id,
            priority,
            preempt: preempt.clone(),
        };
        loop {
            let (id, rx, preempt_after) = {
                let mut state = lock(&self.inner);
                let id = state.next_id;
                state.next_id += 1;
                if state.can_take(priority) {
                    state.free -= 1;
                    state.take(id, priority, &preempt);
                    return permit(id);
                }
                let (tx, rx) = oneshot::channel();
                let queue = match priority {
                    Priority::Chat => &mut state.chat,
                    Priority::Job => &mut state.job,
                };
                queue.push_back(Waiter {
                    id,
                    wake: tx,
                    preempt: preempt.clone(),
                });
                let after = match priority {
                    Priority::Chat => state.preempt_after,
                    Priority::Job => None,
                };
                (id, rx, after)
            };
            let mut ticket = Ticket {
                inner: &self.inner,
                id,
                priority,
                rx,
                done: false,
            };
            let granted = match preempt_after {
                None => (&mut ticket.rx).await.is_ok(),
                Some(after) => loop {
                    tokio::select! {
                        got = &mut ticket.rx => break got.is_ok(),
                        _ = tokio::time::sleep(after) => {
                            let mut state = lock(&self.inner);
                            if state.preempt_youngest() {
                                tracing::info!(
                                    waited_ms = after.as_millis() as u64,
                                    "a chat request waited behind a job's; the job's request \
                                     makes way"
                                );
                            }
                        }
                    }
                },
            };
            ticket.done = true;
            if granted {
                // The releaser handed its place over and counted us in.
                return permit(id);
            }
            // Our sender vanished without a place (cannot happen while we hold the gate):
            // queue again rather than lose our turn silently.
        }
    }

    /// Permits currently held.
    pub fn in_use(&self) -> usize {
        lock(&self.inner).in_use
    }

    /// Requests waiting for a place: `(chat, job)`.
    pub fn waiting(&self) -> (usize, usize) {
        let state = lock(&self.inner);
        let live = |q: &VecDeque<Waiter>| q.iter().filter(|w| !w.wake.is_closed()).count();
        (live(&state.chat), live(&state.job))
    }

    /// How many times a waiting chat preempted a job.
    pub fn preemptions(&self) -> u64 {
        lock(&self.inner).preemptions
    }
}

/// A place in line; on drop (cancellation) it leaves the line or passes on a place it got.
struct Ticket<'a> {
    inner: &'a Mutex<State>,
    id: u64,
    priority: Priority,
    rx: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // After close(), no place can be handed to us any more; one handed before is in rx.
        self.rx.close();
        if self.rx.try_recv().is_ok() {
            release(self.inner, self.id, self.priority);
        } else {
            let mut state = lock(self.inner);
            let id = self.id;
            state.chat.retain(|w| w.id != id);
            state.job.retain(|w| w.id != id);
        }
    }
}

/// Gives back the place `id` held at `priority`: to the first live chat waiter, else the
/// first live job waiter when jobs may take one more place, else back to the pool.
fn release(inner: &Mutex<State>, id: u64, priority: Priority) {
    let mut state = lock(inner);
    state.in_use -= 1;
    if priority == Priority::Job {
        state.jobs_in_use -= 1;
        state.holders.retain(|h| h.id != id);
    }
    loop {
        let next = match state.chat.pop_front() {
            Some(w) => Some((w, Priority::Chat)),
            None if state.jobs_in_use < state.job_places => {
                state.job.pop_front().map(|w| (w, Priority::Job))
            }
            None => None,
        };
        match next {
            // A closed receiver makes send fail: that waiter gave up, try the next one. The
            // place is counted for the waiter before it is woken.
            Some((waiter, p)) => {
                if waiter.wake.is_closed() {
                    continue;
                }
                let (id, preempt) = (waiter.id, waiter.preempt.clone());
                state.take(id, p, &preempt);
                if waiter.wake.send(()).is_ok() {
                    return;
                }
                state.in_use -= 1;
                if p == Priority::Job {
                    state.jobs_in_use -= 1;
                    state.holders.retain(|h| h.id != id);
                }
            }
            None => {
                state.free += 1;
                return;
            }
        }
    }
}

impl Permit {
    /// Fires when a waiting chat preempts this request (only a job's permit ever fires):
    /// the request should end at once with [`mentor_shared::ApiError::LlmPreempted`].
    pub fn preempted(&self) -> &CancellationToken {
        &self.preempt
    }

    /// Whom the place is for.
    pub fn priority(&self) -> Priority {
        self.priority
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        release(&self.inner, self.id, self.priority);
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use futures::FutureExt;

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn chat_goes_before_earlier_jobs() {
        let gate = Gate::new(1);
        let held = gate.acquire(Priority::Job).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |p: Priority, name: &'static str| {
            let (gate, order) = (gate.clone(), order.clone());
            tokio::spawn(async move {
                let permit = gate.acquire(p).await;
                lock_order(&order).push(name);
                settle().await;
                drop(permit);
            })
        };
        let job1 = spawn(Priority::Job, "job1");
        settle().await;
        let job2 = spawn(Priority::Job, "job2");
        settle().await;
        let chat = spawn(Priority::Chat, "chat");
        settle().await;
        assert_eq!(gate.waiting(), (1, 2));
        assert_eq!(gate.in_use(), 1);
        drop(held);
        for task in [job1, job2, chat] {
            task.await.expect("task");
        }
        assert_eq!(*lock_order(&order), ["chat", "job1", "job2"]);
        assert_eq!(gate.in_use(), 0);
        assert_eq!(gate.waiting(), (0, 0));
    }

    fn lock_order<'a>(m: &'a Mutex<Vec<&'static str>>) -> MutexGuard<'a, Vec<&'static str>> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[tokio::test]
    async fn dropped_waiter_leaves_the_line() {
        let gate = Gate::new(1);
        let held = gate.acquire(Priority::Job).await;
        let mut waiting = Box::pin(gate.acquire(Priority::Chat));
        assert!((&mut waiting).now_or_never().is_none());
        assert_eq!(gate.waiting(), (1, 0));
        drop(waiting);
        assert_eq!(gate.waiting(), (0, 0));
        drop(held);
        assert_eq!(gate.in_use(), 0);
        // The place came back: two acquisitions in a row still work with n = 1.
        let again = gate.acquire(Priority::Job).now_or_never();
        assert!(again.is_some());
    }

    #[tokio::test]
    async fn place_handed_to_a_waiter_that_gives_up_is_passed_on() {
        let gate = Gate::new(1);
        let held = gate.acquire(Priority::Job).await;
        let mut first = Box::pin(gate.acquire(Priority::Chat));
        assert!((&mut first).now_or_never().is_none());
        let mut second = Box::pin(gate.acquire(Priority::Job));
        assert!((&mut second).now_or_never().is_none());
        // The place goes to `first`, which is dropped before it ever looks: `second` gets it.
        drop(held);
        drop(first);
        let permit = (&mut second).now_or_never().expect("place passed on");
        assert_eq!(gate.in_use(), 1);
        drop(permit);
        assert_eq!(gate.in_use(), 0);
        let (a, b) = (
            gate.acquire(Priority::Job).now_or_never(),
            gate.acquire(Priority::Job).now_or_never(),
        );
        assert!(a.is_some() && b.is_none(), "exactly one place, none leaked");
    }

    #[tokio::test]
    async fn n_places_at_once() {
        let gate = Gate::new(2);
        let a = gate.acquire(Priority::Job).await;
        let b = gate.acquire(Priority::Chat).await;
        assert_eq!(gate.in_use(), 2);
        assert!(gate.acquire(Priority::Chat).now_or_never().is_none());
        drop((a, b));
        assert_eq!(gate.in_use(), 0);
    }

    #[tokio::test]
    async fn jobs_leave_the_kept_place_to_the_chat() {
        let gate = Gate::new(2).keep_for_chat(1);
        let job = gate.acquire(Priority::Job).await;
        // A second job waits although a place is free: it is the chat's.
        let mut second = Box::pin(gate.acquire(Priority::Job));
        assert!((&mut second).now_or_never().is_none());
        assert_eq!(gate.waiting(), (0, 1));
        let chat = gate
            .acquire(Priority::Chat)
            .now_or_never()
            .expect("the kept place");
        assert_eq!(gate.in_use(), 2);
        // The chat's place does not go to the waiting job when the chat leaves...
        drop(chat);
        assert!((&mut second).now_or_never().is_none());
        assert_eq!(gate.in_use(), 1);
        // ...the first job's does.
        drop(job);
        let second = (&mut second).now_or_never().expect("the job's place");
        assert_eq!(gate.in_use(), 1);
        drop(second);
        assert_eq!(gate.in_use(), 0);
        assert_eq!(gate.waiting(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_chat_that_waits_too_long_preempts_the_youngest_job() {
        let gate = Gate::new(2).preempt_after(Some(Duration::from_millis(300)));
        let old = gate.acquire(Priority::Job).await;
        tokio::time::advance(Duration::from_millis(10)).await;
        let young = gate.acquire(Priority::Job).await;
        let asked = tokio::time::Instant::now();
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.acquire(Priority::Chat).await })
        };
        // The job whose request is told to stop gives its place up, as a stream does.
        let preempted = young.preempted().clone();
        let young_task = tokio::spawn(async move {
            preempted.cancelled().await;
            drop(young);
        });
        young_task.await.expect("the young job was preempted");
        let chat = waiting.await.expect("the chat got the place");
        let waited = asked.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_millis(310),
            "{waited:?}"
        );
        assert!(
            !old.preempted().is_cancelled(),
            "only the youngest makes way"
        );
        assert!(!chat.preempted().is_cancelled());
        assert_eq!(gate.preemptions(), 1);
        drop((old, chat));
        assert_eq!(gate.in_use(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn no_preemption_when_turned_off_or_when_chats_hold_the_places() {
        for after in [None, Some(Duration::ZERO)] {
            let gate = Gate::new(1).preempt_after(after);
            let job = gate.acquire(Priority::Job).await;
            let mut chat = Box::pin(gate.acquire(Priority::Chat));
            assert!((&mut chat).now_or_never().is_none());
            tokio::time::advance(Duration::from_secs(60)).await;
            assert!((&mut chat).now_or_never().is_none());
            assert!(!job.preempted().is_cancelled());
            assert_eq!(gate.preemptions(), 0);
        }
        let gate = Gate::new(1).preempt_after(Some(Duration::from_millis(300)));
        let first = gate.acquire(Priority::Chat).await;
        let mut second = Box::pin(gate.acquire(Priority::Chat));
        assert!((&mut second).now_or_never().is_none());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((&mut second).now_or_never().is_none());
        assert_eq!(gate.preemptions(), 0, "a chat never preempts a chat");
        drop(first);
        assert!((&mut second).now_or_never().is_some());
    }
}
