//! Event names of both namespaces, in one place.

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
