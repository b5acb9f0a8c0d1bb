//! The one way domain services publish real-time events: to every socket of
//! a user on namespace `/` (room `user-<id>`), or to a chat room. REST
//! handlers and socket handlers call services; services call this; nothing
//! else touches Socket.IO.

use std::sync::{Arc, OnceLock};

use serde::Serialize;
use socketioxide::SocketIo;

use crate::realtime::user_room;

/// Publishes events on namespace `/`.
#[derive(Clone, Default)]
pub struct Notifier {
    io: Arc<OnceLock<SocketIo>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("attached", &self.io.get().is_some())
            .finish()
    }
}

impl Notifier {
    /// A notifier not yet attached to a Socket.IO server (events are dropped).
    pub fn new() -> Self {
        Self::default()
    }

    /// Attach the server (once; later calls are ignored).
    pub fn attach(&self, io: SocketIo) {
        let _ = self.io.set(io);
    }

    /// Send `event` to every socket of each user in `user_ids`, once per socket.
    pub async fn to_users<T: Serialize + ?Sized>(&self, user_ids: &[&str], event: &str, data: &T) {
        let Some(io) = self.io.get() else { return };
        if user_ids.is_empty() {
            return;
        }
        let rooms: Vec<String> = user_ids.iter().map(|u| user_room(u)).collect();
        // A socket in several of these rooms still gets one copy.
        if let Err(e) = io.to(rooms).emit(event, data).await {
            tracing::warn!(event, error = %e, "event not delivered to every socket");
        }
    }

    /// Send `event` to every socket of one user.
    pub async fn to_user<T: Serialize + ?Sized>(&self, user_id: &str, event: &str, data: &T) {
        self.to_users(&[user_id], event, data).await;
    }
}
