//! Payloads of call invitations on `/webrtc` (`call:*`) and the call log
//! of `GET /calls`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::events;
use super::http::IceServer;
use super::ids::{CallId, RoomId, UserId};
use super::models::UserRef;

/// Most users one invitation may ring.
pub const MAX_INVITEES: usize = 15;
/// Largest `metadata` accepted, serialized, in bytes.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    /// Audio only.
    Audio,
    /// Audio and video.
    Video,
}

impl CallKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Audio => "audio",
            CallKind::Video => "video",
        }
    }
}

/// `to` of `call:invite`: one user id or a list of them.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(untagged)]
pub enum Invitees {
    /// One user.
    One(UserId),
    /// Several users (1-15).
    Many(Vec<UserId>),
}

impl Invitees {
    /// The ids, as given.
    pub fn into_vec(self) -> Vec<UserId> {
        match self {
            Invitees::One(u) => vec![u],
            Invitees::Many(v) => v,
        }
    }
}

/// `call:invite` from the caller.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
pub struct CallInvite {
    /// Who to ring.
    pub to: Invitees,
    /// Audio or video.
    pub kind: CallKind,
    /// Free-form object handed to the invitees (at most 4 KiB).
    #[serde(default)]
    #[ts(optional, type = "Record<string, unknown>")]
    pub metadata: Option<serde_json::Value>,
}

/// `call:accept`, `call:cancel`, `call:hangup`: which call.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    /// The call.
    pub call_id: CallId,
}

/// Why an invitee refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RejectReason {
    /// The user said no.
    #[default]
    Declined,
    /// The user is in another call.
    Busy,
}

/// `call:reject`.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallReject {
    /// The call.
    pub call_id: CallId,
    /// `declined` (default) or `busy`.
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<RejectReason>,
}

/// Ack of a successful `call:invite`.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "CallInviteOk")]
pub struct InviteOk {
    /// Always true.
    #[ts(skip)]
    pub success: bool,
    /// The new call.
    pub call_id: CallId,
    /// Its signalling room, `call:<callId>`.
    pub room_id: RoomId,
    /// The users being rung.
    pub invited: Vec<UserId>,
    /// Users not rung: in another call.
    pub busy: Vec<UserId>,
    /// Users not rung: no `/webrtc` socket open.
    pub offline: Vec<UserId>,
}

/// Ack of a successful `call:accept`.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "CallAcceptOk")]
pub struct AcceptOk {
    /// Always true.
    #[ts(skip)]
    pub success: bool,
    /// The call.
    pub call_id: CallId,
    /// Its signalling room, to join next.
    pub room_id: RoomId,
    /// ICE servers for this user.
    pub ice_servers: Vec<IceServer>,
}

/// `call:incoming`, on every `/webrtc` socket of an invitee.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallIncoming {
    /// The call.
    pub call_id: CallId,
    /// Its signalling room.
    pub room_id: RoomId,
    /// The caller.
    pub from: UserRef,
    /// Audio or video.
    pub kind: CallKind,
    /// The caller's metadata (null when none).
    #[ts(type = "Record<string, unknown> | null")]
    pub metadata: Option<serde_json::Value>,
    /// When the ringing stops, RFC 3339 UTC.
    pub expires_at: String,
}

/// `call:accepted`, to the caller's sockets.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallAccepted {
    /// The call.
    pub call_id: CallId,
    /// Who accepted.
    pub by: UserRef,
}

/// `call:rejected`, to the caller's sockets.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallRejected {
    /// The call.
    pub call_id: CallId,
    /// Who refused.
    pub by: UserRef,
    /// `declined` or `busy`.
    pub reason: RejectReason,
}

/// Why an invitation stopped ringing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The caller cancelled (or the call ended before this invitee answered).
    Cancelled,
    /// Nobody answered within the ring timeout.
    Timeout,
    /// The caller's last socket disconnected.
    CallerLeft,
}

