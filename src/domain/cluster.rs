//! Cluster membership: the sockets of this node are recorded while they are
//! connected, and a node that died is cleaned up by another.
//!
//! A node's own disconnect handlers leave rooms, drop presence and end
//! calls. A node killed outright runs none of them, so the survivors do it
//! for it: every sweep [claims](NodeRegistry::claim_dead) at most one dead
//! node and disconnects each of its members exactly as its own handlers
//! would have ([`Cluster::clean`]): a `/webrtc` peer leaves its rooms (the
//! others get `peer:left` with reason `disconnected`) and its calls (the
//! last device of a user hangs up or cancels), a `/` socket stops counting
//! for presence (its user goes offline with their last socket). Each member
//! is marked done as it is cleaned, so a sweeper that dies halfway leaves
//! the rest to the next one.

use std::sync::Arc;
use std::time::Duration;

use super::calls::Calls;
use super::presence::Presence;
use super::signalling::Signalling;
use crate::ports::{Alone, Member, NodeRegistry};
use crate::wire::webrtc::LeaveReason;

/// This node's membership, and the cleanup of dead nodes.
#[derive(Clone, Debug)]
pub struct Cluster {
    nodes: Arc<dyn NodeRegistry>,
    signalling: Signalling,
    calls: Calls,
    presence: Presence,
}

impl Cluster {
    /// Membership over `nodes`, cleaning up through the domain services.
    pub fn new(
        nodes: Arc<dyn NodeRegistry>,
        signalling: Signalling,
        calls: Calls,
        presence: Presence,
    ) -> Self {
        Self {
            nodes,
            signalling,
            calls,
            presence,
        }
    }

    /// A node alone (nothing recorded).
    pub fn alone(signalling: Signalling, calls: Calls, presence: Presence) -> Self {
        Self::new(Arc::new(Alone), signalling, calls, presence)
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        self.nodes.node_id()
    }

    /// A socket of this node connected.
    pub async fn up(&self, member: &Member) {
        if let Err(e) = self.nodes.up(member).await {
            tracing::warn!(member = %member.key(), error = %e, "cluster: socket not recorded");
        }
    }

    /// A socket of this node is gone, and cleaned up.
    pub async fn down(&self, member: &Member) {
        if let Err(e) = self.nodes.down(member).await {
            tracing::warn!(member = %member.key(), error = %e, "cluster: socket not forgotten");
        }
    }

    /// Clean up one dead node, if any; returns how many members it had.
    pub async fn sweep(&self) -> Option<usize> {
        let dead = match self.nodes.claim_dead().await {
            Ok(d) => d?,
            Err(e) => {
                tracing::debug!(error = %e, "cluster: no sweep");
                return None;
            }
        };
        tracing::warn!(node = %dead.id, members = dead.members.len(), "cluster: a node died; cleaning up after it");
        for m in &dead.members {
            self.clean(m).await;
            if let Err(e) = self.nodes.cleaned(&dead.id, m).await {
                tracing::warn!(node = %dead.id, error = %e, "cluster: cleanup not recorded");
                return Some(dead.members.len());
            }
        }
        if let Err(e) = self.nodes.retire(&dead.id).await {
            tracing::warn!(node = %dead.id, error = %e, "cluster: dead node not retired");
        }
        Some(dead.members.len())
    }

    /// Disconnect `member` of a dead node as its own node would have.
    pub async fn clean(&self, member: &Member) {
        match member {
            Member::App { socket, user } => {
                self.presence.disconnected(user, socket).await;
                self.presence.announce(user).await;
            }
            Member::Device { peer, user } => {
                self.signalling
                    .disconnected(peer, LeaveReason::Disconnected, false)
                    .await;
                self.calls.device_disconnected(user, peer).await;
            }
        }
    }

    /// This node stops: disconnect its sockets here as their handlers would
    /// have (the server closes them without running those), then leave the
    /// cluster.
    pub async fn leave(&self) {
        let members = self.nodes.local();
        for m in &members {
            self.clean(m).await;
            self.down(m).await;
        }
        if let Err(e) = self.nodes.retire(self.nodes.node_id()).await {
            tracing::warn!(error = %e, "cluster: this node not retired");
        }
    }

    /// Sweep every `every` until the process ends.
    pub fn start_sweeping(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Several nodes may have died: take them one after another.
                while me.sweep().await.is_some() {}
            }
        })
    }
}
