//! Signalling room membership: who is in which `/webrtc` room, the per-room
//! cap checked atomically with the insert, and whether two peers share a
//! room. An emptied room holds no entry.

use async_trait::async_trait;

use super::StateError;
use crate::wire::webrtc::PeerInfo;
use crate::wire::{PeerId, RoomId};

/// Why a join was refused.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The room has `cap` peers already.
    #[error("room is full ({0} peers)")]
    Full(usize),
    /// The state backend failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Result of a successful join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The other peers in the room (the roster the newcomer gets).
    pub others: Vec<PeerInfo>,
    /// False when the peer was already in the room (nothing to announce).
    pub new: bool,
}

/// A peer removed from a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// The room.
    pub room: RoomId,
    /// The peer that left.
    pub peer: PeerInfo,
    /// Who is still there (to be told).
    pub rest: Vec<PeerInfo>,
}

/// Room membership.
#[async_trait]
pub trait RoomState: Send + Sync + std::fmt::Debug {
    /// Add `peer` to `room` unless it already holds `cap` peers; the check
    /// and the insert are one atomic step. Joining twice is not an error.
    async fn join(&self, room: &RoomId, peer: PeerInfo, cap: usize) -> Result<Joined, JoinError>;
    /// Remove `peer` from `room`; `None` when it was not there.
    async fn leave(&self, room: &RoomId, peer: &PeerId) -> Result<Option<Left>, StateError>;
    /// Remove `peer` from every room it is in.
    async fn leave_all(&self, peer: &PeerId) -> Result<Vec<Left>, StateError>;
    /// True when the two peers are in at least one common room.
    async fn share_room(&self, a: &PeerId, b: &PeerId) -> Result<bool, StateError>;
    /// Members of `room` in join order (empty when it does not exist).
    async fn members(&self, room: &RoomId) -> Result<Vec<PeerInfo>, StateError>;
    /// Put `new` in `old`'s place in `room` (same position, so the cap is
    /// untouched) and return the others; `None` when `old` is not there. When
    /// `new` is a member already, `old` is just removed.
    async fn replace(
        &self,
        room: &RoomId,
        old: &PeerId,
        new: PeerInfo,
    ) -> Result<Option<Vec<PeerInfo>>, StateError>;
    /// Rooms that have at least one member.
    async fn room_count(&self) -> Result<usize, StateError>;
    /// The rooms `peer` is in.
    async fn rooms_of(&self, peer: &PeerId) -> Result<Vec<RoomId>, StateError>;
}
