//! [`RoomState`] in Redis. Keys (under the prefix):
//!
//! - `room:<id>`: sorted set of peer ids, scored by a global join counter
//!   (`seq`), so members come back in join order;
//! - `room:<id>:info`: hash peer id -> the peer's `PeerInfo` as JSON;
//! - `peer:<id>`: set of the rooms a peer is in;
//! - `rooms`: set of the rooms that have members.
//!
//! Join, leave and replace are Lua scripts: the cap check and the insert,
//! and the removal with the emptied-room cleanup, are atomic across nodes.
//!
//! Each node keeps a copy of the memberships it wrote (its own peers join
//! through it) and writes them again when Redis lost them ([`Republish`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use super::Republish;
use crate::ports::{JoinError, Joined, Left, RoomState, StateError};
use crate::wire::webrtc::PeerInfo;
use crate::wire::{PeerId, RoomId};

/// KEYS: room, info, peer rooms, rooms, seq. ARGV: room id, peer id, info
/// JSON, cap. Returns {status, others...}: status 1 joined, 0 already in,
/// -1 full.
const JOIN: &str = r#"
local others = {}
local function roster(except)
  local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
  for _, id in ipairs(ids) do
    if id ~= except then
      table.insert(others, redis.call('HGET', KEYS[2], id))
    end
  end
end
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  roster(ARGV[2])
  return {0, unpack(others)}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return {-1}
end
roster(ARGV[2])
redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[5]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return {1, unpack(others)}
"#;

/// KEYS: room, info, peer rooms, rooms. ARGV: room id, peer id. Returns
/// {} when absent, else {peer info, rest...}.
const LEAVE: &str = r#"
local me = redis.call('HGET', KEYS[2], ARGV[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  return {}
end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[1])
local rest = {me}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  table.insert(rest, redis.call('HGET', KEYS[2], id))
end
if #ids == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', KEYS[4], ARGV[1])
end
return rest
"#;

/// KEYS: room, info, old peer rooms, new peer rooms. ARGV: room id, old
/// id, new id, new info JSON. Returns {status, others...}: status 0 when the
/// old peer is not there.
const REPLACE: &str = r#"
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score then
  return {0}
end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], score, ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('SADD', KEYS[4], ARGV[1])
end
local others = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[3] then
    table.insert(others, redis.call('HGET', KEYS[2], id))
  end
end
return {1, unpack(others)}
"#;

/// Signalling rooms shared by every node through Redis.
#[derive(Clone)]
pub struct RedisRooms {
    conn: ConnectionManager,
    prefix: String,
    join: Script,
    leave: Script,
    replace: Script,
    mine: Arc<Mutex<HashMap<(RoomId, PeerId), PeerInfo>>>,
}

impl std::fmt::Debug for RedisRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRooms")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn info(raw: &str) -> Result<PeerInfo, StateError> {
    serde_json::from_str(raw).map_err(|e| StateError(format!("bad peer info in Redis: {e}")))
}

fn infos(raw: &[String]) -> Result<Vec<PeerInfo>, StateError> {
    raw.iter().map(|r| info(r)).collect()
}

impl RedisRooms {
    /// Rooms under `prefix` (e.g. `sb:`) on `conn`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            join: Script::new(JOIN),
            leave: Script::new(LEAVE),
            replace: Script::new(REPLACE),
            mine: Arc::default(),
        }
    }

    fn mine(&self) -> std::sync::MutexGuard<'_, HashMap<(RoomId, PeerId), PeerInfo>> {
        self.mine.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run_join(
        &self,
        room: &RoomId,
        peer: &PeerInfo,
        cap: usize,
    ) -> Result<(i64, Vec<String>), StateError> {
        let json = serde_json::to_string(peer).map_err(|e| StateError(e.to_string()))?;
        let mut conn = self.conn.clone();
        let raw: Vec<redis::Value> = self
            .join
            .key(self.room_key(room))
            .key(self.info_key(room))
            .key(self.peer_key(&peer.peer_id))
            .key(self.rooms_key())
            .key(format!("{}seq", self.prefix))
            .arg(room.as_str())
            .arg(peer.peer_id.as_str())
            .arg(json)
            .arg(cap)
            .invoke_async(&mut conn)
            .await?;
        status_and_rest(raw)
    }

    fn room_key(&self, room: &RoomId) -> String {
        format!("{}room:{room}", self.prefix)
    }

    fn info_key(&self, room: &RoomId) -> String {
        format!("{}room:{room}:info", self.prefix)
    }

    fn peer_key(&self, peer: &PeerId) -> String {
        format!("{}peer:{peer}", self.prefix)
    }

    fn rooms_key(&self) -> String {
        format!("{}rooms", self.prefix)
    }
}

