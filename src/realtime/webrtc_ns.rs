//! Namespace `/webrtc`: the signalling gateway. Ping/pong, signalling rooms
//! and the offer/answer/ICE relay, all ruled by [`Signalling`]; call
//! invitations are in [`super::webrtc_calls`]. Every event
//! of one socket is handled in arrival order ([`dispatch::on`]), so messages
//! between one pair arrive in the order sent.

use std::sync::Arc;

use serde::de::IgnoredAny;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::socket::DisconnectReason;

use super::dispatch::{self, Ack, AckThen, AnyValue, Ctx, Dialect, EventError, Payload, success};
use super::session::{self, Refused, peer_id};
use super::webrtc_calls;
use crate::domain::calls::Calls;
use crate::domain::cluster::Cluster;
use crate::domain::signalling::{SdpKind, SignalError, Signalling};
use crate::ports::Member;
use crate::turn::{IceConfig, IceServers};
use crate::wire::events;
use crate::wire::webrtc::{
    CandidateIn, LeaveReason, PeerInfo, Pong, ResumeRequest, RoomJoined, RoomRequest, RoomResumed,
    SdpIn,
};

impl Payload for RoomRequest {}
impl Payload for ResumeRequest {}
impl Payload for SdpIn {}
impl Payload for CandidateIn {}

/// `/webrtc` words a bad payload as `invalid_payload`.
#[derive(Debug, Clone, Copy)]
pub struct WebrtcDialect;

impl Dialect for WebrtcDialect {
    fn invalid(self, detail: String) -> EventError {
        EventError::new("invalid_payload", detail)
    }
}

/// What `/webrtc` handlers need: the signalling rules and ICE servers.
#[derive(Clone, Debug)]
pub struct WebrtcState {
    /// Rooms and relay.
    pub signalling: Signalling,
    /// ICE servers handed out with joins.
    pub ice: Arc<IceConfig>,
    /// Call invitations.
    pub calls: Calls,
    /// This node's sockets in the cluster.
    pub cluster: Cluster,
    /// Cluster mode: each socket joins its own room, so relays from other
    /// nodes reach it.
    pub reach_by_room: bool,
}

fn refused(e: SignalError) -> EventError {
    match e {
        SignalError::Gone => EventError::silent(),
        SignalError::Internal(detail) => {
            tracing::error!(error = %detail, "signalling request failed");
            EventError::new("internal", "try again later")
        }
        e => {
            if matches!(e, SignalError::RoomFull(_) | SignalError::TooManyRooms(_)) {
                crate::telemetry::refused(crate::telemetry::Refusal::Caps);
            }
            EventError::new(e.code(), e.to_string())
        }
    }
}

/// Connect middleware (runs after auth, before the client is told it is
/// connected): join the personal room and register every event handler, so
/// an event the client emits right on `connect` always finds its handler.
pub async fn setup<A: Adapter>(
    s: SocketRef<A>,
    State(st): State<WebrtcState>,
) -> Result<(), Refused> {
    let caller = session::admit(&s)?;
    let me = peer_id(&s);
    if st.reach_by_room {
        s.join(session::peer_room(me.as_str()));
    }
    st.cluster
        .up(&Member::Device {
            peer: me.clone(),
            user: caller.user_ref.clone(),
        })
        .await;
    st.calls.device_connected(&caller.user.id, &me).await;
    dispatch::on(&s, events::PING, WebrtcDialect, on_ping::<A>);
    dispatch::on(&s, events::ROOM_JOIN, WebrtcDialect, on_room_join::<A>);
    dispatch::on(&s, events::ROOM_LEAVE, WebrtcDialect, on_room_leave::<A>);
    dispatch::on(&s, events::ROOM_RESUME, WebrtcDialect, on_room_resume::<A>);
    dispatch::on(&s, events::OFFER, WebrtcDialect, on_offer::<A>);
    dispatch::on(&s, events::ANSWER, WebrtcDialect, on_answer::<A>);
    dispatch::on(
        &s,
        events::ICE_CANDIDATE,
        WebrtcDialect,
        on_ice_candidate::<A>,
    );
    dispatch::on(&s, events::ICE_SERVERS, WebrtcDialect, on_ice_servers::<A>);
    webrtc_calls::register(&s);
    super::expiry::register(&s, WebrtcDialect);
    s.on_disconnect(on_disconnect::<A>);
    Ok(())
}

/// Connect handler (the socket is connected): let its events run.
pub async fn on_connect<A: Adapter>(s: SocketRef<A>) {
    session::opened(&s);
}

async fn on_ping<A: Adapter>(
    ctx: Ctx<A>,
    _: WebrtcState,
    AnyValue(echo): AnyValue,
) -> Result<Ack<Pong>, EventError> {
    let pong = Pong {
        message: "pong",
        echo,
        server_time: chrono::Utc::now().timestamp_millis(),
    };
    ctx.emit(events::PONG, &pong);
    Ok(Ack(pong))
}

