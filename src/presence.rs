//! Presence on namespace `/`: which users have at least one socket, and
//! `presence:update {userId, online}` to the users who share a chat with a
//! user when their first socket connects or their last one disconnects.
//!
//! Socket bookkeeping is synchronous and idempotent (a set of socket ids per
//! user). Announcing is separate: under a per-user async lock it compares the
//! current state with the last one announced and publishes only a change.
//! Whatever order connects, disconnects and announcements interleave in, the
//! last announcement of a user matches their final state, and a user's
//! announcements go out in order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::locks::KeyedLocks;
use crate::notifier::Notifier;
use crate::realtime::events;
use crate::store::Db;

/// `presence:update` payload.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdate<'a> {
    /// The user.
    pub user_id: &'a str,
    /// Online now?
    pub online: bool,
}

#[derive(Debug, Default)]
struct Entry {
    sockets: HashSet<String>,
    announced: bool,
}

/// Per-user socket sets and announcements.
#[derive(Clone, Debug)]
pub struct Presence {
    users: Arc<Mutex<HashMap<String, Entry>>>,
    locks: Arc<KeyedLocks>,
    db: Db,
    notifier: Notifier,
}

impl Presence {
    /// Nobody online yet.
    pub fn new(db: Db, notifier: Notifier) -> Self {
        Self {
            users: Arc::default(),
            locks: Arc::new(KeyedLocks::new()),
            db,
            notifier,
        }
    }

    fn with_users<R>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> R) -> R {
        // A panic elsewhere cannot leave the map half-updated: recover it.
        let mut guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Record a socket of `user_id` (synchronous; call [`Presence::announce`] after).
    pub fn add(&self, user_id: &str, socket_id: &str) {
        self.with_users(|m| {
            m.entry(user_id.to_owned())
                .or_default()
                .sockets
                .insert(socket_id.to_owned());
        });
    }

    /// Forget a socket of `user_id` (idempotent; call [`Presence::announce`] after).
    pub fn remove(&self, user_id: &str, socket_id: &str) {
        self.with_users(|m| {
            if let Some(e) = m.get_mut(user_id) {
                e.sockets.remove(socket_id);
            }
        });
    }

    /// True while `user_id` has a socket on `/`.
    pub fn is_online(&self, user_id: &str) -> bool {
        self.with_users(|m| m.get(user_id).is_some_and(|e| !e.sockets.is_empty()))
    }

    /// How many sockets of `user_id` are counted.
    pub fn sockets(&self, user_id: &str) -> usize {
        self.with_users(|m| m.get(user_id).map_or(0, |e| e.sockets.len()))
    }

    /// Publish `user_id`'s state to the users sharing a chat, if it changed
    /// since the last announcement.
    pub async fn announce(&self, user_id: &str) {
        let _turn = self.locks.lock(user_id).await;
        let change = self.with_users(|m| {
            let e = m.get_mut(user_id)?;
            let online = !e.sockets.is_empty();
            let changed = online != e.announced;
            e.announced = online;
            if !online {
                m.remove(user_id);
            }
            changed.then_some(online)
        });
        let Some(online) = change else { return };
        let contacts = match self.db.chat_contacts(user_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(user_id, error = %e, "presence: contacts lookup failed");
                return;
            }
        };
        let to: Vec<&str> = contacts.iter().map(String::as_str).collect();
        self.notifier
            .to_users(
                &to,
                events::PRESENCE_UPDATE,
                &PresenceUpdate { user_id, online },
            )
            .await;
    }
}
