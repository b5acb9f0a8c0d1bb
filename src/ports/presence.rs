//! Presence bookkeeping: the set of `/` sockets of each user, and whether
//! the user was last announced online. Adding and removing are idempotent;
//! [`PresenceState::transition`] compares and records in one step, so the
//! last announcement always matches the final state.

use async_trait::async_trait;

use super::StateError;
use crate::wire::UserId;

/// Per-user socket sets and the last announced state.
#[async_trait]
pub trait PresenceState: Send + Sync + std::fmt::Debug {
    /// Record a socket of `user`.
    async fn add(&self, user: &UserId, socket: &str) -> Result<(), StateError>;
    /// Forget a socket of `user` (no-op when unknown).
    async fn remove(&self, user: &UserId, socket: &str) -> Result<(), StateError>;
    /// If `user`'s state (online = has a socket) differs from the last one
    /// announced, record it as announced and return it.
    async fn transition(&self, user: &UserId) -> Result<Option<bool>, StateError>;
    /// How many sockets of `user` are counted.
    async fn sockets(&self, user: &UserId) -> Result<usize, StateError>;
}
