//! Signalling on `/webrtc`: rooms and the relay between peers.
//!
//! Rules: a room name is 1-128 characters of `[A-Za-z0-9_.:-]`; a room
//! named `chat:<chatId>` admits only that chat's participants; a room holds
//! named `call:<callId>` admits only the call's caller and the invitees who
//! accepted ([`Calls::may_join`]); a room holds
//! at most `max_peers` (checked atomically by the [`RoomState`] port);
//! offers, answers and ICE candidates go only to a peer that shares a room
//! with the sender, and are size-checked. Everyone else in a room hears of
//! joins and leaves (`peer:joined`, `peer:left`).
//!
//! A join may ask to be resumable: its slot then outlives a dropped socket
//! for the resume window, and a new socket of the same user takes it back
//! ([`resume`]).

mod resume;

pub use resume::{ResumeConfig, RoomResume};

use std::sync::Arc;

use super::calls::Calls;

use crate::ports::{
    ChatStore, JoinError, Left, NoHooks, Notifier, Publisher, RoomState, StateError, Undelivered,
};
use crate::wire::ids::InvalidRoomId;
use crate::wire::webhooks::{Hook, Participant};
use crate::wire::webrtc::{
    CandidateIn, CandidateOut, LeaveReason, MAX_CANDIDATE_BYTES, MAX_SDP_BYTES, PeerInfo,
    PeerJoined, PeerLeft, SdpIn, SdpOut, SignalEvent,
};
use crate::wire::{PeerId, RoomId, UserRef};

/// Longest peer id accepted in `to`.
pub const MAX_PEER_ID_LEN: usize = 64;

/// Why a signalling request was refused; [`SignalError::code`] is the
/// contract's error code.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// Bad shape or size.
    #[error("{0}")]
    InvalidPayload(String),
    /// A room name outside the allowed characters or length.
    #[error(transparent)]
    InvalidRoom(#[from] InvalidRoomId),
    /// A `chat:<id>` room and the caller is not a participant.
    #[error("only the chat's participants may join this room")]
    AccessDenied,
    /// The room holds its cap of peers.
    #[error("room is full ({0} peers)")]
    RoomFull(usize),
    /// The socket is in its cap of rooms already.
    #[error("a socket may be in at most {0} rooms")]
    TooManyRooms(usize),
    /// The two peers share no room.
    #[error("you share no room with that peer")]
    PeerNotInRoom,
    /// A used, expired or foreign resume token.
    #[error("that slot cannot be resumed")]
    ResumeFailed,
    /// The target is gone or cannot take more messages now.
    #[error(transparent)]
    PeerUnavailable(#[from] Undelivered),
    /// The caller disconnected while the request ran (nobody is told).
    #[error("the socket disconnected")]
    Gone,
    /// The database or the state backend failed.
    #[error("try again later")]
    Internal(String),
}

impl SignalError {
    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        match self {
            SignalError::InvalidPayload(_) => "invalid_payload",
            SignalError::InvalidRoom(_) => "invalid_room",
            SignalError::AccessDenied => "access_denied",
            SignalError::RoomFull(_) => "room_full",
            SignalError::TooManyRooms(_) => "too_many_rooms",
            SignalError::PeerNotInRoom => "peer_not_in_room",
            SignalError::ResumeFailed => "resume_failed",
            SignalError::PeerUnavailable(_) => "peer_unavailable",
            SignalError::Gone => "gone",
            SignalError::Internal(_) => "internal",
        }
    }
}

impl From<StateError> for SignalError {
    fn from(e: StateError) -> Self {
        SignalError::Internal(e.to_string())
    }
}

/// Which description a relay carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    /// `offer`.
    Offer,
    /// `answer`.
    Answer,
}

impl SdpKind {
    /// The `type` field it must carry (and the event name).
    pub fn as_str(self) -> &'static str {
        match self {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        }
    }
}

/// A successful join, before the others are told.
#[derive(Debug)]
pub struct RoomJoin {
    /// The room.
    pub room: RoomId,
    /// The newcomer.
    pub me: PeerInfo,
    /// The peers already there (the roster).
    pub others: Vec<PeerInfo>,
    /// False when the caller was in the room already.
    pub new: bool,
    /// The resume token of a resumable join.
    pub resume_token: Option<String>,
}

fn participant(room: &RoomId, peer: &PeerInfo) -> Participant {
    Participant {
        room_id: room.clone(),
        peer_id: peer.peer_id.clone(),
        user_id: peer.user_id.clone(),
        username: peer.username.clone(),
    }
}

/// Rooms and relay.
#[derive(Clone, Debug)]
pub struct Signalling {
    rooms: Arc<dyn RoomState>,
    chats: Arc<dyn ChatStore>,
    publisher: Arc<dyn Publisher>,
    max_peers: usize,
    max_rooms: usize,
    calls: Option<Calls>,
    resume: Option<ResumeConfig>,
    hooks: Arc<dyn Notifier>,
}

