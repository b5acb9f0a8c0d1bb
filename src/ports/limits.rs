//! Token buckets by key, for limits that must hold across every node of a
//! cluster (login and registration attempts per IP and per e-mail): one
//! node's refusals are every node's. A bucket spends one token per call;
//! when it is empty the call is refused with the time until the next token.
//! The per-socket event limit needs no port: a socket lives on one node.

use std::time::Duration;

use async_trait::async_trait;

use super::StateError;

/// How a bucket fills: one token every `interval`, holding at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketRate {
    /// Time between two tokens (at least 1 ns).
    pub interval: Duration,
    /// Tokens a full bucket holds (at least 1).
    pub burst: u32,
}

impl BucketRate {
    /// `count` tokens per `period`, up to `burst` at once.
    pub fn new(count: u32, period: Duration, burst: u32) -> Self {
        Self {
            interval: (period / count.max(1)).max(Duration::from_nanos(1)),
            burst: burst.max(1),
        }
    }
}

/// A family of token buckets, one per key, all with the same rate.
#[async_trait]
pub trait Buckets: Send + Sync + std::fmt::Debug {
    /// Spend a token of `key`'s bucket: `None` when there was one,
    /// `Some(wait)` (nothing spent) when the bucket is empty and the next
    /// token comes after `wait`.
    async fn take(&self, key: &str) -> Result<Option<Duration>, StateError>;
}
