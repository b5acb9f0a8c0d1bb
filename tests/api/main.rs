//! Every Rust integration test, in one binary (zero-to-production's
//! `tests/api/main.rs` layout): one build, one harness ([`helpers`]:
//! `spawn_app()` runs the real app in-process on port 0), one Socket.IO
//! client ([`sio`]). Each module holds the tests of one feature.

mod helpers;
mod sio;
mod webrtc_support;

mod architecture;
mod auth_http;
mod calls;
mod chats;
mod cluster;
mod cluster_process;
mod contract;
mod heartbeat;
mod hostile;
mod hostile_process;
mod loadgen_smoke;
mod operations;
mod postgres;
mod redis_server;
mod redis_state;
mod resume;
mod sessions;
mod shutdown;
mod signalling;
mod store_backends;
mod todos;
mod turn_relay;
mod web_static;
mod webhooks;
mod webrtc_peers;
