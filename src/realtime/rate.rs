//! The per-socket event rate (`RATE_LIMIT_EVENTS`, a token bucket over all
//! events of a socket together, with governor). An event over the limit is
//! not handled: it is answered `rate_limited` with `retryAfterMs`. A socket
//! that stays over the limit for [`OVER_LIMIT_GRACE`] is disconnected.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::Rate;

/// How long a socket may keep sending over its limit before it is cut off.
pub const OVER_LIMIT_GRACE: Duration = Duration::from_secs(10);
/// A second without refusals ends a stretch over the limit (a flooder
/// still gets the odd event through as its bucket refills).
const CALM: Duration = Duration::from_secs(1);

/// The quota every socket gets.
#[derive(Debug, Clone, Copy)]
pub struct EventQuota(Quota);

impl EventQuota {
    /// From the configured rate.
    pub fn new(rate: Rate) -> Self {
        Self(rate.quota())
    }

    /// A fresh bucket for one socket.
    pub fn limiter(&self) -> EventLimit {
        EventLimit {
            bucket: RateLimiter::direct(self.0),
            over_since: Mutex::new(None),
        }
    }
}

/// One socket's bucket.
#[derive(Debug)]
pub struct EventLimit {
    bucket: DefaultDirectRateLimiter,
    /// (start of the stretch over the limit, last refusal).
    over_since: Mutex<Option<(Instant, Instant)>>,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allowed,
    /// Refuse it; a token is back in this many milliseconds.
    Refused {
        /// Milliseconds until the next event would pass.
        retry_after_ms: u64,
        /// The socket has been over the limit for the whole grace period.
        cut_off: bool,
    },
}

impl EventLimit {
    /// Take a token for one event.
    pub fn check(&self) -> Verdict {
        let mut over = self.over_since.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if over.is_some_and(|(_, last)| now.duration_since(last) >= CALM) {
            *over = None;
        }
        match self.bucket.check() {
            Ok(()) => Verdict::Allowed,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let since = over.map_or(now, |(since, _)| since);
                *over = Some((since, now));
                Verdict::Refused {
                    retry_after_ms: (wait.as_micros().div_ceil(1000) as u64).max(1),
                    cut_off: now.duration_since(since) >= OVER_LIMIT_GRACE,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_passes_then_events_are_refused_with_a_wait() {
        let limit = EventQuota::new(Rate::per_second(10, 5)).limiter();
        for _ in 0..5 {
            assert_eq!(limit.check(), Verdict::Allowed);
        }
        match limit.check() {
            Verdict::Refused {
                retry_after_ms,
                cut_off,
            } => {
                assert!((1..=100).contains(&retry_after_ms), "{retry_after_ms}");
                assert!(!cut_off);
            }
            v => panic!("expected a refusal, got {v:?}"),
        }
    }
}
