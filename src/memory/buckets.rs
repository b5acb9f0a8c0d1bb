//! [`Buckets`] in process: governor's keyed rate limiter (GCRA, lock-free
//! per key). Keys whose bucket has filled up again are swept once there
//! are more than [`SWEEP_ABOVE`], so spraying keys cannot grow memory
//! without bound.

use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use crate::config::Rate;
use crate::ports::{Buckets, StateError};

/// Keys kept before full buckets are swept.
pub const SWEEP_ABOVE: usize = 10_000;

/// Token buckets of one node.
#[derive(Debug)]
pub struct MemoryBuckets {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl MemoryBuckets {
    /// Buckets of `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            limiter: RateLimiter::keyed(rate.quota()),
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
