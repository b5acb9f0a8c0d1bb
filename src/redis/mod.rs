//! Shared state in Redis, for cluster mode: implementations of the state
//! ports that several nodes use at once. Where a check and a write must be
//! one step (the room cap), they run as a Lua script, which Redis executes
//! atomically. Every key starts with a prefix (`sb:` by default) so a
//! Redis can be shared with other applications.
//!
//! - [`RedisRooms`]: signalling room membership ([`crate::ports::RoomState`]).
//! - [`RedisPresence`]: sockets per user and the last announced state
//!   ([`crate::ports::PresenceState`]).
//! - [`RedisBuckets`]: token buckets shared by the nodes (login attempts,
//!   [`crate::ports::Buckets`]).
//! - [`RedisLocks`]: per-key locks with a time to live ([`crate::ports::Locks`]).
//! - [`RedisCalls`]: calls in progress and who is busy ([`crate::ports::CallState`]).
//! - [`RedisNodes`]: the cluster's nodes, their sockets and the heartbeat
//!   ([`crate::ports::NodeRegistry`]).
//! - [`PubSubDriver`]: the pub/sub driver of socketioxide's Redis adapter,
//!   which carries Socket.IO packets between nodes.
//!
//! Rooms, presence and nodes keep a copy of what this node wrote for its
//! own sockets, so that a Redis that lost its data (restarted without
//! persistence) gets it back ([`Republish`]).

pub mod buckets;
pub mod calls;
pub mod driver;
pub mod locks;
pub mod nodes;
pub mod presence;
pub mod rooms;

pub use buckets::RedisBuckets;
pub use calls::RedisCalls;
pub use driver::PubSubDriver;
pub use locks::RedisLocks;
pub use nodes::RedisNodes;
pub use presence::RedisPresence;
pub use rooms::RedisRooms;

use async_trait::async_trait;

use redis::aio::ConnectionManager;

use crate::ports::StateError;

impl From<redis::RedisError> for StateError {
    fn from(e: redis::RedisError) -> Self {
        StateError(e.to_string())
    }
}

impl From<redis::ParsingError> for StateError {
    fn from(e: redis::ParsingError) -> Self {
        StateError(format!("unexpected answer from Redis: {e}"))
    }
}

/// Connect to `url` (`redis://host:port`); the connection reconnects by
/// itself when Redis restarts.
pub async fn connect(url: &str) -> Result<ConnectionManager, StateError> {
    let client = redis::Client::open(url)?;
    Ok(ConnectionManager::new(client).await?)
}

/// State this node wrote to Redis and can write again after Redis lost it.
#[async_trait]
pub trait Republish: Send + Sync {
    /// Write this node's records again; returns how many.
    async fn republish(&self) -> Result<usize, StateError>;
}
