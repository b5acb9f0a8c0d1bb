//! Call invitations on `/webrtc`, as Agora RTM's local and remote
//! invitations, with multi-device ringing and a call log.
//!
//! A call rings every `/webrtc` socket of each invitee; the first device to
//! answer wins and the user's other devices stop ringing. A user is *busy*
//! while their own outgoing call rings or an accepted call of theirs lasts;
//! busy and offline invitees are not rung. The call's signalling room
//! `call:<id>` admits the caller and the invitees who accepted. The call
//! ends when, once answered, fewer than two participants remain, or when
//! nobody rings any more before anyone answered.
//!
//! Every change to a call happens under the lock `call:<id>`, and its
//! events are published before the lock is released, so each socket sees
//! one call's events in the order they happened. The rules of one call
//! (states, outcomes, when it ends) are in [`rules`]; the log rows are
//! written through [`CallLog`] before a request is acknowledged.

mod rules;

use std::sync::Arc;
use std::time::Duration;

use crate::ports::{
    CallLog, CallState, InviteeState, LiveCall, LiveInvitee, Locks, Notifier, PresenceState,
    Publisher, StateError, StoreError, UserStore,
};
use crate::wire::calls::{
    AnsweredElsewhere, CallAccepted, CallCancelled, CallEnded, CallEvent, CallIncoming, CallInvite,
    CallRecord, CallRejected, CallTimedOut, CancelReason, EndReason, MAX_METADATA_BYTES,
    RejectReason,
};
use crate::wire::webhooks::Hook;
use crate::wire::{CallId, PeerId, RoomId, UserId, UserRef};

pub use rules::record;

/// Default page of `GET /calls`.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page of `GET /calls`.
pub const MAX_PAGE: i64 = 200;

/// Why a call request was refused; [`CallError::code`] is the contract's code.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Bad shape or size.
    #[error("{0}")]
    InvalidPayload(String),
    /// The caller invited themselves.
    #[error("you cannot call yourself")]
    SelfCall,
    /// The caller is in another call or ringing already.
    #[error("you are already in a call")]
    Busy,
    /// Every invitee is busy or offline: nothing rang.
    #[error("nobody can take the call: every invitee is busy or offline")]
    Unavailable,
    /// No such call (ended, or never existed), or no longer ringing.
    #[error("no such call, or it no longer rings")]
    NotFound,
    /// The user is not one of the call's invitees.
    #[error("you are not invited to this call")]
    NotInvited,
    /// The invitation was answered already (by another device).
    #[error("this call was already answered")]
    AlreadyAnswered,
    /// Only the caller may do this.
    #[error("only the caller can cancel the call")]
    NotCaller,
    /// The database or the state backend failed.
    #[error("try again later")]
    Internal(String),
}

impl CallError {
    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        match self {
            CallError::InvalidPayload(_) => "invalid_payload",
            CallError::SelfCall => "self_call",
            CallError::Busy => "busy",
            CallError::Unavailable => "unavailable",
            CallError::NotFound => "call_not_found",
            CallError::NotInvited => "not_invited",
            CallError::AlreadyAnswered => "already_answered",
            CallError::NotCaller => "access_denied",
            CallError::Internal(_) => "internal",
        }
    }
}

impl From<StateError> for CallError {
    fn from(e: StateError) -> Self {
        CallError::Internal(e.to_string())
    }
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        CallError::Internal(e.to_string())
    }
}

/// A new call, stored but not rung yet ([`Calls::ring`] rings it).
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The call.
    pub call: LiveCall,
    /// Metadata for the invitees.
    pub metadata: Option<serde_json::Value>,
    /// Being rung.
    pub invited: Vec<UserId>,
    /// Not rung: busy.
    pub busy: Vec<UserId>,
    /// Not rung: no `/webrtc` socket.
    pub offline: Vec<UserId>,
    /// When the ringing stops.
    pub expires_at: String,
}

