//! Namespace `/webrtc`: the signalling gateway. Ping/pong, signalling rooms
//! (state in [`crate::rooms`]), and the offer/answer/ICE relay between peers
//! that share a room. Every event of one socket is handled in arrival order
//! ([`Ticket`]), so messages between one pair arrive in the order sent.

use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::socket::{DisconnectReason, Sid};

use super::events::{self, FromUser, PeerInfo, PeerJoined, PeerLeft, RoomRequest};
use super::{EventError, Reply, SocketUser, Ticket, Unauthorized, socket_user};
use crate::app::AppState;
use crate::rooms::JoinError;

/// Connect middleware (runs after auth, before the client is told it is
/// connected): join the personal room and register every event handler, so
/// an event the client emits right on `connect` always finds its handler.
pub async fn setup(s: SocketRef) -> Result<(), Unauthorized> {
    super::admit(&s)?;
    s.on(events::PING, on_ping);
    s.on(events::ROOM_JOIN, on_room_join);
    s.on(events::ROOM_LEAVE, on_room_leave);
    s.on(events::OFFER, on_offer);
    s.on(events::ANSWER, on_answer);
    s.on(events::ICE_CANDIDATE, on_ice_candidate);
    s.on(events::ICE_SERVERS, on_ice_servers);
    s.on_disconnect(on_disconnect);
    Ok(())
}

/// Connect handler: nothing left to do once connected.
pub async fn on_connect() {}

fn invalid(message: impl Into<String>) -> EventError {
    EventError::new("invalid_payload", message)
}

fn parse<T: serde::de::DeserializeOwned>(
    data: Result<Value, impl std::fmt::Display>,
) -> Result<T, EventError> {
    let value = data.map_err(|e| invalid(format!("payload is not JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

async fn on_ping(s: SocketRef, ticket: Ticket, reply: Reply, TryData(data): TryData<Value>) {
    let _turn = ticket.turn().await;
    let pong = json!({
        "message": "pong",
        "echo": data.unwrap_or(Value::Null),
        "serverTime": chrono::Utc::now().timestamp_millis(),
    });
    if let Err(e) = s.emit(events::PONG, &pong) {
        tracing::debug!(socket_id = %s.id, error = %e, "pong not delivered");
    }
    reply.ack(&pong);
}

/// `roomId`: 1-128 characters of `[A-Za-z0-9_.:-]`.
pub fn valid_room_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// Emit to one `/webrtc` socket by peer id; false when it is gone or its
/// buffer is full.
fn emit_to_peer<T: Serialize + ?Sized>(
    io: &SocketIo,
    peer_id: &str,
    event: &str,
    data: &T,
) -> bool {
    let Some(target) = Sid::from_str(peer_id)
        .ok()
        .and_then(|sid| io.of("/webrtc")?.get_socket(sid))
    else {
        return false;
    };
    match target.emit(event, data) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(peer_id, event, error = %e, "signalling message not delivered");
            false
        }
    }
}

async fn on_room_join(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<Value>,
) {
    let _turn = ticket.turn().await;
    let Some(user) = socket_user(&s) else { return };
    let req: RoomRequest = match parse(data) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    if !valid_room_id(&req.room_id) {
        return reply.error(EventError::new(
            "invalid_room",
            "roomId must be 1-128 characters of [A-Za-z0-9_.:-]",
        ));
    }
    if let Some(chat_id) = req.room_id.strip_prefix("chat:") {
        match state.db.is_chat_participant(chat_id, &user.id).await {
            Ok(true) => {}
            Ok(false) => {
                return reply.error(EventError::new(
                    "access_denied",
                    "only the chat's participants may join this room",
                ));
            }
            Err(e) => {
                tracing::error!(error = %e, "chat membership check failed");
                return reply.error(EventError::new("internal", "try again later"));
            }
        }
    }
    let me = PeerInfo {
        peer_id: s.id.to_string(),
        user_id: user.id.clone(),
        username: user.username.clone(),
    };
    let joined = match state.rooms.join(&req.room_id, me.clone()) {
        Ok(j) => j,
        Err(e @ JoinError::Full(_)) => {
            return reply.error(EventError::new("room_full", e.to_string()));
        }
    };
    // The socket may have gone while this handler waited (the chat check):
    // its disconnect handler may already have emptied its rooms, so undo the
    // join here rather than leave a ghost peer behind (nobody was told it
    // joined). See [`super::is_gone`].
    if super::is_gone(&s) {
        state.rooms.leave(&req.room_id, s.id.as_str());
        return;
    }
    let ice = state.ice.for_user(&user.id);
    reply.ack(&json!({
        "success": true,
        "roomId": req.room_id,
        "peerId": me.peer_id,
        "peers": joined.others,
        "iceServers": ice.ice_servers,
    }));
    if joined.new {
        tracing::debug!(room_id = %req.room_id, peer_id = %me.peer_id, "peer joined room");
        let msg = PeerJoined {
            room_id: &req.room_id,
            peer: &me,
        };
        for other in &joined.others {
            emit_to_peer(&io, &other.peer_id, events::PEER_JOINED, &msg);
        }
    }
}

fn announce_left(io: &SocketIo, room_id: &str, me: &PeerInfo, rest: &[PeerInfo], reason: &str) {
    let msg = PeerLeft {
        room_id,
        peer_id: &me.peer_id,
        user_id: &me.user_id,
        reason,
    };
    for other in rest {
        emit_to_peer(io, &other.peer_id, events::PEER_LEFT, &msg);
    }
}

async fn on_room_leave(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<Value>,
) {
    let _turn = ticket.turn().await;
    let req: RoomRequest = match parse(data) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    if let Some((me, rest)) = state.rooms.leave(&req.room_id, s.id.as_str()) {
        announce_left(&io, &req.room_id, &me, &rest, "left");
    }
    reply.success();
}

async fn on_disconnect(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    reason: DisconnectReason,
) {
    // Mark the socket gone before cleaning up (see `super::is_gone`).
    super::departed(&s, &reason);
    for (room_id, me, rest) in state.rooms.leave_all(s.id.as_str()) {
        announce_left(&io, &room_id, &me, &rest, "disconnected");
    }
}

/// `{type, sdp}` of offers and answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionDescription {
    /// `offer` or `answer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The SDP text.
    pub sdp: String,
}

/// `offer` / `answer` from a client.
#[derive(Debug, Deserialize)]
pub struct SdpIn {
    to: String,
    sdp: SessionDescription,
}

/// `offer` / `answer` as the target receives it (borrows, no copy of the SDP).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SdpOut<'a> {
    from: &'a str,
    from_user: FromUser<'a>,
    sdp: &'a SessionDescription,
}

