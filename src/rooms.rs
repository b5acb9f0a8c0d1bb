//! Signalling room state, independent of Socket.IO: who is in which
//! `/webrtc` room, the per-room cap, and whether two peers share a room.
//! An emptied room is removed; a peer that leaves everything holds no entry.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::realtime::events::PeerInfo;

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The room has `max` peers already.
    #[error("room is full ({0} peers)")]
    Full(usize),
}

/// Result of a successful join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The other peers in the room (the roster the newcomer gets).
    pub others: Vec<PeerInfo>,
    /// False when the peer was already in the room (nothing to announce).
    pub new: bool,
}

#[derive(Default)]
struct State {
    /// Room -> members in join order.
    rooms: HashMap<String, Vec<PeerInfo>>,
    /// Peer -> rooms it is in.
    peers: HashMap<String, Vec<String>>,
}

/// All signalling rooms of this process.
pub struct Rooms {
    max_peers: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("max_peers", &self.max_peers)
            .finish_non_exhaustive()
    }
}

impl Rooms {
    /// Rooms holding at most `max_peers` each.
    pub fn new(max_peers: usize) -> Self {
        Self {
            max_peers,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-updated in a
        // way that matters more than losing the whole server, so recover it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add `peer` to `room`, atomically checking the cap.
    pub fn join(&self, room: &str, peer: PeerInfo) -> Result<Joined, JoinError> {
        let mut st = self.lock();
        let members = st.rooms.get(room);
        if let Some(m) = members {
            if m.iter().any(|p| p.peer_id == peer.peer_id) {
                let others = m
                    .iter()
                    .filter(|p| p.peer_id != peer.peer_id)
                    .cloned()
                    .collect();
                return Ok(Joined { others, new: false });
            }
            if m.len() >= self.max_peers {
                return Err(JoinError::Full(self.max_peers));
            }
        } else if self.max_peers == 0 {
            return Err(JoinError::Full(0));
        }
        let peer_id = peer.peer_id.clone();
        let members = st.rooms.entry(room.to_owned()).or_default();
        let others = members.clone();
        members.push(peer);
        st.peers.entry(peer_id).or_default().push(room.to_owned());
        Ok(Joined { others, new: true })
    }

    /// Remove `peer_id` from `room`. Returns the peer's info and the
    /// remaining members, or `None` when it was not in the room.
    pub fn leave(&self, room: &str, peer_id: &str) -> Option<(PeerInfo, Vec<PeerInfo>)> {
        let mut st = self.lock();
        let left = Self::remove_member(&mut st, room, peer_id)?;
        if let Some(rs) = st.peers.get_mut(peer_id) {
            rs.retain(|r| r != room);
            if rs.is_empty() {
                st.peers.remove(peer_id);
            }
        }
        Some(left)
    }

    /// Remove `peer_id` from every room. Returns, per room, the peer's
    /// info and the remaining members.
    pub fn leave_all(&self, peer_id: &str) -> Vec<(String, PeerInfo, Vec<PeerInfo>)> {
        let mut st = self.lock();
        let rooms = st.peers.remove(peer_id).unwrap_or_default();
        rooms
            .into_iter()
            .filter_map(|room| {
                let (me, rest) = Self::remove_member(&mut st, &room, peer_id)?;
                Some((room, me, rest))
            })
            .collect()
    }

    fn remove_member(
        st: &mut State,
        room: &str,
        peer_id: &str,
    ) -> Option<(PeerInfo, Vec<PeerInfo>)> {
        let members = st.rooms.get_mut(room)?;
        let idx = members.iter().position(|p| p.peer_id == peer_id)?;
        let me = members.remove(idx);
        let rest = members.clone();
        if members.is_empty() {
            st.rooms.remove(room);
        }
        Some((me, rest))
    }

    /// True when the two peers are in at least one common room.
    pub fn share_room(&self, a: &str, b: &str) -> bool {
        let st = self.lock();
        let Some(rooms) = st.peers.get(a) else {
            return false;
        };
        rooms.iter().any(|r| {
            st.rooms
                .get(r)
                .is_some_and(|m| m.iter().any(|p| p.peer_id == b))
        })
    }

    /// Members of `room` (empty when it does not exist).
    pub fn members(&self, room: &str) -> Vec<PeerInfo> {
        self.lock().rooms.get(room).cloned().unwrap_or_default()
    }

    /// Number of rooms that exist (have at least one member).
    pub fn room_count(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Number of peers in at least one room.
    pub fn peer_count(&self) -> usize {
        self.lock().peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str) -> PeerInfo {
        PeerInfo {
            peer_id: id.into(),
            user_id: format!("u-{id}"),
            username: id.into(),
        }
    }

    #[test]
    fn join_leave_cap_and_cleanup() {
        let rooms = Rooms::new(2);
        assert_eq!(rooms.join("r", peer("a")).unwrap().others, vec![]);
        assert_eq!(rooms.join("r", peer("b")).unwrap().others, vec![peer("a")]);
        assert!(!rooms.join("r", peer("b")).unwrap().new);
        assert_eq!(rooms.join("r", peer("c")), Err(JoinError::Full(2)));
        assert!(rooms.share_room("a", "b"));
        assert!(!rooms.share_room("a", "c"));
        let (me, rest) = rooms.leave("r", "a").unwrap();
        assert_eq!((me, rest), (peer("a"), vec![peer("b")]));
        assert!(!rooms.share_room("a", "b"));
        assert_eq!(rooms.leave_all("b").len(), 1);
        assert_eq!((rooms.room_count(), rooms.peer_count()), (0, 0));
        assert!(rooms.leave("r", "b").is_none());
    }

    #[test]
    fn concurrent_joins_respect_the_cap() {
        let rooms = std::sync::Arc::new(Rooms::new(5));
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let rooms = rooms.clone();
                std::thread::spawn(move || rooms.join("r", peer(&i.to_string())).is_ok())
            })
            .collect();
        let ok = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(false))
            .filter(|joined| *joined)
            .count();
        assert_eq!(ok, 5);
        assert_eq!(rooms.members("r").len(), 5);
    }
}
