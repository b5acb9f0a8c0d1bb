//! Event names and payload types of the wire contract, in one place.

use serde::{Deserialize, Serialize};

// Namespace `/`.
/// Client -> server: subscribe to real-time updates (alias [`USER_JOIN`]).
pub const JOIN: &str = "join";
/// Alias of [`JOIN`].
pub const USER_JOIN: &str = "user:join";
/// Server -> client: answer to `join`.
pub const JOINED: &str = "joined";
/// Server -> client: a todo was created.
pub const TODO_CREATED: &str = "todo:created";
/// Server -> client: a todo changed.
pub const TODO_UPDATED: &str = "todo:updated";
/// Server -> client: a todo was deleted.
pub const TODO_DELETED: &str = "todo:deleted";
/// Server -> client: a todo was completed.
pub const TODO_COMPLETED: &str = "todo:completed";
/// Client -> server: join a chat room.
pub const CHAT_JOIN: &str = "chat:join";
/// Client -> server: leave a chat room.
pub const CHAT_LEAVE: &str = "chat:leave";
/// Server -> client: a chat including the user was created.
pub const CHAT_CREATED: &str = "chat:created";
/// Client -> server: send a message.
pub const MESSAGE_SEND: &str = "message:send";
/// Server -> client: a new message.
pub const MESSAGE_NEW: &str = "message:new";
/// Both ways: typing indicator.
pub const TYPING: &str = "typing";
/// Server -> client: a user came online or went offline.
pub const PRESENCE_UPDATE: &str = "presence:update";
/// Server -> client: an event without ack failed.
pub const ERROR: &str = "error";

/// `chat:join` / `chat:leave` payload.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRef {
    /// The chat.
    pub chat_id: String,
}

/// `message:send` payload.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSend {
    /// The chat.
    pub chat_id: String,
    /// Text, 1-4000 characters after trimming.
    pub text: String,
}

/// `typing` payload from a client.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingRequest {
    /// The chat.
    pub chat_id: String,
    /// Started (true) or stopped (false).
    pub is_typing: bool,
}

// Namespace `/webrtc`.
/// Client -> server: liveness check.
pub const PING: &str = "ping";
/// Server -> client: answer to ping.
pub const PONG: &str = "pong";
/// Client -> server: join a signalling room.
pub const ROOM_JOIN: &str = "room:join";
/// Client -> server: leave a signalling room.
pub const ROOM_LEAVE: &str = "room:leave";
/// Server -> client: a peer joined a shared room.
pub const PEER_JOINED: &str = "peer:joined";
/// Server -> client: a peer left a shared room.
pub const PEER_LEFT: &str = "peer:left";
/// Relay: SDP offer.
pub const OFFER: &str = "offer";
/// Relay: SDP answer.
pub const ANSWER: &str = "answer";
/// Relay: trickle ICE candidate.
pub const ICE_CANDIDATE: &str = "ice-candidate";
/// Client -> server: fresh ICE servers.
pub const ICE_SERVERS: &str = "ice-servers";

/// Largest SDP accepted for relay, in bytes.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Largest ICE candidate accepted for relay (serialized), in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 2 * 1024;

/// `room:join` / `room:leave` payload.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomRequest {
    /// Room name.
    pub room_id: String,
}

/// A peer in a signalling room.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    /// Socket id of the peer in `/webrtc`.
    pub peer_id: String,
    /// User id.
    pub user_id: String,
    /// Display name.
    pub username: String,
}

/// `peer:joined` payload.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerJoined<'a> {
    /// Room name.
    pub room_id: &'a str,
    /// The newcomer.
    #[serde(flatten)]
    pub peer: &'a PeerInfo,
}

/// `peer:left` payload.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerLeft<'a> {
    /// Room name.
    pub room_id: &'a str,
    /// Socket id of the peer that left.
    pub peer_id: &'a str,
    /// Its user id.
    pub user_id: &'a str,
    /// `left` or `disconnected`.
    pub reason: &'a str,
}

/// `fromUser` of relayed messages.
#[derive(Debug, Clone, Serialize)]
pub struct FromUser<'a> {
    /// User id.
    pub id: &'a str,
    /// Display name.
    pub username: &'a str,
}
