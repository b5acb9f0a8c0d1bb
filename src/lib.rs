//! # Switchboard
//!
//! A real-time gateway and WebRTC signalling server speaking Socket.IO v5 /
//! Engine.IO v4, so browsers keep using the official `socket.io-client`.
//!
//! - [`config`]: flags and environment.
//! - [`auth`]: JWT tokens, token lookup, password hashing, `/auth/*`.
//! - [`store`]: SQLite through sqlx, migrations under `migrations/`.
//! - [`api`]: REST routes.
//! - [`realtime`]: Socket.IO setup, the shared auth middleware, one file per
//!   namespace (`/` in [`realtime::app`], `/webrtc` in [`realtime::webrtc`]).
//! - [`rooms`]: signalling room state, separate from transport.
//! - [`todos`], [`chats`], [`presence`]: domain services behind REST and `/`.
//! - [`notifier`]: how domain services publish events.
//! - [`turn`]: ICE servers and TURN REST credentials.
//! - [`app`]: wiring and lifecycle.

pub mod api;
pub mod app;
pub mod auth;
pub mod chats;
pub mod config;
pub mod error;
pub mod locks;
pub mod notifier;
pub mod presence;
pub mod realtime;
pub mod rooms;
pub mod store;
pub mod todos;
pub mod turn;

pub use app::{App, AppState};
pub use config::Config;
