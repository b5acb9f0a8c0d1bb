//! [`SlotState`] in process: tokens, each peer's tokens, and aliases with
//! their reverse index, behind one mutex.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{Slot, SlotState, StateError};
use crate::wire::{PeerId, RoomId, UserId};

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    /// Peer -> its tokens.
    tokens: HashMap<PeerId, Vec<String>>,
    /// Old peer id -> the peer it leads to.
    aliases: HashMap<PeerId, PeerId>,
    /// Peer -> the old ids leading to it.
    reverse: HashMap<PeerId, Vec<PeerId>>,
}

impl State {
    fn remove_token(&mut self, token: &str) -> Option<Slot> {
        let slot = self.slots.remove(token)?;
        if let Some(ts) = self.tokens.get_mut(&slot.peer) {
            ts.retain(|t| t != token);
            if ts.is_empty() {
                self.tokens.remove(&slot.peer);
            }
        }
        Some(slot)
    }

    fn token_of(&self, room: &RoomId, peer: &PeerId) -> Option<String> {
        self.tokens
            .get(peer)?
            .iter()
            .find(|t| self.slots.get(*t).is_some_and(|s| &s.room == room))
            .cloned()
    }
}

/// Resume slots of this process.
#[derive(Default)]
pub struct MemorySlots {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemorySlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySlots").finish_non_exhaustive()
    }
}

impl MemorySlots {
    /// No slots yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Each update completes before the guard drops; recover a poisoned
        // lock rather than fail every later call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl SlotState for MemorySlots {
    async fn put(&self, token: &str, slot: Slot) -> Result<(), StateError> {
        let mut st = self.lock();
        if let Some(old) = st.token_of(&slot.room, &slot.peer) {
            st.remove_token(&old);
        }
        st.tokens
            .entry(slot.peer.clone())
            .or_default()
            .push(token.to_owned());
        st.slots.insert(token.to_owned(), slot);
        Ok(())
    }

    async fn peek(&self, token: &str) -> Result<Option<Slot>, StateError> {
        Ok(self.lock().slots.get(token).cloned())
    }

    async fn of_peer(&self, peer: &PeerId) -> Result<Vec<String>, StateError> {
        Ok(self.lock().tokens.get(peer).cloned().unwrap_or_default())
    }

    async fn take(&self, token: &str, user: &UserId) -> Result<Option<Slot>, StateError> {
        let mut st = self.lock();
        if st.slots.get(token).is_none_or(|s| &s.user != user) {
            return Ok(None);
        }
        Ok(st.remove_token(token))
    }

    async fn forget(&self, room: &RoomId, peer: &PeerId) -> Result<bool, StateError> {
        let mut st = self.lock();
        let Some(token) = st.token_of(room, peer) else {
            return Ok(false);
        };
        st.remove_token(&token);
        Ok(true)
    }

    async fn alias(&self, old: &PeerId, new: &PeerId) -> Result<(), StateError> {
        let mut st = self.lock();
        let mut olds = st.reverse.remove(old).unwrap_or_default();
        olds.push(old.clone());
        for o in &olds {
            st.aliases.insert(o.clone(), new.clone());
        }
        st.reverse.entry(new.clone()).or_default().extend(olds);
        Ok(())
    }

    async fn resolve(&self, peer: &PeerId) -> Result<Option<PeerId>, StateError> {
        Ok(self.lock().aliases.get(peer).cloned())
    }

    async fn forget_peer(&self, peer: &PeerId) -> Result<(), StateError> {
        let mut st = self.lock();
        for token in st.tokens.remove(peer).unwrap_or_default() {
            st.slots.remove(&token);
        }
        for old in st.reverse.remove(peer).unwrap_or_default() {
            st.aliases.remove(&old);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn passes_the_slots_suite() {
        crate::ports::conformance::slots(|| std::sync::Arc::new(super::MemorySlots::new())).await;
    }
}
