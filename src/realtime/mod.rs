//! Socket.IO transport: the server with capped limits, the handshake shared
//! by every namespace ([`session`]), the one dispatch path every event
//! takes ([`dispatch`], ordered by [`sequencer`]), the [`Publisher`] over
//! Socket.IO ([`publisher`]), and one file per namespace: [`app_ns`] for
//! `/`, [`webrtc_ns`] for `/webrtc`.
//!
//! Every handler is generic over socketioxide's [`Adapter`], so another
//! adapter (Redis, for a cluster) plugs in at [`register`] without
//! touching them.
//!
//! [`Publisher`]: crate::ports::Publisher

pub mod admission;
pub mod app_ns;
pub mod dispatch;
pub mod expiry;
pub mod log_gate;
pub mod publisher;
pub mod rate;
pub mod sequencer;
pub mod session;
pub mod webrtc_calls;
pub mod webrtc_ns;

use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::handler::ConnectHandler;
use socketioxide::{SocketIo, SocketIoBuilder};
use socketioxide_core::adapter::DefinedAdapter;

/// Largest websocket message or polling payload accepted (SDP is capped at 64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Packets buffered per client before `emit` fails (ICE bursts need headroom).
pub const MAX_BUFFERED_PACKETS: usize = 1024;

/// Websocket read buffer per socket (engineioxide's default is 4096). It is
/// zero-filled, so it costs its full size in RSS on every idle socket; 2048
/// saves ~1.9 KiB per socket with no measurable relay CPU cost (1024 saves
/// ~2.9 KiB but costs ~8% more server CPU per relayed 2–4 KiB SDP).
pub const WS_READ_BUFFER_BYTES: usize = 2048;

/// Where Engine.IO (and so Socket.IO) is served: socketioxide's default path.
pub const ENGINE_IO_PATH: &str = "/socket.io";

/// Whether `path` is served by Engine.IO.
pub fn is_engine_io_path(path: &str) -> bool {
    path.strip_prefix(ENGINE_IO_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Socket.IO builder with Switchboard's limits and the configured heartbeat.
pub fn builder(config: &crate::config::Config) -> SocketIoBuilder {
    SocketIo::builder()
        .req_path(ENGINE_IO_PATH)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
        .max_payload(MAX_MESSAGE_BYTES as u64)
        .max_buffer_size(MAX_BUFFERED_PACKETS)
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .connect_timeout(Duration::from_secs(10))
}

/// Register both namespaces on `io`. Returns each namespace's adapter
/// initialisation (nothing to wait for in process; a future to await with a
/// remote adapter).
pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> [A::InitRes; 2] {
    // Middlewares run last-added first: auth, then the namespace's setup.
    let app = io.ns(
        "/",
        app_ns::on_connect::<A>
            .with(app_ns::setup::<A>)
            .with(session::authenticate::<A>),
    );
    let webrtc = io.ns(
        "/webrtc",
        webrtc_ns::on_connect::<A>
            .with(webrtc_ns::setup::<A>)
            .with(session::authenticate::<A>),
    );
    [app, webrtc]
}
