//! [`PresenceState`] in process: a set of socket ids per user behind one
//! mutex. A user's entry is dropped once they are offline and announced so.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{PresenceState, StateError};
use crate::wire::UserId;

#[derive(Debug, Default)]
struct Entry {
    sockets: HashSet<String>,
    announced: bool,
}

/// Per-user socket sets of this process.
#[derive(Debug, Default)]
pub struct MemoryPresence {
    users: Mutex<HashMap<UserId, Entry>>,
}

impl MemoryPresence {
    /// Nobody online yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<UserId, Entry>) -> R) -> R {
        // A panic elsewhere cannot leave the map half-updated: recover it.
        let mut guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[async_trait]
impl PresenceState for MemoryPresence {
    async fn add(&self, user: &UserId, socket: &str) -> Result<(), StateError> {
        self.with(|m| {
            m.entry(user.clone())
                .or_default()
                .sockets
                .insert(socket.to_owned());
        });
        Ok(())
    }

    async fn remove(&self, user: &UserId, socket: &str) -> Result<(), StateError> {
        self.with(|m| {
            if let Some(e) = m.get_mut(user) {
                e.sockets.remove(socket);
            }
        });
        Ok(())
    }

    async fn transition(&self, user: &UserId) -> Result<Option<bool>, StateError> {
        Ok(self.with(|m| {
            let e = m.get_mut(user)?;
            let online = !e.sockets.is_empty();
            let changed = online != e.announced;
            e.announced = online;
            if !online {
                m.remove(user);
            }
            changed.then_some(online)
        }))
    }

    async fn sockets(&self, user: &UserId) -> Result<usize, StateError> {
        Ok(self.with(|m| m.get(user).map_or(0, |e| e.sockets.len())))
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn passes_the_presence_suite() {
        crate::ports::conformance::presence(|| std::sync::Arc::new(super::MemoryPresence::new()))
            .await;
    }
}
