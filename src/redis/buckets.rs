//! [`Buckets`] in Redis, shared by every node: GCRA (the algorithm
//! governor uses in process) in one Lua script. A key holds its bucket's
//! "theoretical arrival time" in microseconds of Redis's own clock (`TIME`,
//! so the nodes' clocks never matter); a token is there while that time is
//! less than `burst - 1` intervals ahead of now. The key expires when the
//! bucket is full again, so idle keys cost nothing.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::ports::{BucketRate, Buckets, StateError};

/// ARGV: the interval between tokens and the burst tolerance, in µs.
/// Returns 0 when a token was taken, else the µs until the next one.
const TAKE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local allowed_at = tat - tolerance
if now < allowed_at then
  return allowed_at - now
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
  'PX', math.floor((next_tat - now) / 1000) + 1)
return 0
"#;

/// Token buckets of the cluster.
pub struct RedisBuckets {
    conn: ConnectionManager,
    prefix: String,
    interval_us: u64,
    tolerance_us: u64,
    take: Script,
}

impl std::fmt::Debug for RedisBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuckets")
            .field("prefix", &self.prefix)
            .field("interval_us", &self.interval_us)
            .finish_non_exhaustive()
    }
}

impl RedisBuckets {
    /// Buckets of `rate` under `prefix` on `conn`.
    pub fn new(conn: ConnectionManager, prefix: &str, rate: BucketRate) -> Self {
        let interval_us = u64::try_from(rate.interval.as_micros())
            .unwrap_or(u64::MAX / 4)
            .max(1);
        Self {
            conn,
            prefix: prefix.to_owned(),
            interval_us,
            tolerance_us: interval_us.saturating_mul(u64::from(rate.burst.max(1) - 1)),
            take: Script::new(TAKE),
        }
    }
}

#[async_trait]
impl Buckets for RedisBuckets {
    async fn take(&self, key: &str) -> Result<Option<Duration>, StateError> {
        let mut conn = self.conn.clone();
        let wait_us: u64 = self
            .take
            .key(format!("{}{key}", self.prefix))
            .arg(self.interval_us)
            .arg(self.tolerance_us)
            .invoke_async(&mut conn)
            .await?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }
}
