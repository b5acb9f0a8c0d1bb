//! The [`Publisher`] port over Socket.IO: the domain's events go to the
//! personal rooms `user-<id>` on `/` (one broadcast, so a socket in several
//! of those rooms still gets one copy), to one socket on `/webrtc`, and to
//! the personal rooms on `/webrtc` (call events, every device).
//!
//! In cluster mode the adapter carries broadcasts to every node. A peer on
//! another node is reached through its own room `peer-<id>` (each `/webrtc`
//! socket joins it then, see [`peer_room`]): a socket on this node is
//! written to directly. When Redis is unreachable, broadcasts still reach
//! this node's sockets.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::socket::Sid;

use super::log_gate;
use super::session::{peer_room, user_room};
use crate::ports::{Publisher, Undelivered};
use crate::wire::app::AppEvent;
use crate::wire::calls::CallEvent;
use crate::wire::webrtc::SignalEvent;
use crate::wire::{PeerId, UserId};

/// Publishes through a Socket.IO server, once it is attached (events before
/// that are dropped: no socket could receive them).
pub struct SocketIoPublisher<A: Adapter> {
    io: Arc<OnceLock<SocketIo<A>>>,
    cluster: bool,
}

impl<A: Adapter> Clone for SocketIoPublisher<A> {
    fn clone(&self) -> Self {
        Self {
            io: self.io.clone(),
            cluster: self.cluster,
        }
    }
}

impl<A: Adapter> Default for SocketIoPublisher<A> {
    fn default() -> Self {
        Self {
            io: Arc::default(),
            cluster: false,
        }
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

    /// Not attached yet; peers not on this node are reached through the
    /// adapter (cluster mode).
    pub fn cluster() -> Self {
        Self {
            io: Arc::default(),
            cluster: true,
        }
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
        if let Err(e) = io.to(rooms.clone()).emit(event.name(), event).await {
            tracing::warn!(event = event.name(), error = %e, "event not delivered to every socket");
            if self.cluster {
                let _ = io.local().to(rooms).emit(event.name(), event).await;
            }
        }
    }

    async fn to_peer(&self, peer: &PeerId, event: &SignalEvent<'_>) -> Result<(), Undelivered> {
        let Some(io) = self.io.get() else {
            return Err(Undelivered);
        };
        let ns = io.of("/webrtc").ok_or(Undelivered)?;
        let local = Sid::from_str(peer.as_str())
            .ok()
            .and_then(|sid| ns.get_socket(sid));
        let Some(target) = local else {
            if !self.cluster {
                return Err(Undelivered);
            }
            // On another node (or gone: then nobody is in its room).
            return ns
                .to(peer_room(peer.as_str()))
                .emit(event.name(), event)
                .await
                .map_err(|e| {
                    tracing::warn!(peer_id = %peer, event = event.name(), error = %e, "signalling message not sent to the cluster");
                    Undelivered
                });
        };
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
            Some(s) => s.to(rooms.clone()),
            None => ns.to(rooms.clone()),
        };
        if let Err(e) = to.emit(event.name(), event).await {
            tracing::warn!(event = event.name(), error = %e, "call event not delivered to every socket");
            if self.cluster {
                let local = match (&sender, io.of("/webrtc")) {
                    (Some(s), _) => s.local().to(rooms),
                    (None, Some(ns)) => ns.local().to(rooms),
                    (None, None) => return,
                };
                let _ = local.emit(event.name(), event).await;
            }
        }
    }
}
