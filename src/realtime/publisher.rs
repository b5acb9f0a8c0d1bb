//! The [`Publisher`] port over Socket.IO: the domain's events go to the
//! personal rooms `user-<id>` on `/` (one broadcast, so a socket in several
//! of those rooms still gets one copy), to one socket on `/webrtc`, and to
//! the personal rooms on `/webrtc` (call events, every device).

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::socket::Sid;

use super::log_gate;
use super::session::user_room;
use crate::ports::{Publisher, Undelivered};
use crate::wire::app::AppEvent;
use crate::wire::calls::CallEvent;
use crate::wire::webrtc::SignalEvent;
use crate::wire::{PeerId, UserId};

/// Publishes through a Socket.IO server, once it is attached (events before
/// that are dropped: no socket could receive them).
pub struct SocketIoPublisher<A: Adapter> {
    io: Arc<OnceLock<SocketIo<A>>>,
}

impl<A: Adapter> Clone for SocketIoPublisher<A> {
    fn clone(&self) -> Self {
        Self {
            io: self.io.clone(),
        }
    }
}

impl<A: Adapter> Default for SocketIoPublisher<A> {
    fn default() -> Self {
        Self { io: Arc::default() }
    }
}

impl<A: Adapter> std::fmt::Debug for SocketIoPublisher<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoPublisher")
            .field("attached", &self.io.get().is_some())
            .finish()
    }
}

impl<A: Adapter> SocketIoPublisher<A> {
    /// Not attached yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attach the server (once; later calls are ignored).
    pub fn attach(&self, io: SocketIo<A>) {
        let _ = self.io.set(io);
    }
}

#[async_trait]
impl<A: Adapter> Publisher for SocketIoPublisher<A> {
    async fn to_users(&self, users: &[UserId], event: &AppEvent) {
        let Some(io) = self.io.get() else { return };
        if users.is_empty() {
            return;
        }
        let rooms: Vec<String> = users.iter().map(|u| user_room(u.as_str())).collect();
        if let Err(e) = io.to(rooms).emit(event.name(), event).await {
            tracing::warn!(event = event.name(), error = %e, "event not delivered to every socket");
        }
    }

    async fn to_peer(&self, peer: &PeerId, event: &SignalEvent<'_>) -> Result<(), Undelivered> {
        let Some(io) = self.io.get() else {
            return Err(Undelivered);
        };
        let target = Sid::from_str(peer.as_str())
            .ok()
            .and_then(|sid| io.of("/webrtc")?.get_socket(sid))
            .ok_or(Undelivered)?;
        target.emit(event.name(), event).map_err(|e| {
            if let Some(suppressed) = log_gate::admit(log_gate::Kind::Relay, peer.as_str()) {
                tracing::warn!(peer_id = %peer, event = event.name(), error = %e, suppressed, "signalling message not delivered");
            }
            Undelivered
        })
    }

    async fn to_devices(&self, users: &[UserId], except: Option<&PeerId>, event: &CallEvent) {
        let Some(io) = self.io.get() else { return };
        let Some(ns) = io.of("/webrtc") else { return };
        if users.is_empty() {
            return;
        }
        let rooms: Vec<String> = users.iter().map(|u| user_room(u.as_str())).collect();
        // `except` is the device that sent the request, so it is on this
        // node: a broadcast from it reaches every socket but itself.
        let sender = except
            .and_then(|p| Sid::from_str(p.as_str()).ok())
            .and_then(|sid| ns.get_socket(sid));
        let to = match &sender {
            Some(s) => s.to(rooms),
            None => ns.to(rooms),
        };
        if let Err(e) = to.emit(event.name(), event).await {
            tracing::warn!(event = event.name(), error = %e, "call event not delivered to every socket");
        }
    }
}
