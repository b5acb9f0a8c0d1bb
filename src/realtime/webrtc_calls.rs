//! Call invitations on `/webrtc` (`call:*`), ruled by [`Calls`]: thin
//! handlers that parse, call the domain, and answer. Registered with the
//! other `/webrtc` events by [`super::webrtc_ns::setup`].

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::dispatch::{self, Ack, AckThen, Ctx, EventError, Payload, success};
use super::session::peer_id;
use super::webrtc_ns::{WebrtcDialect, WebrtcState};
use crate::domain::calls::CallError;
use crate::wire::calls::{AcceptOk, CallInvite, CallReject, CallRequest, InviteOk};
use crate::wire::events;

impl Payload for CallInvite {}
impl Payload for CallRequest {}
impl Payload for CallReject {}

fn refused(e: CallError) -> EventError {
    match e {
        CallError::Internal(detail) => {
            tracing::error!(error = %detail, "call request failed");
            EventError::new("internal", "try again later")
        }
        e => EventError::new(e.code(), e.to_string()),
    }
}

/// Register the `call:*` handlers on a `/webrtc` socket.
pub fn register<A: Adapter>(s: &SocketRef<A>) {
    dispatch::on(s, events::CALL_INVITE, WebrtcDialect, on_invite::<A>);
    dispatch::on(s, events::CALL_ACCEPT, WebrtcDialect, on_accept::<A>);
    dispatch::on(s, events::CALL_REJECT, WebrtcDialect, on_reject::<A>);
    dispatch::on(s, events::CALL_CANCEL, WebrtcDialect, on_cancel::<A>);
    dispatch::on(s, events::CALL_HANGUP, WebrtcDialect, on_hangup::<A>);
}

async fn on_invite<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: CallInvite,
) -> Result<AckThen<InviteOk, impl Future<Output = ()> + Send + 'static>, EventError> {
    let inv = st
        .calls
        .invite(&ctx.caller.user_ref, req)
        .await
        .map_err(refused)?;
    let ok = InviteOk {
        success: true,
        call_id: inv.call.id.clone(),
        room_id: inv.call.room.clone(),
        invited: inv.invited.clone(),
        busy: inv.busy.clone(),
        offline: inv.offline.clone(),
    };
    // The caller learns the call id before any invitee can answer.
    let calls = st.calls;
    Ok(AckThen(ok, async move { calls.ring(&inv).await }))
}

async fn on_accept<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: CallRequest,
) -> Result<Ack<AcceptOk>, EventError> {
    let room_id = st
        .calls
        .accept(&ctx.caller.user_ref, &peer_id(&ctx.socket), &req.call_id)
        .await
        .map_err(refused)?;
    let ice = st.ice.for_user(ctx.caller.user.id.as_str());
    Ok(Ack(AcceptOk {
        success: true,
        call_id: req.call_id,
        room_id,
        ice_servers: ice.ice_servers,
    }))
}

async fn on_reject<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: CallReject,
) -> Result<Ack<dispatch::Success>, EventError> {
    st.calls
        .reject(
            &ctx.caller.user_ref,
            &peer_id(&ctx.socket),
            &req.call_id,
            req.reason.unwrap_or_default(),
        )
        .await
        .map_err(refused)?;
    Ok(success())
}

async fn on_cancel<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: CallRequest,
) -> Result<Ack<dispatch::Success>, EventError> {
    st.calls
        .cancel(&ctx.caller.user_ref, &req.call_id)
        .await
        .map_err(refused)?;
    Ok(success())
}

async fn on_hangup<A: Adapter>(
    ctx: Ctx<A>,
    st: WebrtcState,
    req: CallRequest,
) -> Result<Ack<dispatch::Success>, EventError> {
    st.calls
        .hangup(&ctx.caller.user_ref, &req.call_id)
        .await
        .map_err(refused)?;
    Ok(success())
}
