//! Payloads of namespace `/webrtc` (signalling).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::events;
use super::http::IceServer;
use super::ids::{PeerId, RoomId, UserId};
use super::models::UserRef;

/// Largest SDP accepted for relay, in bytes.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Largest ICE candidate accepted for relay (its strings), in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 2 * 1024;

/// `room:join` / `room:leave` payload (`roomId` is checked by the domain).
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RoomRequest {
    /// Room name.
    pub room_id: String,
    /// `room:join` only: hold the slot for a while when the socket drops,
    /// and answer with a `resumeToken` to take it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub resumable: Option<bool>,
}

/// `room:resume` payload.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResumeRequest {
    /// The token of an earlier resumable join.
    pub resume_token: String,
}

/// A peer in a signalling room.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    /// Socket id of the peer in `/webrtc`.
    pub peer_id: PeerId,
    /// User id.
    pub user_id: UserId,
    /// Display name.
    pub username: String,
}

/// Ack of a successful `room:join`.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RoomJoinOk")]
pub struct RoomJoined {
    /// Always true.
    #[ts(skip)]
    pub success: bool,
    /// The room.
    pub room_id: RoomId,
    /// The caller's peer id (its socket id).
    pub peer_id: PeerId,
    /// The others already in the room.
    pub peers: Vec<PeerInfo>,
    /// ICE servers for this user.
    pub ice_servers: Vec<IceServer>,
    /// Present for a resumable join: give it to `room:resume` after a
    /// reconnect (single use).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub resume_token: Option<String>,
}

/// Ack of a successful `room:resume`.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RoomResumeOk")]
pub struct RoomResumed {
    /// Always true.
    #[ts(skip)]
    pub success: bool,
    /// The room.
    pub room_id: RoomId,
    /// The new socket's peer id.
    pub peer_id: PeerId,
    /// The peer id the slot had before (relays to it reach the new socket).
    pub previous_peer_id: PeerId,
    /// The others in the room.
    pub peers: Vec<PeerInfo>,
    /// ICE servers for this user.
    pub ice_servers: Vec<IceServer>,
    /// A fresh token for the next drop (the old one is used up).
    pub resume_token: String,
}

/// `peer:away` payload: a resumable peer's socket dropped; its slot is held.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerAway {
    /// Room name.
    pub room_id: RoomId,
    /// The peer whose socket dropped.
    pub peer_id: PeerId,
}

/// `peer:resumed` payload: a held slot was taken back by a new socket.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerResumed {
    /// Room name.
    pub room_id: RoomId,
    /// The new peer id.
    pub peer_id: PeerId,
    /// The peer id it replaces.
    pub previous_peer_id: PeerId,
}

/// `peer:joined` payload.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerJoined {
    /// Room name.
    pub room_id: RoomId,
    /// The newcomer.
    #[serde(flatten)]
    pub peer: PeerInfo,
}

/// Why a peer left a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum LeaveReason {
    /// `room:leave`.
    Left,
    /// The socket disconnected.
    Disconnected,
    /// The socket's token expired.
    Expired,
}

/// `peer:left` payload.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerLeft {
    /// Room name.
    pub room_id: RoomId,
    /// Socket id of the peer that left.
    pub peer_id: PeerId,
    /// Its user id.
    pub user_id: UserId,
    /// `left` or `disconnected`.
    pub reason: LeaveReason,
}

/// `{type, sdp}` of offers and answers.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SessionDescription {
    /// `offer` or `answer`.
    #[serde(rename = "type")]
    #[ts(type = "'offer' | 'answer'")]
    pub kind: String,
    /// The SDP text.
    pub sdp: String,
}

/// `offer` / `answer` from a client.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
pub struct SdpIn {
    /// Target peer.
    pub to: String,
    /// The description.
    pub sdp: SessionDescription,
}

/// `offer` / `answer` as the target receives it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RelayedSdp")]
pub struct SdpOut<'a> {
    /// The sender's peer id.
    #[ts(type = "string")]
    pub from: &'a PeerId,
    /// The sender's user.
    #[ts(as = "UserRef")]
    pub from_user: &'a UserRef,
    /// The description, as sent.
    #[ts(as = "SessionDescription")]
    pub sdp: &'a SessionDescription,
}

/// `RTCIceCandidateInit`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The candidate line (empty string marks end of candidates).
    pub candidate: String,
    /// Media stream id.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// Media line index.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    /// ICE ufrag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub username_fragment: Option<String>,
}

impl IceCandidate {
    /// Bytes of its strings (what the 2 KiB cap counts).
    pub fn size(&self) -> usize {
        self.candidate.len()
            + self.sdp_mid.as_deref().map_or(0, str::len)
            + self.username_fragment.as_deref().map_or(0, str::len)
    }
}

/// `ice-candidate` from a client (`candidate: null` ends the candidates).
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
pub struct CandidateIn {
    /// Target peer.
    pub to: String,
    /// The candidate, or null.
    pub candidate: Option<IceCandidate>,
}

/// `ice-candidate` as the target receives it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "RelayedCandidate")]
pub struct CandidateOut<'a> {
    /// The sender's peer id.
    #[ts(type = "string")]
    pub from: &'a PeerId,
    /// The candidate, as sent.
    #[ts(as = "Option<IceCandidate>")]
    pub candidate: &'a Option<IceCandidate>,
}

/// `pong` payload (also the ack of `ping`).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "PongPayload")]
pub struct Pong {
    /// Always "pong".
    #[ts(type = "'pong'")]
    pub message: &'static str,
    /// The ping's payload.
    #[ts(type = "unknown")]
    pub echo: serde_json::Value,
    /// Server clock, unix milliseconds.
    #[ts(type = "number")]
    pub server_time: i64,
}

/// A message the server sends to one peer on `/webrtc`; the domain sends
/// these through the `Publisher` port.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SignalEvent<'a> {
    /// `peer:joined`.
    PeerJoined(&'a PeerJoined),
    /// `peer:left`.
    PeerLeft(&'a PeerLeft),
    /// `peer:away`.
    PeerAway(&'a PeerAway),
    /// `peer:resumed`.
    PeerResumed(&'a PeerResumed),
    /// `offer`.
    Offer(SdpOut<'a>),
    /// `answer`.
    Answer(SdpOut<'a>),
    /// `ice-candidate`.
    IceCandidate(CandidateOut<'a>),
}

impl SignalEvent<'_> {
    /// The event name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            SignalEvent::PeerJoined(_) => events::PEER_JOINED,
            SignalEvent::PeerLeft(_) => events::PEER_LEFT,
            SignalEvent::PeerAway(_) => events::PEER_AWAY,
            SignalEvent::PeerResumed(_) => events::PEER_RESUMED,
            SignalEvent::Offer(_) => events::OFFER,
            SignalEvent::Answer(_) => events::ANSWER,
            SignalEvent::IceCandidate(_) => events::ICE_CANDIDATE,
        }
    }
}
