//! Which implementation of each state port this node uses: in-process
//! ([`crate::memory`]) on its own, Redis ([`crate::redis`]) in cluster mode
//! (`REDIS_URL`). The domain gets the same ports either way.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use socketioxide_redis::RedisAdapterCtr;

use crate::config::{Config, Rate};
use crate::memory::{
    KeyedLocks, MemoryBuckets, MemoryCalls, MemoryPresence, MemoryRooms, MemorySlots,
};
use crate::ports::{
    Alone, Buckets, CallState, Locks, NodeRegistry, PresenceState, RoomState, SlotState, StateError,
};
use crate::redis::{
    PubSubDriver, RedisBuckets, RedisCalls, RedisLocks, RedisNodes, RedisPresence, RedisRooms,
    Republish,
};

/// The state ports of this node.
pub struct SharedState {
    /// Signalling rooms.
    pub rooms: Arc<dyn RoomState>,
    /// `/` sockets per user.
    pub presence: Arc<dyn PresenceState>,
    /// `/webrtc` sockets per user (call devices).
    pub devices: Arc<dyn PresenceState>,
    /// Live calls.
    pub calls: Arc<dyn CallState>,
    /// Resume slots (per node, also in cluster mode).
    pub slots: Arc<dyn SlotState>,
    /// Locks by key.
    pub locks: Arc<dyn Locks>,
    /// This node in the cluster.
    pub nodes: Arc<dyn NodeRegistry>,
    /// Cluster mode only.
    pub cluster: Option<ClusterLink>,
}

/// What cluster mode adds: the adapter's pub/sub, the heartbeat, and a
/// connection to check Redis with.
pub struct ClusterLink {
    /// The Socket.IO adapter's constructor.
    pub adapter: RedisAdapterCtr<PubSubDriver>,
    /// This node's registry (its heartbeat is started by [`ClusterLink::beat`]).
    pub nodes: RedisNodes,
    /// Rooms and presence of this node, written again after Redis lost them.
    pub republish: Vec<Arc<dyn Republish>>,
    /// For readiness checks and for state made later ([`SharedState::buckets`]).
    pub conn: ConnectionManager,
    /// The prefix of every key (`REDIS_PREFIX`).
    pub prefix: String,
}

impl ClusterLink {
    /// Start the heartbeat (and the re-publishing it does).
    pub fn beat(&self) -> tokio::task::JoinHandle<()> {
        self.nodes.start(self.republish.clone())
    }
}

impl SharedState {
    /// In-process state (one node).
    pub fn local() -> Self {
        Self {
            rooms: Arc::new(MemoryRooms::new()),
            presence: Arc::new(MemoryPresence::new()),
            devices: Arc::new(MemoryPresence::new()),
            calls: Arc::new(MemoryCalls::new()),
            slots: Arc::new(MemorySlots::new()),
            locks: Arc::new(KeyedLocks::new()),
            nodes: Arc::new(Alone),
            cluster: None,
        }
    }

    /// Token buckets of `rate` for the limit named `family` (`auth`): in
    /// process on one node, in Redis (shared by every node) in cluster mode.
    pub fn buckets(&self, rate: Rate, family: &str) -> Arc<dyn Buckets> {
        match &self.cluster {
            None => Arc::new(MemoryBuckets::new(rate.bucket())),
            Some(c) => Arc::new(RedisBuckets::new(
                c.conn.clone(),
                &format!("{}rl:{family}:", c.prefix),
                rate.bucket(),
            )),
        }
    }

    /// State in the Redis at `url`, as `config` says.
    pub async fn redis(url: &str, config: &Config) -> Result<Self, StateError> {
        let conn = crate::redis::connect(url).await?;
        let prefix = config.redis_prefix.as_str();
        let rooms = Arc::new(RedisRooms::new(conn.clone(), prefix));
        let presence = Arc::new(RedisPresence::new(conn.clone(), prefix));
        let devices = Arc::new(RedisPresence::new(
            conn.clone(),
            &format!("{prefix}devices:"),
        ));
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let nodes = RedisNodes::new(conn.clone(), prefix, &id, config.node_ttl);
        nodes.join().await?;
        let driver = PubSubDriver::connect(url)
            .await
            .map_err(|e| StateError(e.to_string()))?;
        let adapter = RedisAdapterCtr::new_with_driver(
            driver,
            socketioxide_redis::RedisAdapterConfig::new().with_prefix(format!("{prefix}sio")),
        );
        Ok(Self {
            rooms: rooms.clone(),
            presence: presence.clone(),
            devices: devices.clone(),
            calls: Arc::new(RedisCalls::new(conn.clone(), prefix)),
            slots: Arc::new(MemorySlots::new()),
            locks: Arc::new(RedisLocks::new(conn.clone(), prefix)),
            nodes: Arc::new(nodes.clone()),
            cluster: Some(ClusterLink {
                adapter,
                nodes,
                republish: vec![rooms, presence, devices],
                conn,
                prefix: prefix.to_owned(),
            }),
        })
    }
}
