//! Calls in progress, and who is engaged in one. The rules live in
//! [`crate::domain::calls`]; this port only stores: a call's record by id,
//! and per user the set of calls that make them *busy* (their own outgoing
//! call while it rings, an accepted call while it lasts). The domain changes
//! a call under the lock `call:<id>` ([`super::Locks`]), so a plain get/put
//! is enough here.
//!
//! The call log (`GET /calls`) is in the database: [`CallLog`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{StateError, StoreError};
use crate::wire::calls::{CallKind, CallRecord};
use crate::wire::{CallId, RoomId, UserId, UserRef};

/// Where one invitee stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InviteeState {
    /// Their devices are ringing.
    Ringing,
    /// Accepted; in the call until they hang up.
    Joined,
    /// Accepted, then hung up (or their last socket dropped).
    Left,
    /// Refused with `declined`.
    Declined,
    /// Busy when invited, or refused with `busy`.
    Busy,
    /// No socket when invited, or no answer before the timeout.
    Missed,
    /// The call stopped ringing before they answered.
    Cancelled,
}

/// One invitee of a live call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveInvitee {
    /// The user.
    pub user: UserRef,
    /// Their state.
    pub state: InviteeState,
}

/// A call that has not ended yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCall {
    /// The call.
    pub id: CallId,
    /// `call:<id>`.
    pub room: RoomId,
    /// Audio or video.
    pub kind: CallKind,
    /// The caller.
    pub caller: UserRef,
    /// True while the caller is in the call (false once they hung up).
    pub caller_present: bool,
    /// Everyone invited, in the order given.
    pub invitees: Vec<LiveInvitee>,
    /// RFC 3339.
    pub started_at: String,
    /// When the first invitee accepted.
    pub answered_at: Option<String>,
    /// True once the caller cancelled (or left while ringing).
    pub cancelled: bool,
}

/// Live calls and engagements.
#[async_trait]
pub trait CallState: Send + Sync + std::fmt::Debug {
    /// The call, if it has not ended.
    async fn get(&self, id: &CallId) -> Result<Option<LiveCall>, StateError>;
    /// Store (create or replace) a call.
    async fn put(&self, call: &LiveCall) -> Result<(), StateError>;
    /// Forget an ended call.
    async fn remove(&self, id: &CallId) -> Result<(), StateError>;
    /// Record that `user` is engaged in `call` (idempotent).
    async fn engage(&self, user: &UserId, call: &CallId) -> Result<(), StateError>;
    /// Forget that engagement (no-op when absent).
    async fn release(&self, user: &UserId, call: &CallId) -> Result<(), StateError>;
    /// The calls `user` is engaged in (busy when not empty).
    async fn engaged(&self, user: &UserId) -> Result<Vec<CallId>, StateError>;
}

/// The call log, in the database.
#[async_trait]
pub trait CallLog: Send + Sync + std::fmt::Debug {
    /// Create or overwrite the entry of `call.id` (invitees included).
    async fn save_call(&self, call: &CallRecord) -> Result<(), StoreError>;
    /// Up to `limit` calls `user` took part in (caller or invitee), most
    /// recent first, started before the call `before` when given
    /// (`NotFound` when `before` is not one of theirs).
    async fn calls_of(
        &self,
        user: &UserId,
        limit: i64,
        before: Option<&CallId>,
    ) -> Result<Vec<CallRecord>, StoreError>;
}