/// What the services of calls need.
#[derive(Clone, Debug)]
pub struct CallPorts {
    /// Live calls and engagements.
    pub state: Arc<dyn CallState>,
    /// The `/webrtc` sockets of each user (who is reachable).
    pub devices: Arc<dyn PresenceState>,
    /// The call log.
    pub log: Arc<dyn CallLog>,
    /// User lookup (invitees' names).
    pub users: Arc<dyn UserStore>,
    /// Per-call and per-caller locks.
    pub locks: Arc<dyn Locks>,
    /// Where call events go.
    pub publisher: Arc<dyn Publisher>,
    /// Webhook events (`call.started`, `call.answered`, `call.ended`).
    pub hooks: Arc<dyn Notifier>,
}

/// Call invitations.
#[derive(Clone, Debug)]
pub struct Calls {
    p: CallPorts,
    ring_timeout: Duration,
}

fn call_key(id: &CallId) -> String {
    format!("call:{id}")
}

impl Calls {
    /// Calls over `ports` that ring for `ring_timeout`.
    pub fn new(ports: CallPorts, ring_timeout: Duration) -> Self {
        Self {
            p: ports,
            ring_timeout,
        }
    }

    /// How long an invitation rings.
    pub fn ring_timeout(&self) -> Duration {
        self.ring_timeout
    }

    /// How many `/webrtc` sockets (devices) of `user` are connected.
    pub async fn devices(&self, user: &UserId) -> usize {
        self.p.devices.sockets(user).await.unwrap_or(0)
    }

    /// A `/webrtc` socket of `user` connected (it can be rung now).
    pub async fn device_connected(&self, user: &UserId, device: &PeerId) {
        if let Err(e) = self.p.devices.add(user, device.as_str()).await {
            tracing::warn!(user_id = %user, error = %e, "device not recorded");
        }
    }

