//! Async mutexes by key: work on one key (a chat, a user) is serialized,
//! different keys run in parallel. The guard releases on drop, also when
//! the holder panics or its future is dropped.

use async_trait::async_trait;

use super::StateError;

/// Holds one key's lock until dropped.
pub struct LockGuard(#[allow(dead_code)] Box<dyn Send + Sync>);

impl LockGuard {
    /// Wrap whatever releases the lock when dropped.
    pub fn new(inner: impl Send + Sync + 'static) -> Self {
        Self(Box::new(inner))
    }
}

/// A family of locks, one per key.
#[async_trait]
pub trait Locks: Send + Sync + std::fmt::Debug {
    /// Wait for the lock of `key`.
    async fn lock(&self, key: &str) -> Result<LockGuard, StateError>;
}
