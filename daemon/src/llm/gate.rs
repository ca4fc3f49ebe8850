//! The gate in front of the model server: at most `n` requests in flight, and when a place
//! frees up, a waiting chat request always goes before a waiting background job, so the
//! learner never waits behind a podcast script. FIFO within each class.
//!
//! Cancellation-safe: a waiter dropped while queued leaves the queue, and a waiter dropped
//! just after being handed a place passes that place on, so no permit is ever lost.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

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
}

struct State {
    free: usize,
    in_use: usize,
    next_id: u64,
    chat: VecDeque<Waiter>,
    job: VecDeque<Waiter>,
}

struct Waiter {
    id: u64,
    wake: oneshot::Sender<()>,
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

impl Gate {
    /// A gate letting `n` requests through at once (at least one).
    pub fn new(n: usize) -> Gate {
        Gate {
            inner: Arc::new(Mutex::new(State {
                free: n.max(1),
                in_use: 0,
                next_id: 0,
                chat: VecDeque::new(),
                job: VecDeque::new(),
            })),
        }
    }

    /// Waits for a place. Dropping the future while it waits gives up the place in line.
    pub async fn acquire(&self, priority: Priority) -> Permit {
        loop {
            let (id, rx) = {
                let mut state = lock(&self.inner);
                if state.free > 0 {
                    state.free -= 1;
                    state.in_use += 1;
                    return Permit {
                        inner: self.inner.clone(),
                    };
                }
                let (tx, rx) = oneshot::channel();
                let id = state.next_id;
                state.next_id += 1;
                let queue = match priority {
                    Priority::Chat => &mut state.chat,
                    Priority::Job => &mut state.job,
                };
                queue.push_back(Waiter { id, wake: tx });
                (id, rx)
            };
            let mut ticket = Ticket {
                inner: &self.inner,
                id,
                rx,
                done: false,
            };
            let granted = (&mut ticket.rx).await.is_ok();
            ticket.done = true;
            if granted {
                // The releaser handed its place over: `in_use` already counts us.
                return Permit {
                    inner: self.inner.clone(),
                };
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
}

/// A place in line; on drop (cancellation) it leaves the line or passes on a place it got.
struct Ticket<'a> {
    inner: &'a Mutex<State>,
    id: u64,
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
            release(self.inner);
        } else {
            let mut state = lock(self.inner);
            let id = self.id;
            state.chat.retain(|w| w.id != id);
            state.job.retain(|w| w.id != id);
        }
    }
}

/// Gives a freed place to the first live chat waiter, else the first live job waiter, else
/// back to the pool.
fn release(inner: &Mutex<State>) {
    let mut state = lock(inner);
    loop {
        let next = match state.chat.pop_front() {
            Some(w) => Some(w),
            None => state.job.pop_front(),
        };
        match next {
            // A closed receiver makes send fail: that waiter gave up, try the next one.
            Some(waiter) => {
                if waiter.wake.send(()).is_ok() {
                    return;
                }
            }
            None => {
                state.free += 1;
                state.in_use -= 1;
                return;
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        release(&self.inner);
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Permit")
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
}
