//! The nodes of a cluster, and the sockets each one serves.
//!
//! Every node records its sockets as [`Member`]s while they are connected.
//! A node that dies (a crash, `kill -9`, a lost host) cannot clean up after
//! itself: its heartbeat stops, and another node [claims](NodeRegistry::claim_dead)
//! it, disconnects each member on its behalf (rooms, presence, calls; see
//! [`crate::domain::cluster`]) and [retires](NodeRegistry::retire) it. One
//! process alone has no other node to die: its registry keeps nothing.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StateError;
use crate::wire::{PeerId, UserId, UserRef};

/// A socket a node serves, as another node needs it to clean up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ns", rename_all = "camelCase")]
pub enum Member {
    /// A socket on `/` (counts for presence).
    App {
        /// The socket id.
        socket: String,
        /// Its user.
        user: UserId,
    },
    /// A socket on `/webrtc` (a peer in rooms, a device in calls).
    Device {
        /// The peer id.
        peer: PeerId,
        /// Its user.
        user: UserRef,
    },
}

impl Member {
    /// The member's key, unique on a node.
    pub fn key(&self) -> String {
        match self {
            Member::App { socket, .. } => format!("app:{socket}"),
            Member::Device { peer, .. } => format!("webrtc:{peer}"),
        }
    }
}

/// A dead node, claimed for cleaning up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadNode {
    /// Its id.
    pub id: String,
    /// The sockets it still had.
    pub members: Vec<Member>,
}

/// This node's entry in the cluster.
#[async_trait]
pub trait NodeRegistry: Send + Sync + std::fmt::Debug {
    /// This node's id.
    fn node_id(&self) -> &str;
    /// A socket of this node connected.
    async fn up(&self, member: &Member) -> Result<(), StateError>;
    /// A socket of this node is gone (no-op when unknown).
    async fn down(&self, member: &Member) -> Result<(), StateError>;
    /// The sockets this node has recorded (to clean up before it stops).
    fn local(&self) -> Vec<Member>;
    /// Claim one node whose heartbeat stopped (no other node gets it while
    /// the claim lasts), with its members; `None` when every node is alive.
    async fn claim_dead(&self) -> Result<Option<DeadNode>, StateError>;
    /// One member of the claimed node `node` is cleaned up.
    async fn cleaned(&self, node: &str, member: &Member) -> Result<(), StateError>;
    /// Every member of `node` is cleaned up: forget the node.
    async fn retire(&self, node: &str) -> Result<(), StateError>;
}

/// The registry of a node that is alone: nothing to record, no other node.
#[derive(Debug, Default)]
pub struct Alone;

#[async_trait]
impl NodeRegistry for Alone {
    fn node_id(&self) -> &str {
        "local"
    }
    async fn up(&self, _: &Member) -> Result<(), StateError> {
        Ok(())
    }
    async fn down(&self, _: &Member) -> Result<(), StateError> {
        Ok(())
    }
    fn local(&self) -> Vec<Member> {
        Vec::new()
    }
    async fn claim_dead(&self) -> Result<Option<DeadNode>, StateError> {
        Ok(None)
    }
    async fn cleaned(&self, _: &str, _: &Member) -> Result<(), StateError> {
        Ok(())
    }
    async fn retire(&self, _: &str) -> Result<(), StateError> {
        Ok(())
    }
}