fn me<A: Adapter>(ctx: &Ctx<A>) -> PeerInfo {
    PeerInfo {
        peer_id: peer_id(&ctx.socket),
        user_id: ctx.caller.user.id.clone(),
        username: ctx.caller.user.username.clone(),
    }
}

async fn on_room_join<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: RoomRequest,
) -> Result<AckThen<RoomJoined, impl Future<Output = ()> + Send + 'static>, EventError> {
    let me = me(&ctx);
    // The socket may go while the join awaits (the chat check): its
    // disconnect cleanup may already have run, so the domain undoes the
    // join rather than leave a ghost peer behind.
    let socket = ctx.socket.clone();
    let join = st
        .signalling
        .join(me, &req.room_id, req.resumable == Some(true), || {
            !session::is_gone(&socket)
        })
        .await
        .map_err(refused)?;
    let ice = st.ice.for_user(ctx.caller.user.id.as_str());
    let answer = RoomJoined {
        success: true,
        room_id: join.room.clone(),
        peer_id: join.me.peer_id.clone(),
        peers: join.others.clone(),
        ice_servers: ice.ice_servers,
        resume_token: join.resume_token.clone(),
    };
    let signalling = st.signalling;
    Ok(AckThen(answer, async move {
        signalling.announce_join(&join).await;
    }))
}

async fn on_room_resume<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: ResumeRequest,
) -> Result<AckThen<RoomResumed, impl Future<Output = ()> + Send + 'static>, EventError> {
    let socket = ctx.socket.clone();
    let resume = st
        .signalling
        .resume(me(&ctx), &req.resume_token, || !session::is_gone(&socket))
        .await
        .map_err(refused)?;
    let ice = st.ice.for_user(ctx.caller.user.id.as_str());
    let answer = RoomResumed {
        success: true,
        room_id: resume.room.clone(),
        peer_id: resume.me.peer_id.clone(),
        previous_peer_id: resume.previous.clone(),
        peers: resume.others.clone(),
        ice_servers: ice.ice_servers,
        resume_token: resume.resume_token.clone(),
    };
    let signalling = st.signalling;
    Ok(AckThen(answer, async move {
        signalling.announce_resume(&resume).await;
    }))
}

async fn on_room_leave<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: RoomRequest,
) -> Result<Ack<dispatch::Success>, EventError> {
    st.signalling
        .leave(&peer_id(&ctx.socket), &req.room_id)
        .await
        .map_err(refused)?;
    Ok(success())
}

async fn on_offer<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: SdpIn,
) -> Result<Ack<dispatch::Success>, EventError> {
    relay_sdp(ctx, st, req, SdpKind::Offer).await
}

async fn on_answer<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: SdpIn,
) -> Result<Ack<dispatch::Success>, EventError> {
    relay_sdp(ctx, st, req, SdpKind::Answer).await
}

async fn relay_sdp<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: SdpIn,
    kind: SdpKind,
) -> Result<Ack<dispatch::Success>, EventError> {
    st.signalling
        .relay_sdp(&peer_id(&ctx.socket), &ctx.caller.user_ref, kind, req)
        .await
        .map_err(refused)?;
    crate::telemetry::relayed(ctx.received.elapsed());
    Ok(success())
}

async fn on_ice_candidate<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: CandidateIn,
) -> Result<Ack<dispatch::Success>, EventError> {
    st.signalling
        .relay_candidate(&peer_id(&ctx.socket), req)
        .await
        .map_err(refused)?;
    crate::telemetry::relayed(ctx.received.elapsed());
    Ok(success())
}

async fn on_ice_servers<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    _: IgnoredAny,
) -> Result<Ack<IceServers>, EventError> {
    let ice = st.ice.for_user(ctx.caller.user.id.as_str());
    if !ctx.wants_ack() {
        ctx.emit(events::ICE_SERVERS, &ice);
    }
    Ok(Ack(ice))
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    State(st): State<WebrtcState>,
    reason: DisconnectReason,
) {
    // Mark the socket gone before cleaning up (see `session::is_gone`).
    session::departed(&s, &reason);
    let me = peer_id(&s);
    let why = if session::expired(&s) {
        LeaveReason::Expired
    } else {
        LeaveReason::Disconnected
    };
    // A client that closed its socket on purpose left; any other end
    // (transport closed or failed, heartbeat missed) may be a network blip.
    let lost = !matches!(reason, DisconnectReason::ClientNSDisconnect);
    let held = st.signalling.disconnected(&me, why, lost).await;
    let Some(caller) = session::caller(&s) else {
        return;
    };
    let member = Member::Device {
        peer: me.clone(),
        user: caller.user_ref.clone(),
    };
    if !held {
        st.calls.device_disconnected(&caller.user_ref, &me).await;
        st.cluster.down(&member).await;
        return;
    }
    // A held slot keeps the device in its calls until the window ends: a
    // socket that resumes meanwhile connected as another device, so the
    // call goes on.
    let window = st.signalling.resume_window();
    tokio::spawn(async move {
        tokio::time::sleep(window).await;
        st.calls.device_disconnected(&caller.user_ref, &me).await;
        st.cluster.down(&member).await;
    });
}
