//! Webhook deliveries: what a receiver gets in each POST.
//!
//! The body is `{id, type, createdAt, data}`: `id` is unique per event (a
//! receiver drops repeats by it; delivery is at least once), `type` one of
//! [`Hook::kind`], `data` the event's fields. Events that share an
//! [`Hook::ordering_key`] (one room, one call's room, one user) are
//! delivered in the order they happened.

use serde::Serialize;

use super::calls::{CallKind, CallRecord};
use super::ids::{CallId, PeerId, RoomId, UserId};
use super::models::UserRef;
use super::webrtc::LeaveReason;

/// A room participant in `participant.*` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The room.
    pub room_id: RoomId,
    /// The participant's peer id (its socket).
    pub peer_id: PeerId,
    /// Its user.
    pub user_id: UserId,
    /// Display name.
    pub username: String,
}

/// Something a backend may want to hear of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Hook {
    /// A signalling room got its first member.
    RoomStarted {
        /// The room.
        #[serde(rename = "roomId")]
        room_id: RoomId,
    },
    /// A signalling room lost its last member.
    RoomFinished {
        /// The room.
        #[serde(rename = "roomId")]
        room_id: RoomId,
    },
    /// A peer joined a room.
    ParticipantJoined(Participant),
    /// A peer left a room (`reason` as in `peer:left`).
    ParticipantLeft {
        /// Who left.
        #[serde(flatten)]
        participant: Participant,
        /// `left`, `disconnected` or `expired`.
        reason: LeaveReason,
    },
    /// An invitation started ringing.
    CallStarted {
        /// The call.
        #[serde(rename = "callId")]
        call_id: CallId,
        /// Its room.
        #[serde(rename = "roomId")]
        room_id: RoomId,
        /// Audio or video.
        kind: CallKind,
        /// Who calls.
        caller: UserRef,
        /// Whose devices ring.
        ringing: Vec<UserId>,
    },
    /// An invitee accepted.
    CallAnswered {
        /// The call.
        #[serde(rename = "callId")]
        call_id: CallId,
        /// Its room.
        #[serde(rename = "roomId")]
        room_id: RoomId,
        /// Who accepted.
        by: UserRef,
    },
    /// A call ended: its log entry (outcome, duration, each invitee's outcome).
    CallEnded(CallRecord),
    /// A user's first socket connected.
    UserOnline {
        /// The user.
        #[serde(rename = "userId")]
        user_id: UserId,
    },
    /// A user's last socket disconnected.
    UserOffline {
        /// The user.
        #[serde(rename = "userId")]
        user_id: UserId,
    },
}

impl Hook {
    /// The `type` a receiver sees.
    pub fn kind(&self) -> &'static str {
        match self {
            Hook::RoomStarted { .. } => "room.started",
            Hook::RoomFinished { .. } => "room.finished",
            Hook::ParticipantJoined(_) => "participant.joined",
            Hook::ParticipantLeft { .. } => "participant.left",
            Hook::CallStarted { .. } => "call.started",
            Hook::CallAnswered { .. } => "call.answered",
            Hook::CallEnded(_) => "call.ended",
            Hook::UserOnline { .. } => "user.online",
            Hook::UserOffline { .. } => "user.offline",
        }
    }

    /// Events with the same key are delivered in order: a room's (a call's
    /// events go with its room `call:<id>`), or a user's presence.
    pub fn ordering_key(&self) -> String {
        match self {
            Hook::RoomStarted { room_id } | Hook::RoomFinished { room_id } => room_id.to_string(),
            Hook::ParticipantJoined(p) | Hook::ParticipantLeft { participant: p, .. } => {
                p.room_id.to_string()
            }
            Hook::CallStarted { room_id, .. } | Hook::CallAnswered { room_id, .. } => {
                room_id.to_string()
            }
            Hook::CallEnded(record) => format!("call:{}", record.id),
            Hook::UserOnline { user_id } | Hook::UserOffline { user_id } => {
                format!("user:{user_id}")
            }
        }
    }
}

/// The body of one delivery.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEnvelope<'a> {
    /// Unique per event (the same on every retry).
    pub id: &'a str,
    /// [`Hook::kind`].
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it happened, RFC 3339 UTC.
    pub created_at: &'a str,
    /// The event's fields.
    pub data: &'a Hook,
}
