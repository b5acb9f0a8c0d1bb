//! Async mutexes by key (a chat, a user): work on one key is serialized,
//! different keys run in parallel. An entry lives only while someone holds
//! or waits for it, so untrusted keys cannot grow the map.

use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A family of async mutexes, one per key.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    map: DashMap<String, Arc<Mutex<()>>>,
}

/// Holds the lock of one key; released on drop.
pub struct KeyedGuard<'a> {
    guard: Option<OwnedMutexGuard<()>>,
    locks: &'a KeyedLocks,
    key: String,
}

impl KeyedLocks {
    /// No locks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wait for the lock of `key`.
    pub async fn lock(&self, key: &str) -> KeyedGuard<'_> {
        let mutex = self.map.entry(key.to_owned()).or_default().value().clone();
        let guard = mutex.lock_owned().await;
        KeyedGuard {
            guard: Some(guard),
            locks: self,
            key: key.to_owned(),
        }
    }

    /// Keys currently held or awaited (for tests and metrics).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is held or awaited.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Drop for KeyedGuard<'_> {
    fn drop(&mut self) {
        // Release first, then forget the entry unless someone else holds a
        // clone (a holder or a waiter); the shard lock makes the check exact.
        drop(self.guard.take());
        self.locks
            .map
            .remove_if(&self.key, |_, m| Arc::strong_count(m) == 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serializes_one_key_and_forgets_idle_keys() {
        let locks = Arc::new(KeyedLocks::new());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = locks.lock("a").await;
        let (l2, o2) = (locks.clone(), order.clone());
        let waiter = tokio::spawn(async move {
            let _g = l2.lock("a").await;
            o2.lock().map(|mut v| v.push(2)).ok();
        });
        // Another key is not blocked.
        drop(locks.lock("b").await);
        tokio::task::yield_now().await;
        order.lock().map(|mut v| v.push(1)).ok();
        drop(g);
        waiter.await.ok();
        assert_eq!(*order.lock().unwrap(), vec![1, 2]);
        assert!(locks.is_empty());
    }
}
