//! Shared state in Redis, for cluster mode: implementations of the state
//! ports that several nodes use at once. Where a check and a write must be
//! one step (the room cap), they run as a Lua script, which Redis executes
//! atomically. Every key starts with a prefix (`sb:` by default) so a
//! Redis can be shared with other applications.
//!
//! - [`RedisRooms`]: signalling room membership ([`crate::ports::RoomState`]).
//! - [`RedisPresence`]: sockets per user and the last announced state
//!   ([`crate::ports::PresenceState`]).
//! - [`RedisLocks`]: per-key locks with a time to live ([`crate::ports::Locks`]).

pub mod locks;
pub mod presence;
pub mod rooms;

pub use locks::RedisLocks;
pub use presence::RedisPresence;
pub use rooms::RedisRooms;

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