/// `RTCIceCandidateInit`.
#[derive(Debug, Serialize, Deserialize)]
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
    pub username_fragment: Option<String>,
}

/// `ice-candidate` from a client (`candidate: null` ends the candidates).
#[derive(Debug, Deserialize)]
pub struct CandidateIn {
    to: String,
    candidate: Option<IceCandidate>,
}

/// `ice-candidate` as the target receives it.
#[derive(Serialize)]
struct CandidateOut<'a> {
    from: &'a str,
    candidate: &'a Option<IceCandidate>,
}

/// Check `to` and that the two peers share a room.
fn check_route(s: &SocketRef, state: &AppState, to: &str) -> Result<(), EventError> {
    if to.is_empty() || to.len() > 64 {
        return Err(invalid("`to` must be a peer id"));
    }
    if !state.rooms.share_room(s.id.as_str(), to) {
        return Err(EventError::new(
            "peer_not_in_room",
            "you share no room with that peer",
        ));
    }
    Ok(())
}

fn relay_to(
    io: &SocketIo,
    to: &str,
    event: &str,
    payload: &impl Serialize,
) -> Result<(), EventError> {
    if emit_to_peer(io, to, event, payload) {
        Ok(())
    } else {
        Err(EventError::new(
            "peer_unavailable",
            "the peer cannot receive messages right now",
        ))
    }
}

fn answer(reply: Reply, result: Result<(), EventError>) {
    match result {
        Ok(()) => reply.success(),
        Err(e) => reply.error(e),
    }
}

fn relay_sdp(
    s: &SocketRef,
    io: &SocketIo,
    state: &AppState,
    data: Result<SdpIn, impl std::fmt::Display>,
    event: &'static str,
) -> Result<(), EventError> {
    let req = data.map_err(|e| invalid(e.to_string()))?;
    if req.sdp.kind != event {
        return Err(invalid(format!("sdp.type must be \"{event}\"")));
    }
    if req.sdp.sdp.len() > events::MAX_SDP_BYTES {
        return Err(invalid("sdp exceeds 64 KiB"));
    }
    check_route(s, state, &req.to)?;
    let user: Arc<SocketUser> = socket_user(s).ok_or_else(|| invalid("no user"))?;
    let out = SdpOut {
        from: s.id.as_str(),
        from_user: FromUser {
            id: &user.id,
            username: &user.username,
        },
        sdp: &req.sdp,
    };
    relay_to(io, &req.to, event, &out)
}

async fn on_offer(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<SdpIn>,
) {
    let _turn = ticket.turn().await;
    answer(reply, relay_sdp(&s, &io, &state, data, events::OFFER));
}

async fn on_answer(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<SdpIn>,
) {
    let _turn = ticket.turn().await;
    answer(reply, relay_sdp(&s, &io, &state, data, events::ANSWER));
}

fn relay_candidate(
    s: &SocketRef,
    io: &SocketIo,
    state: &AppState,
    data: Result<CandidateIn, impl std::fmt::Display>,
) -> Result<(), EventError> {
    let req = data.map_err(|e| invalid(e.to_string()))?;
    if let Some(c) = &req.candidate {
        let size = c.candidate.len()
            + c.sdp_mid.as_deref().map_or(0, str::len)
            + c.username_fragment.as_deref().map_or(0, str::len);
        if size > events::MAX_CANDIDATE_BYTES {
            return Err(invalid("candidate exceeds 2 KiB"));
        }
    }
    check_route(s, state, &req.to)?;
    let out = CandidateOut {
        from: s.id.as_str(),
        candidate: &req.candidate,
    };
    relay_to(io, &req.to, events::ICE_CANDIDATE, &out)
}

async fn on_ice_candidate(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<CandidateIn>,
) {
    let _turn = ticket.turn().await;
    answer(reply, relay_candidate(&s, &io, &state, data));
}

async fn on_ice_servers(s: SocketRef, State(state): State<AppState>, ticket: Ticket, reply: Reply) {
    let _turn = ticket.turn().await;
    let Some(user) = socket_user(&s) else { return };
    let ice = state.ice.for_user(&user.id);
    if reply.wants_ack() {
        reply.ack(&ice);
    } else if let Err(e) = s.emit(events::ICE_SERVERS, &ice) {
        tracing::debug!(error = %e, "ice-servers not delivered");
    }
}

#[cfg(test)]
mod tests {
    use super::valid_room_id;

    #[test]
    fn room_ids() {
        assert!(valid_room_id("chat:1234-abcd"));
        assert!(valid_room_id("a.b_c"));
        assert!(!valid_room_id(""));
        assert!(!valid_room_id("has space"));
        assert!(!valid_room_id(&"x".repeat(129)));
    }
}
