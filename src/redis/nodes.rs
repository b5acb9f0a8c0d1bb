//! [`NodeRegistry`] in Redis, and the node's heartbeat. Keys (under the
//! prefix):
//!
//! - `nodes`: set of the node ids of the cluster;
//! - `node:<id>:alive`: exists while the node beats (expires after two
//!   thirds of `NODE_TTL` without a beat);
//! - `node:<id>:members`: hash member key -> [`Member`] as JSON;
//! - `node:<id>:claim`: the node cleaning up after `<id>`, with a lease.
//!
//! The heartbeat also notices that Redis lost the node's keys (a restart
//! without persistence, or a long outage): it registers the node again and
//! re-publishes what this node had written ([`Republish`]: its members, its
//! peers' room memberships, its sockets' presence). A node reaps others only
//! once its own heartbeat has been steady for a whole `NODE_TTL`, so after a
//! Redis restart the nodes have all beaten again before anyone is judged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::Republish;
use crate::ports::{DeadNode, Member, NodeRegistry, StateError};

/// This node's entry in a cluster shared through Redis.
#[derive(Clone)]
pub struct RedisNodes {
    conn: ConnectionManager,
    prefix: String,
    id: String,
    ttl: Duration,
    members: Arc<Mutex<HashMap<String, String>>>,
    steady_since: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for RedisNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisNodes")
            .field("id", &self.id)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn json(m: &Member) -> Result<String, StateError> {
    serde_json::to_string(m).map_err(|e| StateError(e.to_string()))
}

impl RedisNodes {
    /// The node `id` under `prefix`, judged dead `ttl` after its last beat.
    pub fn new(conn: ConnectionManager, prefix: &str, id: &str, ttl: Duration) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            id: id.to_owned(),
            ttl,
            members: Arc::default(),
            steady_since: Arc::default(),
        }
    }

    fn key(&self, node: &str, what: &str) -> String {
        format!("{}node:{node}:{what}", self.prefix)
    }

    fn nodes_key(&self) -> String {
        format!("{}nodes", self.prefix)
    }

    fn alive_ms(&self) -> u64 {
        (self.ttl.as_millis() as u64 * 2 / 3).max(1)
    }

    /// Beat every quarter of the TTL, re-registering (and re-publishing
    /// `state`) whenever Redis has lost the node.
    pub fn start(&self, state: Vec<Arc<dyn Republish>>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval((me.ttl / 4).max(Duration::from_millis(50)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.beat(&state).await;
            }
        })
    }

    async fn beat(&self, state: &[Arc<dyn Republish>]) {
        match self.refresh().await {
            Ok(true) => {
                let mut s = self.steady_since.lock().unwrap_or_else(|p| p.into_inner());
                s.get_or_insert_with(Instant::now);
            }
            Ok(false) => {
                if let Err(e) = self.register(state).await {
                    tracing::warn!(error = %e, "cluster: cannot register this node again");
                    self.unsteady();
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster: heartbeat failed");
                self.unsteady();
            }
        }
    }

    fn unsteady(&self) {
        *self.steady_since.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Extend the alive key; false when it was gone.
    async fn refresh(&self) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(&self.id, "alive"))
            .arg(1)
            .arg("XX")
            .arg("PX")
            .arg(self.alive_ms())
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    /// Join the cluster (again): the node, its members, then `state`.
    async fn register(&self, state: &[Arc<dyn Republish>]) -> Result<(), StateError> {
        let first = self.steady_since_start().is_none();
        let members: Vec<(String, String)> = self
            .members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SADD")
            .arg(self.nodes_key())
            .arg(&self.id)
            .ignore()
            .cmd("SET")
            .arg(self.key(&self.id, "alive"))
            .arg(1)
            .arg("PX")
            .arg(self.alive_ms())
            .ignore();
        if !members.is_empty() {
            pipe.cmd("HSET")
                .arg(self.key(&self.id, "members"))
                .arg(&members)
                .ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
        let mut republished = 0;
        for s in state {
            republished += s.republish().await?;
        }
        if !members.is_empty() || republished > 0 {
            tracing::warn!(
                node = %self.id,
                members = members.len(),
                records = republished,
                "cluster: Redis had lost this node; its state is published again"
            );
        } else if first {
            tracing::info!(node = %self.id, "cluster: node registered");
        }
        *self.steady_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(())
    }

    fn steady_since_start(&self) -> Option<Instant> {
        *self.steady_since.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register for the first time (before serving).
    pub async fn join(&self) -> Result<(), StateError> {
        self.register(&[]).await
    }

    /// Whether this node may judge others: its own beat has been steady for
    /// a whole TTL.
    fn may_judge(&self) -> bool {
        self.steady_since_start()
            .is_some_and(|t| t.elapsed() >= self.ttl)
    }
}

#[async_trait]
impl NodeRegistry for RedisNodes {
    fn node_id(&self) -> &str {
        &self.id
    }

    async fn up(&self, member: &Member) -> Result<(), StateError> {
        let (key, value) = (member.key(), json(member)?);
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), value.clone());
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("HSET")
            .arg(self.key(&self.id, "members"))
            .arg(key)
            .arg(value)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn down(&self, member: &Member) -> Result<(), StateError> {
        let key = member.key();
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("HDEL")
            .arg(self.key(&self.id, "members"))
            .arg(key)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    fn local(&self) -> Vec<Member> {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(|v| serde_json::from_str(v).ok())
            .collect()
    }

    async fn claim_dead(&self) -> Result<Option<DeadNode>, StateError> {
        if !self.may_judge() {
            return Ok(None);
        }
        let mut conn = self.conn.clone();
        let nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.nodes_key())
            .query_async(&mut conn)
            .await?;
        for node in nodes.into_iter().filter(|n| *n != self.id) {
            let alive: bool = redis::cmd("EXISTS")
                .arg(self.key(&node, "alive"))
                .query_async(&mut conn)
                .await?;
            if alive {
                continue;
            }
            let lease = (self.ttl * 4).max(Duration::from_secs(30));
            let claimed: Option<String> = redis::cmd("SET")
                .arg(self.key(&node, "claim"))
                .arg(&self.id)
                .arg("NX")
                .arg("PX")
                .arg(lease.as_millis() as u64)
                .query_async(&mut conn)
                .await?;
            if claimed.is_none() {
                continue;
            }
            let raw: HashMap<String, String> = redis::cmd("HGETALL")
                .arg(self.key(&node, "members"))
                .query_async(&mut conn)
                .await?;
            let members = raw
                .values()
                .filter_map(|v| match serde_json::from_str(v) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        tracing::warn!(node = %node, error = %e, "cluster: unreadable member skipped");
                        None
                    }
                })
                .collect();
            return Ok(Some(DeadNode { id: node, members }));
        }
        Ok(None)
    }

    async fn cleaned(&self, node: &str, member: &Member) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("HDEL")
            .arg(self.key(node, "members"))
            .arg(member.key())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn retire(&self, node: &str) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let () = redis::pipe()
            .atomic()
            .cmd("SREM")
            .arg(self.nodes_key())
            .arg(node)
            .ignore()
            .cmd("DEL")
            .arg(self.key(node, "members"))
            .arg(self.key(node, "alive"))
            .arg(self.key(node, "claim"))
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}
