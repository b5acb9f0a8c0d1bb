//! Per-socket event order. socketioxide spawns one task per event, so two
//! events of one socket could run out of order; each handler instead takes
//! a [`Ticket`] (synchronously, in arrival order, while socketioxide reads
//! the packet) and waits for its [`Turn`].
//!
//! Turn 0 belongs to the connection itself: events wait until the socket is
//! connected ([`Sequencer::open`]). socketioxide sends the CONNECT packet
//! before it marks the socket connected, so a fast client's first event
//! could otherwise run while every `emit` to that socket still fails.
//!
//! Nothing can wedge a socket: a [`Turn`] releases on drop (also when its
//! handler panics), and a [`Ticket`] dropped before its turn (a future
//! dropped while waiting) is skipped when its turn comes.
//!
//! In the common case (tasks already run in order) waiting costs one
//! uncontended lock and no allocation; a task that runs early parks on a
//! oneshot that only its predecessor's finish fires.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

/// The event order of one socket.
#[derive(Debug)]
pub struct Sequencer {
    next: AtomicU64,
    state: std::sync::Mutex<SeqState>,
}

#[derive(Debug, Default)]
struct SeqState {
    /// The number whose turn it is.
    serving: u64,
    /// Tickets waiting for their turn.
    parked: HashMap<u64, oneshot::Sender<()>>,
    /// Tickets given up before their turn came.
    abandoned: BTreeSet<u64>,
}

impl Default for Sequencer {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequencer {
    /// A closed sequencer: events queue until [`Sequencer::open`].
    pub fn new() -> Self {
        Self {
            // Number 0 is the connection's own turn.
            next: AtomicU64::new(1),
            state: std::sync::Mutex::new(SeqState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SeqState> {
        // Every critical section leaves the state consistent; recover a
        // poisoned lock rather than wedge the socket.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The socket is connected: let its events run (idempotent).
    pub fn open(&self) {
        self.release(0);
    }

    /// Take the next place in line.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        Ticket {
            seq: Some(self.clone()),
            n: self.next.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// `n` is done (served) or given up (still waiting): move on.
    fn release(&self, n: u64) {
        let mut st = self.lock();
        if st.serving == n {
            Self::advance(&mut st);
        } else if st.serving < n {
            st.parked.remove(&n);
            st.abandoned.insert(n);
        }
    }

    fn advance(st: &mut SeqState) {
        st.serving += 1;
        while st.abandoned.remove(&st.serving) {
            st.serving += 1;
        }
        let next = st.serving;
        if let Some(tx) = st.parked.remove(&next) {
            // A dropped receiver means that ticket was given up meanwhile;
            // its own drop releases it.
            let _ = tx.send(());
        }
    }
}

/// A place in the socket's event order.
pub struct Ticket {
    seq: Option<Arc<Sequencer>>,
    n: u64,
}

impl Ticket {
    /// A ticket that never waits (for sockets without a sequencer).
    pub fn unordered() -> Self {
        Self { seq: None, n: 0 }
    }

    /// Wait until every earlier event of this socket has been handled. If
    /// this future is dropped before the turn comes, the turn is skipped.
    pub async fn turn(mut self) -> Turn {
        let Some(seq) = self.seq.clone() else {
            return Turn { seq: None, n: 0 };
        };
        let rx = {
            let mut st = seq.lock();
            if st.serving == self.n {
                None
            } else {
                let (tx, rx) = oneshot::channel();
                st.parked.insert(self.n, tx);
                Some(rx)
            }
        };
        if let Some(rx) = rx {
            // The sender lives in `parked` until our predecessor finishes.
            let _ = rx.await;
        }
        // From here on the turn is ours: hand it to the Turn, not to Drop.
        let n = self.n;
        self.seq = None;
        Turn { seq: Some(seq), n }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(seq) = self.seq.take() {
            seq.release(self.n);
        }
    }
}

/// While alive, this socket's later events wait; dropping it (normally or
/// by a panic unwinding) lets the next one run.
pub struct Turn {
    seq: Option<Arc<Sequencer>>,
    n: u64,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(seq) = self.seq.take() {
            seq.release(self.n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn done_within<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(Duration::from_secs(5), f).await.ok()
    }

    #[tokio::test]
    async fn events_wait_until_the_socket_is_open() {
        let seq = Arc::new(Sequencer::new());
        let t = seq.ticket();
        let waiting = tokio::spawn(t.turn());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "no turn before open");
        seq.open();
        assert!(done_within(waiting).await.is_some());
    }

    #[tokio::test]
    async fn turns_come_in_ticket_order() {
        let seq = Arc::new(Sequencer::new());
        seq.open();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tickets: Vec<_> = (0..5).map(|_| seq.ticket()).collect();
        // Spawn in reverse so the later ones run first and must park.
        let mut tasks = Vec::new();
        for (i, t) in tickets.into_iter().enumerate().rev() {
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _turn = t.turn().await;
                tokio::task::yield_now().await;
                order.lock().map(|mut o| o.push(i)).ok();
            }));
        }
        for t in tasks {
            assert!(done_within(t).await.is_some());
        }
        assert_eq!(
            *order.lock().unwrap_or_else(|p| p.into_inner()),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_releases_the_next_event() {
        let seq = Arc::new(Sequencer::new());
        seq.open();
        let first = seq.ticket();
        let second = seq.ticket();
        let panicked = tokio::spawn(async move {
            let _turn = first.turn().await;
            panic!("handler panics");
        })
        .await;
        assert!(panicked.is_err());
        assert!(done_within(second.turn()).await.is_some(), "not wedged");
    }

    #[tokio::test]
    async fn a_future_dropped_before_its_turn_is_skipped() {
        let seq = Arc::new(Sequencer::new());
        seq.open();
        let first = seq.ticket();
        let second = seq.ticket();
        let third = seq.ticket();
        let held = first.turn().await;
        // The second waits, then its future is dropped (e.g. a cancelled task).
        let cancelled = tokio::time::timeout(Duration::from_millis(20), second.turn()).await;
        assert!(cancelled.is_err(), "second had to wait");
        drop(held);
        assert!(done_within(third.turn()).await.is_some(), "third runs");
    }

    #[tokio::test]
    async fn a_ticket_dropped_unused_is_skipped() {
        let seq = Arc::new(Sequencer::new());
        let unused = seq.ticket();
        let next = seq.ticket();
        drop(unused);
        seq.open();
        assert!(done_within(next.turn()).await.is_some());
        // And dropping the one being served releases too.
        let a = seq.ticket();
        let b = seq.ticket();
        drop(a);
        assert!(done_within(b.turn()).await.is_some());
    }
}
