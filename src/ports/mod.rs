//! Ports: the traits through which the domain reaches shared state and the
//! outside world. Each has an in-process implementation ([`crate::memory`],
//! [`crate::store`] for SQLite) and, in cluster mode, shared ones; every
//! implementation must pass the same suite ([`conformance`]).
//!
//! - [`store`]: users, todos, chats and messages (the database).
//! - [`rooms`]: signalling room membership with its atomic cap.
//! - [`presence`]: which sockets each user has, and what was last announced.
//! - [`calls`]: calls in progress and who is busy; the call log.
//! - [`slots`]: resumable room slots (resume tokens, old peer ids).
//! - [`locks`]: async mutexes by key (a chat, a user).
//! - [`limits`]: token buckets by key (login attempts per IP and e-mail).
//! - [`nodes`]: the nodes of a cluster and their sockets (dead-node cleanup).
//! - [`webhooks`]: reporting events to webhook receivers, and their queue.
//! - [`publish`]: delivering events to users' sockets and to peers.

pub mod calls;
pub mod conformance;
pub mod limits;
pub mod locks;
pub mod nodes;
pub mod presence;
pub mod publish;
pub mod rooms;
pub mod slots;
pub mod store;
pub mod store_conformance;
pub mod webhooks;

pub use calls::{CallLog, CallState, InviteeState, LiveCall, LiveInvitee};
pub use limits::{BucketRate, Buckets};
pub use locks::{LockGuard, Locks};
pub use nodes::{Alone, DeadNode, Member, NodeRegistry};
pub use presence::PresenceState;
pub use publish::{Publisher, Undelivered};
pub use rooms::{JoinError, Joined, Left, RoomState};
pub use slots::{Slot, SlotState};
pub use store::{ChatStore, StoreError, TodoStore, UserStore};
pub use webhooks::{HookQueue, NoHooks, Notifier, QueuedHook};

/// Shared state failed (a backend such as Redis is unreachable). The
/// in-process implementations never return it.
#[derive(Debug, thiserror::Error)]
#[error("shared state unavailable: {0}")]
pub struct StateError(pub String);
