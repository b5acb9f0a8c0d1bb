//! Warnings an attacker could repeat at will (a flood of relays to a peer
//! that does not read, acks that cannot be delivered) are written at most
//! once per [`WINDOW`] for each kind and socket; the next line after a
//! quiet spell says how many were left out (`suppressed`).

use std::time::{Duration, Instant};

use dashmap::DashMap;

/// At most one line per kind and socket in this window.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Entries kept before stale ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// The kinds of throttled warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A relayed message could not be handed to its target.
    Relay,
    /// An ack could not be sent back.
    Ack,
    /// An `error` event could not be sent back.
    ErrorEvent,
}

static GATE: std::sync::LazyLock<DashMap<(Kind, String), (Instant, u64)>> =
    std::sync::LazyLock::new(DashMap::new);

/// Whether to write this warning now; `Some(n)` with how many of the same
/// kind for this socket were dropped since the last one written.
pub fn admit(kind: Kind, socket: &str) -> Option<u64> {
    let now = Instant::now();
    if GATE.len() > SWEEP_ABOVE {
        GATE.retain(|_, (at, _)| now.duration_since(*at) < WINDOW);
    }
    let mut entry = GATE
        .entry((kind, socket.to_owned()))
        .or_insert((now - WINDOW, 0));
    let (at, dropped) = entry.value_mut();
    if now.duration_since(*at) >= WINDOW {
        let n = *dropped;
        *at = now;
        *dropped = 0;
        Some(n)
    } else {
        *dropped += 1;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_window_then_a_count() {
        let s = "sock-under-test";
        assert_eq!(admit(Kind::Relay, s), Some(0));
        for _ in 0..100 {
            assert_eq!(admit(Kind::Relay, s), None);
        }
        assert_eq!(admit(Kind::Ack, s), Some(0), "another kind is apart");
        assert_eq!(admit(Kind::Relay, "another-socket"), Some(0));
    }
}
