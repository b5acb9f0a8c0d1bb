//! The generator's Socket.IO connections: the project's one client
//! (`sio-client`, one task per socket, callbacks for events and acks), with
//! TCP connections spread over several loopback source addresses (`sys`),
//! since one source address runs out of ephemeral ports near 28k sockets.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use sio_client::{
    AckFn, Client, ConnErr, Counters, EventFn, Incoming, ignore_events, now_ns, ns_at,
};

/// Where and how to connect.
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
    pub nsp: String,
    pub sources: Vec<Ipv4Addr>,
    pub connect_timeout: Duration,
}

impl Target {
    fn client_target(&self) -> sio_client::Target {
        sio_client::Target {
            addr: self.addr,
            host: self.host.clone(),
            path: format!("{}?EIO=4&transport=websocket", self.path),
            nsp: self.nsp.clone(),
            headers: Vec::new(),
            connect_timeout: self.connect_timeout,
            // Small initial read buffer: 100k idle sockets must stay cheap here too.
            read_buffer: 4096,
        }
    }
}

/// Connect, authenticate on the namespace and start the connection task.
/// Returns the client and the time from TCP connect start to the namespace connect ack.
pub async fn connect(
    t: &Target,
    idx: usize,
    token: &str,
    on_event: EventFn,
    counters: Arc<Counters>,
) -> Result<(Client, Duration), ConnErr> {
    connect_opt(t, idx, Some(token), on_event, counters).await
}

/// Like [`connect`], but with `token: None` stop after the engine.io open packet (no namespace).
pub async fn connect_opt(
    t: &Target,
    idx: usize,
    token: Option<&str>,
    on_event: EventFn,
    counters: Arc<Counters>,
) -> Result<(Client, Duration), ConnErr> {
    let start = Instant::now();
    let src = if t.sources.is_empty() {
        None
    } else {
        Some(t.sources[idx % t.sources.len()])
    };
    let stream = tokio::time::timeout(t.connect_timeout, super::sys::connect_from(src, t.addr))
        .await
        .map_err(|_| ConnErr::Timeout)?
        .map_err(|e| ConnErr::Tcp(e.to_string()))?;
    let auth = token.map(|token| serde_json::json!({ "token": token }));
    let left = t.connect_timeout.saturating_sub(start.elapsed());
    let (client, _) =
        sio_client::connect_stream(stream, &t.client_target(), auth, on_event, counters, left)
            .await?;
    Ok((client, start.elapsed()))
}
