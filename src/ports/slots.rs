//! Resumable room slots: which room slot each resume token stands for, and
//! which old peer ids now lead to a new socket.
//!
//! A resumable `room:join` stores a [`Slot`] under a fresh token. When the
//! socket drops, the domain keeps the peer in the room for the resume window;
//! `room:resume` [takes](SlotState::take) the token (once, and only for its
//! user), swaps the new socket into the room and [aliases](SlotState::alias)
//! the old peer id to the new one, so relays still addressed to the old id
//! arrive. The domain serializes work on one token with the `Locks` port.

use async_trait::async_trait;

use super::StateError;
use crate::wire::{PeerId, RoomId, UserId};

/// A room slot a token can take back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The room.
    pub room: RoomId,
    /// The user the token belongs to.
    pub user: UserId,
    /// The peer holding the slot now.
    pub peer: PeerId,
}

/// Resume tokens and peer aliases.
#[async_trait]
pub trait SlotState: Send + Sync + std::fmt::Debug {
    /// Remember `slot` under `token`, replacing any other token of the same
    /// peer and room.
    async fn put(&self, token: &str, slot: Slot) -> Result<(), StateError>;
    /// The slot of `token`, if it is still there.
    async fn peek(&self, token: &str) -> Result<Option<Slot>, StateError>;
    /// The tokens of `peer`'s slots.
    async fn of_peer(&self, peer: &PeerId) -> Result<Vec<String>, StateError>;
    /// Remove and return the slot of `token` when it belongs to `user`; a
    /// token of another user stays where it is.
    async fn take(&self, token: &str, user: &UserId) -> Result<Option<Slot>, StateError>;
    /// Forget `peer`'s slot in `room`; true when there was one.
    async fn forget(&self, room: &RoomId, peer: &PeerId) -> Result<bool, StateError>;
    /// Relays to `old` (and to every id that already led to `old`) reach
    /// `new` from now on.
    async fn alias(&self, old: &PeerId, new: &PeerId) -> Result<(), StateError>;
    /// Where relays to `peer` go, when it was replaced.
    async fn resolve(&self, peer: &PeerId) -> Result<Option<PeerId>, StateError>;
    /// `peer` is gone for good: forget its slots and the aliases to it.
    async fn forget_peer(&self, peer: &PeerId) -> Result<(), StateError>;
}
