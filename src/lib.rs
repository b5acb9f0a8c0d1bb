//! # Switchboard
//!
//! A real-time gateway and WebRTC signalling server speaking Socket.IO v5 /
//! Engine.IO v4, so browsers keep using the official `socket.io-client`.
//!
//! Imports run one way: transport -> domain -> ports <- implementations.
//!
//! - [`wire`]: event names and payload types, defined once (the web client's
//!   types are generated from them).
//! - Transport: [`http`] (REST routes, errors, credentials, Origin guard) and
//!   [`realtime`] (Socket.IO: handshake, the one dispatch path, `/` and
//!   `/webrtc`).
//! - [`domain`]: the rules (accounts, todos, chats, presence, signalling,
//!   calls),
//!   free of axum and socketioxide.
//! - [`ports`]: traits for shared state and the database.
//! - Implementations: [`store`] (SQLite or PostgreSQL), [`memory`]
//!   (in-process state), [`redis`] (state shared by a cluster) and
//!   [`webhooks`] (the outbox and its delivery).
//! - [`turn`]: ICE server lists, TURN REST credentials, the embedded TURN server.
//! - Wiring: [`config`], [`state`] (shared state, narrow pieces by `FromRef`),
//!   [`app`] (router, layers, lifecycle), [`serve`] (the HTTP server loop:
//!   header timeout, peer addresses, graceful drain), [`telemetry`]
//!   (Prometheus metrics).

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod memory;
pub mod ports;
pub mod realtime;
pub mod redis;
pub mod serve;
pub mod shared;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod turn;
pub mod webhooks;
pub mod wire;

pub use app::App;
pub use config::Config;
pub use state::AppState;
