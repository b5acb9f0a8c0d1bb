//! The domain: every rule of the product, and nothing of the transport.
//! Services take ports ([`crate::ports`]) and wire types ([`crate::wire`]);
//! none imports axum, socketioxide, tower, or the HTTP and Socket.IO modules
//! (a test in `tests/api/architecture.rs` keeps it so).
//!
//! - [`identity`]: tokens and password hashes.
//! - [`accounts`]: registration, login, user lookup.
//! - [`todos`]: owner-scoped todos that publish their changes.
//! - [`chats`]: chats, history, unread counts, messages, typing.
//! - [`presence`]: who is online, announced to the users sharing a chat.
//! - [`calls`]: call invitations ringing every device, and the call log.
//! - [`signalling`]: `/webrtc` rooms (cap, chat rooms) and the relay rules.
//! - [`cluster`]: this node's sockets in a cluster, and cleaning up after a
//!   node that died.

pub mod accounts;
pub mod calls;
pub mod chats;
pub mod cluster;
pub mod identity;
pub mod presence;
pub mod signalling;
pub mod todos;
