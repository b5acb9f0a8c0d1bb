//! Presence on namespace `/`: which users have at least one socket, and
//! `presence:update {userId, online}` to the users who share a chat with a
//! user when their first socket connects or their last one disconnects.
//!
//! Socket bookkeeping is idempotent ([`PresenceState`]). Announcing is
//! separate: under the user's lock it compares the current state with the
//! last one announced and publishes only a change. Whatever order connects,
//! disconnects and announcements interleave in, the last announcement of a
//! user matches their final state, and a user's announcements go out in
//! order.

use std::sync::Arc;

use crate::ports::{ChatStore, Locks, NoHooks, Notifier, PresenceState, Publisher, StateError};
use crate::wire::UserId;
use crate::wire::app::{AppEvent, PresenceUpdate};
use crate::wire::webhooks::Hook;

/// Who is online, and the announcements of changes.
#[derive(Clone, Debug)]
pub struct Presence {
    state: Arc<dyn PresenceState>,
    locks: Arc<dyn Locks>,
    chats: Arc<dyn ChatStore>,
    publisher: Arc<dyn Publisher>,
    hooks: Arc<dyn Notifier>,
}

impl Presence {
    /// Presence over `state`, announcing to chat contacts from `chats`.
    pub fn new(
        state: Arc<dyn PresenceState>,
        locks: Arc<dyn Locks>,
        chats: Arc<dyn ChatStore>,
        publisher: Arc<dyn Publisher>,
    ) -> Self {
        Self {
            state,
            locks,
            chats,
            publisher,
            hooks: Arc::new(NoHooks),
        }
    }

    /// Report `user.online` / `user.offline` to `hooks` as well.
    pub fn with_hooks(mut self, hooks: Arc<dyn Notifier>) -> Self {
        self.hooks = hooks;
        self
    }

    /// A socket of `user` connected: count it, announce if it is the first.
    pub async fn connected(&self, user: &UserId, socket: &str) {
        if let Err(e) = self.state.add(user, socket).await {
            tracing::warn!(user_id = %user, error = %e, "presence: add failed");
        }
    }

    /// A socket of `user` is gone: forget it (idempotent).
    pub async fn disconnected(&self, user: &UserId, socket: &str) {
        if let Err(e) = self.state.remove(user, socket).await {
            tracing::warn!(user_id = %user, error = %e, "presence: remove failed");
        }
    }

    /// How many sockets of `user` are counted.
    pub async fn sockets(&self, user: &UserId) -> usize {
        self.state.sockets(user).await.unwrap_or(0)
    }

    /// True while `user` has a socket on `/`.
    pub async fn is_online(&self, user: &UserId) -> bool {
        self.sockets(user).await > 0
    }

    /// The users who share a chat with `user` and are online now
    /// (`presence:list`).
    pub async fn snapshot(&self, user: &UserId) -> Result<Vec<UserId>, StateError> {
        let contacts = self
            .chats
            .chat_contacts(user)
            .await
            .map_err(|e| StateError(format!("contacts lookup: {e}")))?;
        let mut online = Vec::new();
        for c in contacts {
            if self.state.sockets(&c).await? > 0 {
                online.push(c);
            }
        }
        Ok(online)
    }

    /// Publish `user`'s state to the users sharing a chat, if it changed
    /// since the last announcement.
    pub async fn announce(&self, user: &UserId) {
        if let Err(e) = self.try_announce(user).await {
            tracing::warn!(user_id = %user, error = %e, "presence: announcement failed");
        }
    }

    async fn try_announce(&self, user: &UserId) -> Result<(), String> {
        let _turn = self
            .locks
            .lock(&format!("presence:{user}"))
            .await
            .map_err(|e: StateError| e.to_string())?;
        let Some(online) = self
            .state
            .transition(user)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let user_id = user.clone();
        self.hooks.notify(if online {
            Hook::UserOnline { user_id }
        } else {
            Hook::UserOffline { user_id }
        });
        let contacts = self
            .chats
            .chat_contacts(user)
            .await
            .map_err(|e| format!("contacts lookup: {e}"))?;
        let update = PresenceUpdate {
            user_id: user.clone(),
            online,
        };
        self.publisher
            .to_users(&contacts, &AppEvent::PresenceUpdate(update))
            .await;
        Ok(())
    }
}
