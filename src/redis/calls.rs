//! [`CallState`] in Redis. Keys (under the prefix):
//!
//! - `call:<id>`: the [`LiveCall`] as JSON;
//! - `busy:<user>`: set of the calls the user is engaged in.
//!
//! The domain changes a call under its lock, so plain reads and writes are
//! enough. A call that nobody ends (every node that knew it died) expires
//! after a day rather than staying forever.

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use crate::ports::{CallState, LiveCall, StateError};
use crate::wire::{CallId, UserId};

/// The longest a live call record is kept without a write.
const CALL_TTL_SECS: u64 = 24 * 3600;

/// Live calls shared by every node through Redis.
#[derive(Clone)]
pub struct RedisCalls {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCalls")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCalls {
    /// Calls under `prefix` on `conn`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    fn call_key(&self, id: &CallId) -> String {
        format!("{}call:{id}", self.prefix)
    }

    fn busy_key(&self, user: &UserId) -> String {
        format!("{}busy:{user}", self.prefix)
    }
}

#[async_trait]
impl CallState for RedisCalls {
    async fn get(&self, id: &CallId) -> Result<Option<LiveCall>, StateError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.call_key(id))
            .query_async(&mut conn)
            .await?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| StateError(format!("bad call in Redis: {e}")))
        })
        .transpose()
    }

    async fn put(&self, call: &LiveCall) -> Result<(), StateError> {
        let json = serde_json::to_string(call).map_err(|e| StateError(e.to_string()))?;
        let mut conn = self.conn.clone();
        let () = redis::cmd("SET")
            .arg(self.call_key(&call.id))
            .arg(json)
            .arg("EX")
            .arg(CALL_TTL_SECS)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn remove(&self, id: &CallId) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.call_key(id))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn engage(&self, user: &UserId, call: &CallId) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let () = redis::pipe()
            .cmd("SADD")
            .arg(self.busy_key(user))
            .arg(call.as_str())
            .ignore()
            .cmd("EXPIRE")
            .arg(self.busy_key(user))
            .arg(CALL_TTL_SECS)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn release(&self, user: &UserId, call: &CallId) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("SREM")
            .arg(self.busy_key(user))
            .arg(call.as_str())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn engaged(&self, user: &UserId) -> Result<Vec<CallId>, StateError> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.busy_key(user))
            .query_async(&mut conn)
            .await?;
        Ok(raw.into_iter().map(CallId::from).collect())
    }
}