/// `call:cancelled`, to an invitee's sockets.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallCancelled {
    /// The call.
    pub call_id: CallId,
    /// Why.
    pub reason: CancelReason,
}

/// `call:answered-elsewhere`, to the other sockets of a user who answered.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AnsweredElsewhere {
    /// The call.
    pub call_id: CallId,
}

/// `call:timeout`, to the caller, once per unanswered invitee.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallTimedOut {
    /// The call.
    pub call_id: CallId,
    /// The invitee who did not answer.
    pub user_id: UserId,
}

/// Why a participant left a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    /// `call:hangup`.
    Hangup,
    /// Their last `/webrtc` socket disconnected.
    Disconnected,
}

/// `call:ended`, to the other participants.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CallEnded {
    /// The call.
    pub call_id: CallId,
    /// Who left.
    pub by: UserRef,
    /// `hangup` or `disconnected`.
    pub reason: EndReason,
}

/// A call event the domain sends to users' `/webrtc` sockets.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CallEvent {
    /// `call:incoming`.
    Incoming(CallIncoming),
    /// `call:accepted`.
    Accepted(CallAccepted),
    /// `call:rejected`.
    Rejected(CallRejected),
    /// `call:cancelled`.
    Cancelled(CallCancelled),
    /// `call:answered-elsewhere`.
    AnsweredElsewhere(AnsweredElsewhere),
    /// `call:timeout`.
    Timeout(CallTimedOut),
    /// `call:ended`.
    Ended(CallEnded),
}

impl CallEvent {
    /// The event name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            CallEvent::Incoming(_) => events::CALL_INCOMING,
            CallEvent::Accepted(_) => events::CALL_ACCEPTED,
            CallEvent::Rejected(_) => events::CALL_REJECTED,
            CallEvent::Cancelled(_) => events::CALL_CANCELLED,
            CallEvent::AnsweredElsewhere(_) => events::CALL_ANSWERED_ELSEWHERE,
            CallEvent::Timeout(_) => events::CALL_TIMEOUT,
            CallEvent::Ended(_) => events::CALL_ENDED,
        }
    }
}

/// How a call (or one invitee's part in it) turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum CallOutcome {
    /// Someone accepted.
    Answered,
    /// Nobody answered (timeout, offline), or still ringing.
    Missed,
    /// Refused.
    Declined,
    /// The caller cancelled before anyone answered.
    Cancelled,
    /// In another call.
    Busy,
}

impl CallOutcome {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Missed => "missed",
            CallOutcome::Declined => "declined",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Busy => "busy",
        }
    }

    /// From the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "answered" => CallOutcome::Answered,
            "missed" => CallOutcome::Missed,
            "declined" => CallOutcome::Declined,
            "cancelled" => CallOutcome::Cancelled,
            "busy" => CallOutcome::Busy,
            _ => return None,
        })
    }
}

/// One invitee in the call log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LoggedInvitee {
    /// User id.
    pub id: UserId,
    /// Display name.
    pub username: String,
    /// Their part: answered, missed, declined, cancelled or busy.
    pub outcome: CallOutcome,
}

/// An entry of `GET /calls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "CallLogEntry")]
pub struct CallRecord {
    /// The call.
    pub id: CallId,
    /// Audio or video.
    pub kind: CallKind,
    /// Who called.
    pub caller: UserRef,
    /// Who was invited, with their outcome.
    pub invitees: Vec<LoggedInvitee>,
    /// When the invitation went out, RFC 3339 UTC.
    pub started_at: String,
    /// When the first invitee accepted.
    pub answered_at: Option<String>,
    /// When the call ended (null while it lasts).
    pub ended_at: Option<String>,
    /// From answer to end, in milliseconds.
    #[ts(type = "number | null")]
    pub duration_ms: Option<i64>,
    /// The call's outcome.
    pub outcome: CallOutcome,
}