/// Split a script's `{status, json...}` answer.
fn status_and_rest(raw: Vec<redis::Value>) -> Result<(i64, Vec<String>), StateError> {
    let mut it = raw.into_iter();
    let status: i64 = match it.next() {
        Some(v) => redis::from_redis_value(v)?,
        None => return Err(StateError("empty script answer".into())),
    };
    let rest = it
        .map(redis::from_redis_value::<String>)
        .collect::<Result<_, _>>()?;
    Ok((status, rest))
}

#[async_trait]
impl RoomState for RedisRooms {
    async fn join(&self, room: &RoomId, peer: PeerInfo, cap: usize) -> Result<Joined, JoinError> {
        let (status, others) = self.run_join(room, &peer, cap).await?;
        if status < 0 {
            return Err(JoinError::Full(cap));
        }
        self.mine()
            .insert((room.clone(), peer.peer_id.clone()), peer);
        Ok(Joined {
            others: infos(&others)?,
            new: status == 1,
        })
    }

    async fn leave(&self, room: &RoomId, peer: &PeerId) -> Result<Option<Left>, StateError> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = self
            .leave
            .key(self.room_key(room))
            .key(self.info_key(room))
            .key(self.peer_key(peer))
            .key(self.rooms_key())
            .arg(room.as_str())
            .arg(peer.as_str())
            .invoke_async(&mut conn)
            .await?;
        self.mine().remove(&(room.clone(), peer.clone()));
        let Some((me, rest)) = raw.split_first() else {
            return Ok(None);
        };
        Ok(Some(Left {
            room: room.clone(),
            peer: info(me)?,
            rest: infos(rest)?,
        }))
    }

    async fn leave_all(&self, peer: &PeerId) -> Result<Vec<Left>, StateError> {
        let mut left = Vec::new();
        for room in self.rooms_of(peer).await? {
            if let Some(l) = self.leave(&room, peer).await? {
                left.push(l);
            }
        }
        Ok(left)
    }

    async fn share_room(&self, a: &PeerId, b: &PeerId) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let common: Vec<String> = redis::cmd("SINTER")
            .arg(self.peer_key(a))
            .arg(self.peer_key(b))
            .query_async(&mut conn)
            .await?;
        Ok(!common.is_empty())
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<PeerInfo>, StateError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.room_key(room))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.info_key(room))
            .arg(&ids)
            .query_async(&mut conn)
            .await?;
        raw.into_iter().flatten().map(|r| info(&r)).collect()
    }

    async fn room_count(&self) -> Result<usize, StateError> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("SCARD")
            .arg(self.rooms_key())
            .query_async(&mut conn)
            .await?)
    }

    async fn rooms_of(&self, peer: &PeerId) -> Result<Vec<RoomId>, StateError> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.peer_key(peer))
            .query_async(&mut conn)
            .await?;
        raw.iter()
            .map(|r| RoomId::parse(r).map_err(|e| StateError(e.to_string())))
            .collect()
    }

    async fn replace(
        &self,
        room: &RoomId,
        old: &PeerId,
        new: PeerInfo,
    ) -> Result<Option<Vec<PeerInfo>>, StateError> {
        let json = serde_json::to_string(&new).map_err(|e| StateError(e.to_string()))?;
        let mut conn = self.conn.clone();
        let raw: Vec<redis::Value> = self
            .replace
            .key(self.room_key(room))
            .key(self.info_key(room))
            .key(self.peer_key(old))
            .key(self.peer_key(&new.peer_id))
            .arg(room.as_str())
            .arg(old.as_str())
            .arg(new.peer_id.as_str())
            .arg(json)
            .invoke_async(&mut conn)
            .await?;
        let (status, others) = status_and_rest(raw)?;
        if status == 0 {
            return Ok(None);
        }
        {
            let mut mine = self.mine();
            mine.remove(&(room.clone(), old.clone()));
            mine.insert((room.clone(), new.peer_id.clone()), new);
        }
        Ok(Some(infos(&others)?))
    }
}

#[async_trait]
impl Republish for RedisRooms {
    async fn republish(&self) -> Result<usize, StateError> {
        let mine: Vec<_> = self
            .mine()
            .iter()
            .map(|((room, _), peer)| (room.clone(), peer.clone()))
            .collect();
        for (room, peer) in &mine {
            // Everyone was admitted once: no cap applies to coming back.
            self.run_join(room, peer, usize::MAX).await?;
        }
        Ok(mine.len())
    }
}
