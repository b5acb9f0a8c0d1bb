//! [`Buckets`] in process: governor's keyed rate limiter (GCRA, lock-free
//! per key). Keys whose bucket has filled up again are swept once there
//! are more than [`SWEEP_ABOVE`], so spraying keys cannot grow memory
//! without bound.

use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ports::{BucketRate, Buckets, StateError};

/// Keys kept before full buckets are swept.
pub const SWEEP_ABOVE: usize = 10_000;

/// Token buckets of one node.
#[derive(Debug)]
pub struct MemoryBuckets {
    limiter: DefaultKeyedRateLimiter<String>,
}

/// The governor quota of `rate` (also the per-socket event limit's).
pub fn quota(rate: BucketRate) -> Quota {
    let one = std::num::NonZeroU32::MIN;
    Quota::with_period(rate.interval)
        .unwrap_or_else(|| Quota::per_second(one))
        .allow_burst(std::num::NonZeroU32::new(rate.burst).unwrap_or(one))
}

impl MemoryBuckets {
    /// Buckets of `rate`.
    pub fn new(rate: BucketRate) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota(rate)),
        }
    }
}

#[async_trait]
impl Buckets for MemoryBuckets {
    async fn take(&self, key: &str) -> Result<Option<Duration>, StateError> {
        if self.limiter.len() > SWEEP_ABOVE {
            self.limiter.retain_recent();
        }
        let now = DefaultClock::default().now();
        Ok(match self.limiter.check_key(&key.to_owned()) {
            Ok(()) => None,
            Err(not_until) => Some(not_until.wait_time_from(now)),
        })
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conformance() {
        crate::ports::conformance::buckets(|rate| {
            std::sync::Arc::new(super::MemoryBuckets::new(rate))
        })
        .await;
    }
}
