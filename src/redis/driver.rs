//! The pub/sub driver of socketioxide's Redis adapter, on a
//! [`ConnectionManager`] so that it survives a Redis restart.
//!
//! socketioxide-redis ships a driver on a plain multiplexed connection: once
//! Redis goes away, that connection is dead for good and the node stops
//! hearing the others. This one reconnects (with backoff) and subscribes to
//! its channels again after every reconnect. Messages published while Redis
//! was down are lost (Redis pub/sub is at-most-once); the state that matters
//! lives in keys and is re-published by the node (see [`super::nodes`]).
//!
//! Pushed messages arrive in RESP3 push frames: the URL is switched to
//! RESP3 (Redis 7 or later).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Value};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

/// The driver's error: Redis's own.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DriverError(#[from] redis::RedisError);

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// Redis pub/sub for the adapter, reconnecting and resubscribing by itself.
#[derive(Clone)]
pub struct PubSubDriver {
    conn: ConnectionManager,
    handlers: Handlers,
}

impl std::fmt::Debug for PubSubDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubDriver").finish_non_exhaustive()
    }
}

/// `url` with `protocol=resp3` unless it names a protocol already.
pub fn resp3_url(url: &str) -> String {
    if url.contains("protocol=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}protocol=resp3")
}

impl PubSubDriver {
    /// Connect to `url` (RESP3 is turned on here).
    pub async fn connect(url: &str) -> Result<Self, DriverError> {
        let client = redis::Client::open(resp3_url(url))?;
        let handlers: Handlers = Arc::default();
        let route = handlers.clone();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(move |msg: PushInfo| {
                deliver(msg, &route);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription()
            .set_max_delay(std::time::Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self { conn, handlers })
    }
}

/// Hand a pushed message to its channel's stream (dropped, with a warning,
/// when that stream is full: the adapter reads it continuously).
fn deliver(msg: PushInfo, handlers: &Handlers) {
    if !matches!(msg.kind, PushKind::Message | PushKind::SMessage) {
        return;
    }
    let mut data = msg.data.into_iter();
    let (Some(chan), Some(body)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(chan), Ok(body)) = (
        redis::from_redis_value::<String>(chan),
        redis::from_redis_value::<Vec<u8>>(body),
    ) else {
        return;
    };
    let Ok(map) = handlers.read() else { return };
    if let Some(tx) = map.get(&chan)
        && tx.try_send((chan.clone(), body)).is_err()
    {
        tracing::warn!(channel = %chan, "cluster message dropped: the adapter is behind");
    }
}

impl Driver for PubSubDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        let mut conn = self.conn.clone();
        let _: Value = redis::cmd("PUBLISH")
            .arg(chan)
            .arg(val)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        if let Ok(mut map) = self.handlers.write() {
            map.insert(chan.clone(), tx);
        }
        self.conn.clone().subscribe(&chan).await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        if let Ok(mut map) = self.handlers.write() {
            map.remove(&chan);
        }
        self.conn.clone().unsubscribe(&chan).await?;
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut conn = self.conn.clone();
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::resp3_url;

    #[test]
    fn urls_are_switched_to_resp3_once() {
        assert_eq!(
            resp3_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379?protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://h/0?a=1"),
            "redis://h/0?a=1&protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://h?protocol=resp3"),
            "redis://h?protocol=resp3"
        );
    }
}
