//! [`CallState`] in process: live calls and engagements behind one mutex.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{CallState, LiveCall, StateError};
use crate::wire::{CallId, UserId};

#[derive(Debug, Default)]
struct Inner {
    calls: HashMap<CallId, LiveCall>,
    engaged: HashMap<UserId, HashSet<CallId>>,
}

/// Live calls of this process.
#[derive(Debug, Default)]
pub struct MemoryCalls {
    inner: Mutex<Inner>,
}

impl MemoryCalls {
    /// No calls yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[async_trait]
impl CallState for MemoryCalls {
    async fn get(&self, id: &CallId) -> Result<Option<LiveCall>, StateError> {
        Ok(self.with(|i| i.calls.get(id).cloned()))
    }

    async fn put(&self, call: &LiveCall) -> Result<(), StateError> {
        self.with(|i| i.calls.insert(call.id.clone(), call.clone()));
        Ok(())
    }

    async fn remove(&self, id: &CallId) -> Result<(), StateError> {
        self.with(|i| i.calls.remove(id));
        Ok(())
    }

    async fn engage(&self, user: &UserId, call: &CallId) -> Result<(), StateError> {
        self.with(|i| {
            i.engaged
                .entry(user.clone())
                .or_default()
                .insert(call.clone())
        });
        Ok(())
    }

    async fn release(&self, user: &UserId, call: &CallId) -> Result<(), StateError> {
        self.with(|i| {
            if let Some(set) = i.engaged.get_mut(user) {
                set.remove(call);
                if set.is_empty() {
                    i.engaged.remove(user);
                }
            }
        });
        Ok(())
    }

    async fn engaged(&self, user: &UserId) -> Result<Vec<CallId>, StateError> {
        Ok(self.with(|i| {
            i.engaged
                .get(user)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        }))
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn passes_the_calls_suite() {
        crate::ports::conformance::calls(|| std::sync::Arc::new(super::MemoryCalls::new())).await;
    }
}
