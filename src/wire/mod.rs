//! The wire contract, defined once: event names ([`events`]), ids
//! ([`ids`]), the records clients see ([`models`]), and the payloads of each
//! namespace ([`app`] for `/`, [`webrtc`] for `/webrtc`) and of the REST API
//! ([`http`]). Transport and domain both use these types; nothing here knows
//! about sockets, HTTP or storage.
//!
//! The web client's `web/src/contract.ts` is generated from these types by
//! [`ts::contract`] (ts-rs); a test fails when the checked-in copy is stale.

pub mod app;
pub mod calls;
pub mod events;
pub mod http;
pub mod ids;
pub mod models;
pub mod ts;
pub mod webhooks;
pub mod webrtc;

pub use ids::{CallId, ChatId, MessageId, PeerId, RoomId, TodoId, UserId};
pub use models::{Chat, ChatMember, Message, Priority, Todo, UserRef, UserSummary};

/// The current time as stored and sent: RFC 3339 UTC with milliseconds
/// (`2025-09-30T10:00:00.000Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
