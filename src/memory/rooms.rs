//! [`RoomState`] in process: rooms and each peer's rooms behind one mutex,
//! so the cap check and the insert are one step and cleanup is exact.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{JoinError, Joined, Left, RoomState, StateError};
use crate::wire::webrtc::PeerInfo;
use crate::wire::{PeerId, RoomId};

#[derive(Default)]
struct State {
    /// Room -> members in join order.
    rooms: HashMap<RoomId, Vec<PeerInfo>>,
    /// Peer -> rooms it is in.
    peers: HashMap<PeerId, Vec<RoomId>>,
}

/// All signalling rooms of this process.
#[derive(Default)]
pub struct MemoryRooms {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRooms").finish_non_exhaustive()
    }
}

impl MemoryRooms {
    /// No rooms yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update below completes before it can panic-free return; a
        // poisoned lock still holds consistent maps, so recover it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remove_member(st: &mut State, room: &RoomId, peer: &PeerId) -> Option<Left> {
        let members = st.rooms.get_mut(room)?;
        let idx = members.iter().position(|p| &p.peer_id == peer)?;
        let me = members.remove(idx);
        let rest = members.clone();
        if members.is_empty() {
            st.rooms.remove(room);
        }
        Some(Left {
            room: room.clone(),
            peer: me,
            rest,
        })
    }
}

#[async_trait]
impl RoomState for MemoryRooms {
    async fn join(&self, room: &RoomId, peer: PeerInfo, cap: usize) -> Result<Joined, JoinError> {
        let mut st = self.lock();
        if let Some(m) = st.rooms.get(room) {
            if m.iter().any(|p| p.peer_id == peer.peer_id) {
                let others = m
                    .iter()
                    .filter(|p| p.peer_id != peer.peer_id)
                    .cloned()
                    .collect();
                return Ok(Joined { others, new: false });
            }
            if m.len() >= cap {
                return Err(JoinError::Full(cap));
            }
        } else if cap == 0 {
            return Err(JoinError::Full(0));
        }
        let peer_id = peer.peer_id.clone();
        let members = st.rooms.entry(room.clone()).or_default();
        let others = members.clone();
        members.push(peer);
        st.peers.entry(peer_id).or_default().push(room.clone());
        Ok(Joined { others, new: true })
    }

    async fn leave(&self, room: &RoomId, peer: &PeerId) -> Result<Option<Left>, StateError> {
        let mut st = self.lock();
        let Some(left) = Self::remove_member(&mut st, room, peer) else {
            return Ok(None);
        };
        if let Some(rs) = st.peers.get_mut(peer) {
            rs.retain(|r| r != room);
            if rs.is_empty() {
                st.peers.remove(peer);
            }
        }
        Ok(Some(left))
    }

    async fn leave_all(&self, peer: &PeerId) -> Result<Vec<Left>, StateError> {
        let mut st = self.lock();
        let rooms = st.peers.remove(peer).unwrap_or_default();
        Ok(rooms
            .iter()
            .filter_map(|room| Self::remove_member(&mut st, room, peer))
            .collect())
    }

    async fn share_room(&self, a: &PeerId, b: &PeerId) -> Result<bool, StateError> {
        let st = self.lock();
        let Some(rooms) = st.peers.get(a) else {
            return Ok(false);
        };
        Ok(rooms.iter().any(|r| {
            st.rooms
                .get(r)
                .is_some_and(|m| m.iter().any(|p| &p.peer_id == b))
        }))
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<PeerInfo>, StateError> {
        Ok(self.lock().rooms.get(room).cloned().unwrap_or_default())
    }

    async fn replace(
        &self,
        room: &RoomId,
        old: &PeerId,
        new: PeerInfo,
    ) -> Result<Option<Vec<PeerInfo>>, StateError> {
        let mut st = self.lock();
        let Some(members) = st.rooms.get_mut(room) else {
            return Ok(None);
        };
        let Some(idx) = members.iter().position(|p| &p.peer_id == old) else {
            return Ok(None);
        };
        let new_id = new.peer_id.clone();
        let already = members.iter().any(|p| p.peer_id == new_id);
        if already {
            members.remove(idx);
        } else {
            members[idx] = new;
        }
        let others: Vec<PeerInfo> = members
            .iter()
            .filter(|p| p.peer_id != new_id)
            .cloned()
            .collect();
        if let Some(rs) = st.peers.get_mut(old) {
            rs.retain(|r| r != room);
            if rs.is_empty() {
                st.peers.remove(old);
            }
        }
        if !already {
            st.peers.entry(new_id).or_default().push(room.clone());
        }
        Ok(Some(others))
    }

    async fn room_count(&self) -> Result<usize, StateError> {
        Ok(self.lock().rooms.len())
    }

    async fn rooms_of(&self, peer: &PeerId) -> Result<Vec<RoomId>, StateError> {
        Ok(self.lock().peers.get(peer).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_rooms_suite() {
        crate::ports::conformance::rooms(|| std::sync::Arc::new(super::MemoryRooms::new())).await;
    }
}
