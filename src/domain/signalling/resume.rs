//! Resumable room slots.
//!
//! A resumable join stores its slot under a fresh random token
//! ([`ResumeConfig::issue`]). When that socket drops, [`Signalling::disconnected`]
//! holds the slot instead of freeing it: the peer stays a member (it still
//! counts toward the cap), the others get `peer:away`, and a timer frees the
//! slot with the usual `peer:left` once the window ends unused.
//! [`Signalling::resume`] lets a new socket of the same user take the slot
//! back: the token is used up, the new peer takes the old one's place in the
//! room, relays addressed to the old peer id reach the new socket, and the
//! others get `peer:resumed`. Work on one token runs under the lock
//! `slot:<token>`, so a resume and the window's end cannot both win.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rand::RngCore as _;

use super::{SignalError, Signalling};
use crate::ports::{Locks, Slot, SlotState, StateError};
use crate::wire::webrtc::{LeaveReason, PeerAway, PeerInfo, PeerResumed, SignalEvent};
use crate::wire::{PeerId, RoomId};

/// Longest resume token accepted (issued ones are 32 characters).
const MAX_TOKEN_LEN: usize = 128;

/// Where resume state lives and how long a slot is held.
#[derive(Clone, Debug)]
pub struct ResumeConfig {
    /// Tokens and aliases.
    pub slots: Arc<dyn SlotState>,
    /// Serializes work on one token.
    pub locks: Arc<dyn Locks>,
    /// How long a dropped socket's slot is held (`RESUME_WINDOW`).
    pub window: Duration,
}

impl ResumeConfig {
    /// Store a fresh token for `me`'s slot in `room`.
    pub(super) async fn issue(&self, room: &RoomId, me: &PeerInfo) -> Result<String, StateError> {
        let mut bytes = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let slot = Slot {
            room: room.clone(),
            user: me.user_id.clone(),
            peer: me.peer_id.clone(),
        };
        self.slots.put(&token, slot).await?;
        Ok(token)
    }
}

/// A successful resume, before the others are told.
#[derive(Debug)]
pub struct RoomResume {
    /// The room.
    pub room: RoomId,
    /// The new socket's peer.
    pub me: PeerInfo,
    /// The peer id the slot had.
    pub previous: PeerId,
    /// The others in the room.
    pub others: Vec<PeerInfo>,
    /// The token for the next drop.
    pub resume_token: String,
}

fn lock_key(token: &str) -> String {
    format!("slot:{token}")
}

