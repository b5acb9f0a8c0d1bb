//! [`Locks`] in Redis: a key's lock is `lock:<key>` set with `NX` and a
//! time to live, holding a random token; it is released by a Lua script
//! that deletes it only while it still holds that token (a lock that
//! outlived its TTL and was taken by another node is left alone). Waiting
//! polls with a short, growing pause. The TTL bounds how long a node that
//! died holding a lock can block the others.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::ports::{LockGuard, Locks, StateError};

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// How long a held lock lives at most (a dead holder's lock frees itself).
const TTL: Duration = Duration::from_secs(10);
/// Give up waiting after this long.
const PATIENCE: Duration = Duration::from_secs(15);

/// Locks shared by every node through Redis.
#[derive(Clone)]
pub struct RedisLocks {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLocks")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLocks {
    /// Locks under `prefix` on `conn`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
        }
    }
}

/// Releases the lock when dropped (in a task: drop cannot wait).
struct Held {
    conn: ConnectionManager,
    key: String,
    token: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut conn = self.conn.clone();
        let key = std::mem::take(&mut self.key);
        let token = std::mem::take(&mut self.token);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let released: Result<i64, _> = Script::new(RELEASE)
                    .key(&key)
                    .arg(&token)
                    .invoke_async(&mut conn)
                    .await;
                if let Err(e) = released {
                    tracing::warn!(error = %e, "lock not released (it expires by itself)");
                }
            });
        }
    }
}

#[async_trait]
impl Locks for RedisLocks {
    async fn lock(&self, key: &str) -> Result<LockGuard, StateError> {
        let key = format!("{}lock:{key}", self.prefix);
        let token = uuid::Uuid::new_v4().to_string();
        let mut conn = self.conn.clone();
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(TTL.as_millis() as u64)
                .query_async(&mut conn)
                .await?;
            if taken.is_some() {
                return Ok(LockGuard::new(Held { conn, key, token }));
            }
            if started.elapsed() > PATIENCE {
                return Err(StateError(format!(
                    "lock {key} still held after {PATIENCE:?}"
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}
