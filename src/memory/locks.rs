//! [`Locks`] in process: one tokio mutex per key. An entry lives only while
//! someone holds or waits for it, so untrusted keys cannot grow the map.

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::ports::{LockGuard, Locks, StateError};

type Map = DashMap<String, Arc<Mutex<()>>>;

/// A family of async mutexes, one per key.
#[derive(Debug, Default, Clone)]
pub struct KeyedLocks {
    map: Arc<Map>,
}

struct Held {
    guard: Option<OwnedMutexGuard<()>>,
    map: Arc<Map>,
    key: String,
}

impl KeyedLocks {
    /// No locks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys currently held or awaited.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is held or awaited.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[async_trait]
impl Locks for KeyedLocks {
    async fn lock(&self, key: &str) -> Result<LockGuard, StateError> {
        let mutex = self.map.entry(key.to_owned()).or_default().value().clone();
        // If this future is dropped while waiting, `mutex` is dropped with
        // it; the last holder's release then forgets the entry.
        let guard = mutex.lock_owned().await;
        Ok(LockGuard::new(Held {
            guard: Some(guard),
            map: self.map.clone(),
            key: key.to_owned(),
        }))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Release first, then forget the entry unless someone else holds a
        // clone (a holder or a waiter); the shard lock makes the check exact.
        drop(self.guard.take());
        self.map
            .remove_if(&self.key, |_, m| Arc::strong_count(m) == 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_locks_suite_and_forgets_idle_keys() {
        let locks = KeyedLocks::new();
        crate::ports::conformance::locks(Arc::new(locks.clone())).await;
        assert!(locks.is_empty());
    }
}
