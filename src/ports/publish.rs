//! Delivering events: to every `/` socket of some users (each socket once),
//! to one `/webrtc` peer, and to every `/webrtc` socket of some users
//! (call invitations ring all devices). The transport implements this over
//! Socket.IO; the domain never sees a socket.

use async_trait::async_trait;

use crate::wire::PeerId;
use crate::wire::UserId;
use crate::wire::app::AppEvent;
use crate::wire::calls::CallEvent;
use crate::wire::webrtc::SignalEvent;

/// A peer could not be reached: gone, or its send buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the peer cannot receive messages right now")]
pub struct Undelivered;

/// Where the domain's events go.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Send `event` to every `/` socket of each user in `users`, once per socket.
    async fn to_users(&self, users: &[UserId], event: &AppEvent);
    /// Send `event` to the `/webrtc` socket `peer`.
    async fn to_peer(&self, peer: &PeerId, event: &SignalEvent<'_>) -> Result<(), Undelivered>;
    /// Send `event` to every `/webrtc` socket of each user in `users`
    /// (all their devices, once per socket), except the socket `except`
    /// (the device that made the request, so on this node).
    async fn to_devices(&self, users: &[UserId], except: Option<&PeerId>, event: &CallEvent);
}
