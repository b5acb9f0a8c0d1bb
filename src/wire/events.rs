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
/// Client -> server: who of my chat contacts is online now.
pub const PRESENCE_LIST: &str = "presence:list";
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
/// Client -> server: take back a held slot after a reconnect.
pub const ROOM_RESUME: &str = "room:resume";
/// Server -> client: a resumable peer dropped; its slot is held.
pub const PEER_AWAY: &str = "peer:away";
/// Server -> client: a held slot was taken back by a new socket.
pub const PEER_RESUMED: &str = "peer:resumed";
/// Relay: SDP offer.
pub const OFFER: &str = "offer";
/// Relay: SDP answer.
pub const ANSWER: &str = "answer";
/// Relay: trickle ICE candidate.
pub const ICE_CANDIDATE: &str = "ice-candidate";
/// Client -> server: fresh ICE servers.
pub const ICE_SERVERS: &str = "ice-servers";

// Namespace `/webrtc`: call invitations.
/// Client -> server: ring one or more users.
pub const CALL_INVITE: &str = "call:invite";
/// Client -> server: accept an invitation.
pub const CALL_ACCEPT: &str = "call:accept";
/// Client -> server: refuse an invitation.
pub const CALL_REJECT: &str = "call:reject";
/// Client -> server: the caller stops ringing.
pub const CALL_CANCEL: &str = "call:cancel";
/// Client -> server: leave a call.
pub const CALL_HANGUP: &str = "call:hangup";
/// Server -> invitee: an invitation rings.
pub const CALL_INCOMING: &str = "call:incoming";
/// Server -> caller: an invitee accepted.
pub const CALL_ACCEPTED: &str = "call:accepted";
/// Server -> caller: an invitee refused.
pub const CALL_REJECTED: &str = "call:rejected";
/// Server -> invitee: the invitation stopped ringing.
pub const CALL_CANCELLED: &str = "call:cancelled";
/// Server -> invitee's other devices: answered on another device.
pub const CALL_ANSWERED_ELSEWHERE: &str = "call:answered-elsewhere";
/// Server -> caller: an invitee did not answer in time.
pub const CALL_TIMEOUT: &str = "call:timeout";
/// Server -> participants: someone left the call.
pub const CALL_ENDED: &str = "call:ended";

// Both namespaces: the session's token.
/// Server -> client: the token expires soon (`{exp}`).
pub const AUTH_EXPIRING: &str = "auth:expiring";
/// Server -> client: the token expired; the socket is disconnected next.
pub const AUTH_EXPIRED: &str = "auth:expired";
/// Client -> server: replace the socket's token (`{token}`).
pub const AUTH_REFRESH: &str = "auth:refresh";
