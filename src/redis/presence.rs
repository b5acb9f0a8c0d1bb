//! [`PresenceState`] in Redis: `presence:<user>` is the set of the user's
//! sockets (on every node), `presence:<user>:announced` is set while the
//! user was last announced online. [`PresenceState::transition`] compares
//! and records in one Lua script, so two nodes never both announce.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use super::Republish;
use crate::ports::{PresenceState, StateError};
use crate::wire::UserId;

/// KEYS: sockets, announced. Returns 1 (came online), 0 (went offline),
/// or -1 (no change).
const TRANSITION: &str = r#"
local online = redis.call('SCARD', KEYS[1]) > 0
local announced = redis.call('EXISTS', KEYS[2]) == 1
if online == announced then
  return -1
end
if online then
  redis.call('SET', KEYS[2], '1')
  return 1
end
redis.call('DEL', KEYS[2])
return 0
"#;

/// Presence shared by every node through Redis.
#[derive(Clone)]
pub struct RedisPresence {
    conn: ConnectionManager,
    prefix: String,
    transition: Script,
    mine: Arc<Mutex<HashSet<(UserId, String)>>>,
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisPresence {
    /// Presence under `prefix` (e.g. `sb:` for `/`, `sb:devices:` for the
    /// `/webrtc` devices of calls) on `conn`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            transition: Script::new(TRANSITION),
            mine: Arc::default(),
        }
    }

    fn mine(&self) -> std::sync::MutexGuard<'_, HashSet<(UserId, String)>> {
        self.mine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sockets_key(&self, user: &UserId) -> String {
        format!("{}presence:{user}", self.prefix)
    }
}

#[async_trait]
impl PresenceState for RedisPresence {
    async fn add(&self, user: &UserId, socket: &str) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("SADD")
            .arg(self.sockets_key(user))
            .arg(socket)
            .query_async(&mut conn)
            .await?;
        self.mine().insert((user.clone(), socket.to_owned()));
        Ok(())
    }

    async fn remove(&self, user: &UserId, socket: &str) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        self.mine().remove(&(user.clone(), socket.to_owned()));
        let _: i64 = redis::cmd("SREM")
            .arg(self.sockets_key(user))
            .arg(socket)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn transition(&self, user: &UserId) -> Result<Option<bool>, StateError> {
        let mut conn = self.conn.clone();
        let key = self.sockets_key(user);
        let changed: i64 = self
            .transition
            .key(&key)
            .key(format!("{key}:announced"))
            .invoke_async(&mut conn)
            .await?;
        Ok(match changed {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        })
    }

    async fn sockets(&self, user: &UserId) -> Result<usize, StateError> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("SCARD")
            .arg(self.sockets_key(user))
            .query_async(&mut conn)
            .await?)
    }
}

#[async_trait]
impl Republish for RedisPresence {
    async fn republish(&self) -> Result<usize, StateError> {
        let mine: Vec<_> = self.mine().iter().cloned().collect();
        let mut conn = self.conn.clone();
        for (user, socket) in &mine {
            let _: i64 = redis::cmd("SADD")
                .arg(self.sockets_key(user))
                .arg(socket)
                .query_async(&mut conn)
                .await?;
        }
        Ok(mine.len())
    }
}