impl Signalling {
    /// Hold `peer`'s resumable slots: tell the others it is away and start
    /// each slot's window. Returns the rooms held.
    pub(super) async fn hold_slots(&self, peer: &PeerId) -> Vec<RoomId> {
        let Some(r) = &self.resume else {
            return Vec::new();
        };
        let tokens = match r.slots.of_peer(peer).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(peer_id = %peer, error = %e, "resume slots unreadable");
                return Vec::new();
            }
        };
        let mut held = Vec::new();
        for token in tokens {
            match self.hold(r, &token, peer).await {
                Ok(Some(room)) => held.push(room),
                Ok(None) => {}
                Err(e) => tracing::warn!(peer_id = %peer, error = %e, "slot not held"),
            }
        }
        held
    }

    async fn hold(
        &self,
        r: &ResumeConfig,
        token: &str,
        peer: &PeerId,
    ) -> Result<Option<RoomId>, StateError> {
        let _guard = r.locks.lock(&lock_key(token)).await?;
        // A resume may have taken the token since it was listed.
        let Some(slot) = r.slots.peek(token).await?.filter(|s| &s.peer == peer) else {
            return Ok(None);
        };
        let members = self.rooms.members(&slot.room).await?;
        if !members.iter().any(|p| &p.peer_id == peer) {
            r.slots.forget(&slot.room, peer).await?;
            return Ok(None);
        }
        tracing::debug!(room_id = %slot.room, peer_id = %peer, "slot held");
        let away = PeerAway {
            room_id: slot.room.clone(),
            peer_id: peer.clone(),
        };
        for other in members.iter().filter(|p| &p.peer_id != peer) {
            let _ = self
                .publisher
                .to_peer(&other.peer_id, &SignalEvent::PeerAway(&away))
                .await;
        }
        let this = self.clone();
        let (token, room, peer, window) =
            (token.to_owned(), slot.room.clone(), peer.clone(), r.window);
        tokio::spawn(async move {
            tokio::time::sleep(window).await;
            if let Err(e) = this.release(&token, &room, &peer).await {
                tracing::warn!(peer_id = %peer, error = %e, "held slot not released");
            }
        });
        Ok(Some(slot.room))
    }

    /// The window of a held slot ended: free it unless it was resumed.
    async fn release(&self, token: &str, room: &RoomId, peer: &PeerId) -> Result<(), StateError> {
        let Some(r) = &self.resume else {
            return Ok(());
        };
        let _guard = r.locks.lock(&lock_key(token)).await?;
        if !r.slots.forget(room, peer).await? {
            return Ok(());
        }
        if let Some(left) = self.rooms.leave(room, peer).await? {
            self.announce_left(&left, LeaveReason::Disconnected).await;
        }
        if self.rooms.rooms_of(peer).await?.is_empty() {
            r.slots.forget_peer(peer).await?;
        }
        Ok(())
    }

    /// Give `me` (a new socket) the slot of `token`. `still_here` is asked
    /// at the end: a socket that went meanwhile gets its new slot held.
    pub async fn resume(
        &self,
        me: PeerInfo,
        token: &str,
        still_here: impl Fn() -> bool,
    ) -> Result<RoomResume, SignalError> {
        let Some(r) = &self.resume else {
            return Err(SignalError::ResumeFailed);
        };
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(SignalError::ResumeFailed);
        }
        let guard = r.locks.lock(&lock_key(token)).await?;
        let slot = r
            .slots
            .take(token, &me.user_id)
            .await?
            .ok_or(SignalError::ResumeFailed)?;
        let mine = self.rooms.rooms_of(&me.peer_id).await?;
        if slot.peer == me.peer_id || (mine.len() >= self.max_rooms && !mine.contains(&slot.room)) {
            // Not this socket's to take now: leave the token usable.
            r.slots.put(token, slot.clone()).await?;
            return Err(if slot.peer == me.peer_id {
                SignalError::ResumeFailed
            } else {
                SignalError::TooManyRooms(self.max_rooms)
            });
        }
        let others = self
            .rooms
            .replace(&slot.room, &slot.peer, me.clone())
            .await?
            .ok_or(SignalError::ResumeFailed)?;
        r.slots.alias(&slot.peer, &me.peer_id).await?;
        let resume_token = r.issue(&slot.room, &me).await?;
        drop(guard);
        if !still_here() {
            self.disconnected(&me.peer_id, LeaveReason::Disconnected, true)
                .await;
            return Err(SignalError::Gone);
        }
        tracing::debug!(room_id = %slot.room, peer_id = %me.peer_id, previous = %slot.peer, "slot resumed");
        Ok(RoomResume {
            room: slot.room,
            me,
            previous: slot.peer,
            others,
            resume_token,
        })
    }

    /// Tell the others of a resume (`peer:resumed`); call after the new
    /// socket has its answer.
    pub async fn announce_resume(&self, resume: &RoomResume) {
        let msg = PeerResumed {
            room_id: resume.room.clone(),
            peer_id: resume.me.peer_id.clone(),
            previous_peer_id: resume.previous.clone(),
        };
        for other in &resume.others {
            let _ = self
                .publisher
                .to_peer(&other.peer_id, &SignalEvent::PeerResumed(&msg))
                .await;
        }
    }
}