impl Signalling {
    /// Rooms in `rooms` of at most `max_peers`, chat rooms checked in `chats`.
    pub fn new(
        rooms: Arc<dyn RoomState>,
        chats: Arc<dyn ChatStore>,
        publisher: Arc<dyn Publisher>,
        max_peers: usize,
    ) -> Self {
        Self {
            rooms,
            chats,
            publisher,
            max_peers,
            max_rooms: usize::MAX,
            calls: None,
            resume: None,
            hooks: Arc::new(NoHooks),
        }
    }

    /// Let one peer be in at most `max_rooms` rooms at once.
    pub fn with_max_rooms(mut self, max_rooms: usize) -> Self {
        self.max_rooms = max_rooms;
        self
    }

    /// Admit to `call:<id>` rooms whom `calls` says (without it, nobody).
    pub fn with_calls(mut self, calls: Calls) -> Self {
        self.calls = Some(calls);
        self
    }

    /// Report rooms starting and finishing, and participants joining and
    /// leaving, to `hooks`.
    pub fn with_hooks(mut self, hooks: Arc<dyn Notifier>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Let joins be resumable (without it, `resumable` is ignored).
    pub fn with_resume(mut self, resume: ResumeConfig) -> Self {
        self.resume = Some(resume);
        self
    }

    /// The room state (tests and metrics look at it).
    pub fn rooms(&self) -> &Arc<dyn RoomState> {
        &self.rooms
    }

    /// Put `me` into the room named `raw`. `still_here` is asked after the
    /// join: a caller that disconnected meanwhile is taken out again (its
    /// disconnect cleanup may already have run), and nobody is told.
    pub async fn join(
        &self,
        me: PeerInfo,
        raw: &str,
        resumable: bool,
        still_here: impl Fn() -> bool,
    ) -> Result<RoomJoin, SignalError> {
        let room = RoomId::parse(raw)?;
        if let Some(chat) = room.chat() {
            let member = self
                .chats
                .is_chat_participant(&chat, &me.user_id)
                .await
                .map_err(|e| SignalError::Internal(e.to_string()))?;
            if !member {
                return Err(SignalError::AccessDenied);
            }
        }
        if let Some(call) = room.call() {
            let Some(calls) = &self.calls else {
                return Err(SignalError::AccessDenied);
            };
            if !calls.may_join(&me.user_id, &call).await? {
                return Err(SignalError::AccessDenied);
            }
        }
        // One peer's requests run one at a time, so this count cannot race
        // with another join of the same peer.
        let mine = self.rooms.rooms_of(&me.peer_id).await?;
        if mine.len() >= self.max_rooms && !mine.contains(&room) {
            return Err(SignalError::TooManyRooms(self.max_rooms));
        }
        let joined = match self.rooms.join(&room, me.clone(), self.max_peers).await {
            Ok(j) => j,
            Err(JoinError::Full(n)) => return Err(SignalError::RoomFull(n)),
            Err(JoinError::State(e)) => return Err(e.into()),
        };
        if !still_here() {
            self.rooms.leave(&room, &me.peer_id).await?;
            return Err(SignalError::Gone);
        }
        let resume_token = match (&self.resume, resumable) {
            (Some(r), true) => Some(r.issue(&room, &me).await?),
            _ => None,
        };
        Ok(RoomJoin {
            room,
            me,
            others: joined.others,
            new: joined.new,
            resume_token,
        })
    }

    /// Tell the others of a new join (`peer:joined`); call after the
    /// newcomer has its answer.
    pub async fn announce_join(&self, join: &RoomJoin) {
        if !join.new {
            return;
        }
        tracing::debug!(room_id = %join.room, peer_id = %join.me.peer_id, "peer joined room");
        if join.others.is_empty() {
            self.hooks.notify(Hook::RoomStarted {
                room_id: join.room.clone(),
            });
        }
        self.hooks
            .notify(Hook::ParticipantJoined(participant(&join.room, &join.me)));
        let msg = PeerJoined {
            room_id: join.room.clone(),
            peer: join.me.clone(),
        };
        for other in &join.others {
            let _ = self
                .publisher
                .to_peer(&other.peer_id, &SignalEvent::PeerJoined(&msg))
                .await;
        }
    }

    async fn announce_left(&self, left: &Left, reason: LeaveReason) {
        self.hooks.notify(Hook::ParticipantLeft {
            participant: participant(&left.room, &left.peer),
            reason,
        });
        if left.rest.is_empty() {
            self.hooks.notify(Hook::RoomFinished {
                room_id: left.room.clone(),
            });
        }
        let msg = PeerLeft {
            room_id: left.room.clone(),
            peer_id: left.peer.peer_id.clone(),
            user_id: left.peer.user_id.clone(),
            reason,
        };
        for other in &left.rest {
            let _ = self
                .publisher
                .to_peer(&other.peer_id, &SignalEvent::PeerLeft(&msg))
                .await;
        }
    }

    /// Take `peer` out of the room named `raw` (nothing to do when it was
    /// not there); the others get `peer:left` with reason `left`.
    pub async fn leave(&self, peer: &PeerId, raw: &str) -> Result<(), SignalError> {
        let Ok(room) = RoomId::parse(raw) else {
            return Ok(());
        };
        if let Some(r) = &self.resume {
            r.slots.forget(&room, peer).await?;
        }
        if let Some(left) = self.rooms.leave(&room, peer).await? {
            self.announce_left(&left, LeaveReason::Left).await;
        }
        Ok(())
    }

    /// `peer` disconnected. When it `lost` its connection (rather than
    /// closing it on purpose), its resumable slots are held: the others get
    /// `peer:away`, and `peer:left` only when the window ends unused. It
    /// leaves every other room at once, and the others get `peer:left` with
    /// `reason` (`disconnected`, or `expired` when its token ran out; an
    /// expired session holds nothing). True when a slot is held.
    pub async fn disconnected(&self, peer: &PeerId, reason: LeaveReason, lost: bool) -> bool {
        let held = match (&self.resume, reason) {
            (Some(_), LeaveReason::Disconnected) if lost => self.hold_slots(peer).await,
            _ => Vec::new(),
        };
        if held.is_empty() {
            if let Some(r) = &self.resume
                && let Err(e) = r.slots.forget_peer(peer).await
            {
                tracing::warn!(peer_id = %peer, error = %e, "resume slots not cleaned up");
            }
            match self.rooms.leave_all(peer).await {
                Ok(all) => {
                    for left in &all {
                        self.announce_left(left, reason).await;
                    }
                }
                Err(e) => tracing::warn!(peer_id = %peer, error = %e, "rooms not cleaned up"),
            }
            return false;
        }
        let rooms = match self.rooms.rooms_of(peer).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(peer_id = %peer, error = %e, "rooms not cleaned up");
                return true;
            }
        };
        for room in rooms.iter().filter(|r| !held.contains(r)) {
            match self.rooms.leave(room, peer).await {
                Ok(Some(left)) => self.announce_left(&left, reason).await,
                Ok(None) => {}
                Err(e) => tracing::warn!(peer_id = %peer, error = %e, "room not cleaned up"),
            }
        }
        true
    }

    /// How long a dropped socket's resumable slots are held (zero without
    /// resume).
    pub fn resume_window(&self) -> std::time::Duration {
        self.resume
            .as_ref()
            .map_or(std::time::Duration::ZERO, |r| r.window)
    }

    async fn route(&self, from: &PeerId, to: &str) -> Result<PeerId, SignalError> {
        if to.is_empty() || to.len() > MAX_PEER_ID_LEN {
            return Err(SignalError::InvalidPayload("`to` must be a peer id".into()));
        }
        let to = PeerId::from(to);
        if self.rooms.share_room(from, &to).await? {
            return Ok(to);
        }
        // A peer that resumed on a new socket is still reached by its old id.
        if let Some(r) = &self.resume
            && let Some(now) = r.slots.resolve(&to).await?
            && self.rooms.share_room(from, &now).await?
        {
            return Ok(now);
        }
        Err(SignalError::PeerNotInRoom)
    }

    /// Relay an offer or answer to a peer sharing a room with `from`.
    pub async fn relay_sdp(
        &self,
        from: &PeerId,
        from_user: &UserRef,
        kind: SdpKind,
        req: SdpIn,
    ) -> Result<(), SignalError> {
        if req.sdp.kind != kind.as_str() {
            return Err(SignalError::InvalidPayload(format!(
                "sdp.type must be \"{}\"",
                kind.as_str()
            )));
        }
        if req.sdp.sdp.len() > MAX_SDP_BYTES {
            return Err(SignalError::InvalidPayload("sdp exceeds 64 KiB".into()));
        }
        let to = self.route(from, &req.to).await?;
        let out = SdpOut {
            from,
            from_user,
            sdp: &req.sdp,
        };
        let event = match kind {
            SdpKind::Offer => SignalEvent::Offer(out),
            SdpKind::Answer => SignalEvent::Answer(out),
        };
        Ok(self.publisher.to_peer(&to, &event).await?)
    }

    /// Relay an ICE candidate (or the end-of-candidates `null`).
    pub async fn relay_candidate(
        &self,
        from: &PeerId,
        req: CandidateIn,
    ) -> Result<(), SignalError> {
        if req
            .candidate
            .as_ref()
            .is_some_and(|c| c.size() > MAX_CANDIDATE_BYTES)
        {
            return Err(SignalError::InvalidPayload(
                "candidate exceeds 2 KiB".into(),
            ));
        }
        let to = self.route(from, &req.to).await?;
        let out = CandidateOut {
            from,
            candidate: &req.candidate,
        };
        Ok(self
            .publisher
            .to_peer(&to, &SignalEvent::IceCandidate(out))
            .await?)
    }
}