    /// A `/webrtc` socket of `user` disconnected. When it was their last:
    /// a call they ring for is cancelled (`caller_left`), a call they are
    /// in counts as hung up (`disconnected`).
    pub async fn device_disconnected(&self, user: &UserRef, device: &PeerId) {
        let devices = &self.p.devices;
        let left = async {
            devices.remove(&user.id, device.as_str()).await?;
            Ok::<_, StateError>(devices.sockets(&user.id).await? == 0)
        };
        match left.await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %e, "device not forgotten");
                return;
            }
        }
        let engaged = match self.p.state.engaged(&user.id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %e, "calls not ended");
                return;
            }
        };
        for id in engaged {
            if let Err(e) = self.leave(user, &id, EndReason::Disconnected).await
                && !matches!(e, CallError::NotFound)
            {
                tracing::warn!(call_id = %id, error = %e, "call not left on disconnect");
            }
        }
    }

    /// Check and store a new call from `caller`; nothing rings until
    /// [`Calls::ring`].
    pub async fn invite(&self, caller: &UserRef, req: CallInvite) -> Result<Invitation, CallError> {
        let ids = rules::invitee_ids(&caller.id, req.to.into_vec())?;
        let metadata = match req.metadata {
            None | Some(serde_json::Value::Null) => None,
            Some(m @ serde_json::Value::Object(_)) => {
                let size = serde_json::to_vec(&m).map_or(usize::MAX, |v| v.len());
                if size > MAX_METADATA_BYTES {
                    return Err(CallError::InvalidPayload("metadata exceeds 4 KiB".into()));
                }
                Some(m)
            }
            Some(_) => {
                return Err(CallError::InvalidPayload(
                    "metadata must be an object".into(),
                ));
            }
        };
        let found = self.p.users.users_by_ids(&ids).await?;
        let mut invitees = Vec::with_capacity(ids.len());
        for id in &ids {
            let Some(u) = found.iter().find(|u| &u.id == id) else {
                let shown: String = id.as_str().chars().take(64).collect();
                return Err(CallError::InvalidPayload(format!("no such user: {shown}")));
            };
            invitees.push(u.as_ref());
        }
        // One invitation of a caller at a time: the busy check and the
        // engagement below must not interleave with another of theirs.
        let _mine = self.p.locks.lock(&format!("caller:{}", caller.id)).await?;
        if !self.p.state.engaged(&caller.id).await?.is_empty() {
            return Err(CallError::Busy);
        }
        let (mut invited, mut busy, mut offline) = (vec![], vec![], vec![]);
        let mut live = Vec::with_capacity(invitees.len());
        for user in invitees {
            let state = if !self.p.state.engaged(&user.id).await?.is_empty() {
                busy.push(user.id.clone());
                InviteeState::Busy
            } else if self.p.devices.sockets(&user.id).await? == 0 {
                offline.push(user.id.clone());
                InviteeState::Missed
            } else {
                invited.push(user.id.clone());
                InviteeState::Ringing
            };
            live.push(LiveInvitee { user, state });
        }
        if invited.is_empty() {
            return Err(CallError::Unavailable);
        }
        let id = CallId::new(uuid::Uuid::new_v4().to_string());
        let call = LiveCall {
            room: RoomId::of_call(&id),
            id,
            kind: req.kind,
            caller: caller.clone(),
            caller_present: true,
            invitees: live,
            started_at: crate::wire::now(),
            answered_at: None,
            cancelled: false,
        };
        self.p.log.save_call(&record(&call, None)).await?;
        self.p.state.put(&call).await?;
        self.p.state.engage(&caller.id, &call.id).await?;
        let expires_at = chrono::Utc::now()
            + chrono::Duration::from_std(self.ring_timeout).unwrap_or(chrono::Duration::MAX);
        tracing::info!(call_id = %call.id, caller = %caller.id, invited = invited.len(), "call invited");
        Ok(Invitation {
            call,
            metadata,
            invited,
            busy,
            offline,
            expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
    }

    /// Ring the invitees of a stored invitation (every device), and start
    /// its timeout.
    pub async fn ring(&self, inv: &Invitation) {
        {
            let _call = match self.p.locks.lock(&call_key(&inv.call.id)).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::warn!(call_id = %inv.call.id, error = %e, "call not rung");
                    return;
                }
            };
            // Only those still ringing: the caller may have gone already.
            let ringing = match self.p.state.get(&inv.call.id).await {
                Ok(Some(call)) => rules::ringing(&call),
                _ => vec![],
            };
            let event = CallEvent::Incoming(CallIncoming {
                call_id: inv.call.id.clone(),
                room_id: inv.call.room.clone(),
                from: inv.call.caller.clone(),
                kind: inv.call.kind,
                metadata: inv.metadata.clone(),
                expires_at: inv.expires_at.clone(),
            });
            self.p.publisher.to_devices(&ringing, None, &event).await;
            if !ringing.is_empty() {
                self.p.hooks.notify(Hook::CallStarted {
                    call_id: inv.call.id.clone(),
                    room_id: inv.call.room.clone(),
                    kind: inv.call.kind,
                    caller: inv.call.caller.clone(),
                    ringing,
                });
            }
        }
        let this = self.clone();
        let id = inv.call.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(this.ring_timeout).await;
            if let Err(e) = this.expire(&id).await {
                tracing::warn!(call_id = %id, error = %e, "call timeout not applied");
            }
        });
    }

    /// `user` accepts on `device`; answers the call's room.
    pub async fn accept(
        &self,
        user: &UserRef,
        device: &PeerId,
        id: &CallId,
    ) -> Result<RoomId, CallError> {
        let _call = self.p.locks.lock(&call_key(id)).await?;
        let mut call = self.p.state.get(id).await?.ok_or(CallError::NotFound)?;
        let i = rules::answerable(&call, &user.id)?;
        call.invitees[i].state = InviteeState::Joined;
        call.answered_at.get_or_insert_with(crate::wire::now);
        self.p.state.engage(&user.id, id).await?;
        self.save(&call).await?;
        let caller = [call.caller.id.clone()];
        let by = CallAccepted {
            call_id: id.clone(),
            by: user.clone(),
        };
        self.p
            .publisher
            .to_devices(&caller, None, &CallEvent::Accepted(by))
            .await;
        self.p.hooks.notify(Hook::CallAnswered {
            call_id: id.clone(),
            room_id: call.room.clone(),
            by: user.clone(),
        });
        self.elsewhere(user, device, id).await;
        Ok(call.room)
    }

    /// `user` refuses on `device`.
    pub async fn reject(
        &self,
        user: &UserRef,
        device: &PeerId,
        id: &CallId,
        reason: RejectReason,
    ) -> Result<(), CallError> {
        let _call = self.p.locks.lock(&call_key(id)).await?;
        let mut call = self.p.state.get(id).await?.ok_or(CallError::NotFound)?;
        let i = rules::answerable(&call, &user.id)?;
        call.invitees[i].state = match reason {
            RejectReason::Declined => InviteeState::Declined,
            RejectReason::Busy => InviteeState::Busy,
        };
        let caller = [call.caller.id.clone()];
        let by = CallRejected {
            call_id: id.clone(),
            by: user.clone(),
            reason,
        };
        self.p
            .publisher
            .to_devices(&caller, None, &CallEvent::Rejected(by))
            .await;
        self.elsewhere(user, device, id).await;
        self.settle(call).await
    }

    /// The caller stops ringing: every invitee still ringing gets
    /// `call:cancelled`.
    pub async fn cancel(&self, user: &UserRef, id: &CallId) -> Result<(), CallError> {
        let _call = self.p.locks.lock(&call_key(id)).await?;
        let call = self.p.state.get(id).await?.ok_or(CallError::NotFound)?;
        if call.caller.id != user.id {
            return Err(if rules::is_invitee(&call, &user.id) {
                CallError::NotCaller
            } else {
                CallError::NotFound
            });
        }
        if rules::ringing(&call).is_empty() {
            return Err(CallError::AlreadyAnswered);
        }
        self.stop_ringing(call, CancelReason::Cancelled).await
    }

    /// `user` leaves the call (`call:hangup`).
    pub async fn hangup(&self, user: &UserRef, id: &CallId) -> Result<(), CallError> {
        self.leave(user, id, EndReason::Hangup).await
    }

    async fn leave(&self, user: &UserRef, id: &CallId, why: EndReason) -> Result<(), CallError> {
        let _call = self.p.locks.lock(&call_key(id)).await?;
        let mut call = self.p.state.get(id).await?.ok_or(CallError::NotFound)?;
        let is_caller = call.caller.id == user.id && call.caller_present;
        if is_caller && call.answered_at.is_none() {
            // Hanging up (or vanishing) before anyone answered cancels.
            let reason = match why {
                EndReason::Hangup => CancelReason::Cancelled,
                EndReason::Disconnected => CancelReason::CallerLeft,
            };
            return self.stop_ringing(call, reason).await;
        }
        if is_caller {
            call.caller_present = false;
        } else {
            let i = call
                .invitees
                .iter()
                .position(|v| v.user.id == user.id && v.state == InviteeState::Joined)
                .ok_or(CallError::NotFound)?;
            call.invitees[i].state = InviteeState::Left;
        }
        self.p.state.release(&user.id, id).await?;
        let others = rules::present(&call);
        let ended = CallEnded {
            call_id: id.clone(),
            by: user.clone(),
            reason: why,
        };
        self.p
            .publisher
            .to_devices(&others, None, &CallEvent::Ended(ended))
            .await;
        self.settle(call).await
    }

    /// The ring timeout passed: every invitee still ringing missed it.
    async fn expire(&self, id: &CallId) -> Result<(), CallError> {
        let _call = self.p.locks.lock(&call_key(id)).await?;
        let Some(mut call) = self.p.state.get(id).await? else {
            return Ok(());
        };
        let caller = [call.caller.id.clone()];
        for v in call
            .invitees
            .iter_mut()
            .filter(|v| v.state == InviteeState::Ringing)
        {
            v.state = InviteeState::Missed;
            let timeout = CallTimedOut {
                call_id: id.clone(),
                user_id: v.user.id.clone(),
            };
            self.p
                .publisher
                .to_devices(&caller, None, &CallEvent::Timeout(timeout))
                .await;
            let cancelled = CallCancelled {
                call_id: id.clone(),
                reason: CancelReason::Timeout,
            };
            self.p
                .publisher
                .to_devices(
                    std::slice::from_ref(&v.user.id),
                    None,
                    &CallEvent::Cancelled(cancelled),
                )
                .await;
        }
        self.settle(call).await
    }

    /// Whether `user` may join the room of call `id`: the caller (until
    /// they hang up) and the invitees who accepted.
    pub async fn may_join(&self, user: &UserId, id: &CallId) -> Result<bool, StateError> {
        Ok(self
            .p
            .state
            .get(id)
            .await?
            .is_some_and(|c| rules::present(&c).contains(user)))
    }

    /// The call log of `user`, most recent first.
    pub async fn history(
        &self,
        user: &UserId,
        limit: i64,
        before: Option<&CallId>,
    ) -> Result<Vec<CallRecord>, CallError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(CallError::InvalidPayload(format!(
                "limit must be an integer from 1 to {MAX_PAGE}"
            )));
        }
        match self.p.log.calls_of(user, limit, before).await {
            Err(StoreError::NotFound) => Err(CallError::InvalidPayload(
                "before must be the id of one of your calls".into(),
            )),
            r => Ok(r?),
        }
    }

    /// Stop ringing everyone still ringing (cancel, caller gone), then end
    /// the call if nobody is in it.
    async fn stop_ringing(
        &self,
        mut call: LiveCall,
        reason: CancelReason,
    ) -> Result<(), CallError> {
        call.cancelled = call.answered_at.is_none();
        self.cancel_ringing(&mut call, reason).await;
        self.settle(call).await
    }

    /// Every invitee still ringing stops (`call:cancelled` with `reason`).
    async fn cancel_ringing(&self, call: &mut LiveCall, reason: CancelReason) {
        let ringing = rules::ringing(call);
        if ringing.is_empty() {
            return;
        }
        for v in call
            .invitees
            .iter_mut()
            .filter(|v| v.state == InviteeState::Ringing)
        {
            v.state = InviteeState::Cancelled;
        }
        let event = CallEvent::Cancelled(CallCancelled {
            call_id: call.id.clone(),
            reason,
        });
        self.p.publisher.to_devices(&ringing, None, &event).await;
    }

    /// Store the call, or end it when its rules say so.
    async fn settle(&self, call: LiveCall) -> Result<(), CallError> {
        if !rules::is_over(&call) {
            return self.save(&call).await;
        }
        let mut call = call;
        self.cancel_ringing(&mut call, CancelReason::Cancelled)
            .await;
        self.p.state.release(&call.caller.id, &call.id).await?;
        for v in &call.invitees {
            self.p.state.release(&v.user.id, &call.id).await?;
        }
        let ended = record(&call, Some(crate::wire::now()));
        self.p.log.save_call(&ended).await?;
        self.p.state.remove(&call.id).await?;
        self.p.hooks.notify(Hook::CallEnded(ended));
        tracing::info!(call_id = %call.id, "call ended");
        Ok(())
    }

    async fn save(&self, call: &LiveCall) -> Result<(), CallError> {
        self.p.log.save_call(&record(call, None)).await?;
        self.p.state.put(call).await?;
        Ok(())
    }

    /// `call:answered-elsewhere` to the user's other devices.
    async fn elsewhere(&self, user: &UserRef, device: &PeerId, id: &CallId) {
        let event = CallEvent::AnsweredElsewhere(AnsweredElsewhere {
            call_id: id.clone(),
        });
        self.p
            .publisher
            .to_devices(std::slice::from_ref(&user.id), Some(device), &event)
            .await;
    }
}
