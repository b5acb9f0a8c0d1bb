//! A minimal Engine.IO v4 / Socket.IO v5 client over a raw websocket (no polling, no binary).
//!
//! Wire format used (text frames):
//! - engine.io: `0{open json}` from the server, ping `2` -> pong `3`, close `1`;
//! - socket.io: connect `40/nsp,{auth}` -> `40/nsp,{"sid":..}` or `44/nsp,{"message":..}`,
//!   event `42/nsp,<ackid>["event",data]`, ack `43/nsp,<ackid>[data]`, disconnect `41/nsp,`.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws = WebSocketStream<TcpStream>;

/// Process-wide monotonic base, so timestamps can travel inside payloads as integers.
pub fn now_ns() -> u64 {
    ns_at(Instant::now())
}

pub fn ns_at(t: Instant) -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    t.saturating_duration_since(base).as_nanos() as u64
}

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
    fn url(&self) -> String {
        format!("ws://{}{}?EIO=4&transport=websocket", self.host, self.path)
    }

    /// The namespace part of a packet: "" for the main namespace, "/nsp," otherwise.
    fn nsp_prefix(&self) -> String {
        if self.nsp == "/" {
            String::new()
        } else {
            format!("{},", self.nsp)
        }
    }
}

/// A server event as it arrives: name, the raw JSON array text `["name",data,...]`, arrival time.
pub struct Incoming<'a> {
    pub event: &'a str,
    pub raw: &'a str,
    pub at: Instant,
}

pub type EventFn = Arc<dyn Fn(&Incoming<'_>) + Send + Sync>;
/// Called with the raw ack array text `[data,...]` and the arrival time.
pub type AckFn = Box<dyn FnOnce(&str, Instant) + Send>;

pub fn ignore_events() -> EventFn {
    Arc::new(|_| {})
}

/// Counters shared by every connection of a run.
#[derive(Default)]
pub struct Counters {
    /// Connections that ended without us asking (server close, reset, read error).
    pub disconnects: AtomicU64,
    /// Acks still pending when their connection ended.
    pub acks_lost: AtomicU64,
    /// Engine.IO pings answered.
    pub pings: AtomicU64,
    /// Packets we could not make sense of.
    pub protocol_errors: AtomicU64,
}

/// Why a connect attempt failed.
#[derive(Debug)]
pub enum ConnErr {
    Tcp(String),
    Upgrade(String),
    Rejected(String),
    Closed(String),
    Timeout,
}

impl ConnErr {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnErr::Tcp(_) => "tcp",
            ConnErr::Upgrade(_) => "ws_upgrade",
            ConnErr::Rejected(_) => "connect_error",
            ConnErr::Closed(_) => "closed",
            ConnErr::Timeout => "timeout",
        }
    }
}

impl fmt::Display for ConnErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnErr::Tcp(e) => write!(f, "tcp connect: {e}"),
            ConnErr::Upgrade(e) => write!(f, "websocket upgrade: {e}"),
            ConnErr::Rejected(m) => write!(f, "connect_error: {m}"),
            ConnErr::Closed(e) => write!(f, "closed during handshake: {e}"),
            ConnErr::Timeout => write!(f, "handshake timed out"),
        }
    }
}

impl std::error::Error for ConnErr {}

enum Cmd {
    Emit { body: String, ack: Option<AckFn> },
}

/// Handle to one connected socket; dropping it closes the connection.
pub struct Client {
    tx: mpsc::UnboundedSender<Cmd>,
    pub sid: String,
    alive: Arc<AtomicBool>,
}

fn ws_config() -> WebSocketConfig {
    // Small initial read buffer: 100k idle sockets must stay cheap on the generator side too.
    WebSocketConfig::default().read_buffer_size(4096)
}

async fn next_text(ws: &mut Ws) -> Result<String, ConnErr> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(c))) => {
                return Err(ConnErr::Closed(format!("close frame {c:?}")));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(ConnErr::Closed(e.to_string())),
            None => return Err(ConnErr::Closed("eof".into())),
        }
    }
}

/// TCP connect, websocket upgrade, engine.io open; then, when `token` is given, the namespace
/// connect with `{"token": ...}` until its ack.
async fn handshake(t: &Target, idx: usize, token: Option<&str>) -> Result<(Ws, String), ConnErr> {
    let src = if t.sources.is_empty() {
        None
    } else {
        Some(t.sources[idx % t.sources.len()])
    };
    let stream = crate::sys::connect_from(src, t.addr)
        .await
        .map_err(|e| ConnErr::Tcp(e.to_string()))?;
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(t.url(), stream, Some(ws_config()))
            .await
            .map_err(|e| ConnErr::Upgrade(e.to_string()))?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        return Err(ConnErr::Closed(format!(
            "expected engine.io open, got {open:.40}"
        )));
    }
    let Some(token) = token else {
        let sid = serde_json::from_str::<Value>(&open[1..])
            .ok()
            .and_then(|v| v.get("sid").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        return Ok((ws, sid));
    };
    let prefix = t.nsp_prefix();
    let auth = format!("40{prefix}{}", serde_json::json!({ "token": token }));
    ws.send(Message::text(auth))
        .await
        .map_err(|e| ConnErr::Closed(e.to_string()))?;
    loop {
        let m = next_text(&mut ws).await?;
        if m == "2" {
            ws.send(Message::text("3"))
                .await
                .map_err(|e| ConnErr::Closed(e.to_string()))?;
            continue;
        }
        if let Some(body) = m
            .strip_prefix("40")
            .and_then(|r| r.strip_prefix(prefix.as_str()))
        {
            let sid = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("sid").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            return Ok((ws, sid));
        }
        if let Some(body) = m
            .strip_prefix("44")
            .and_then(|r| r.strip_prefix(prefix.as_str()))
        {
            let msg = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| body.to_owned());
            return Err(ConnErr::Rejected(msg));
        }
        // Anything else before the connect ack (other namespaces, noise) is ignored.
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
    let (ws, sid) = tokio::time::timeout(t.connect_timeout, handshake(t, idx, token))
        .await
        .map_err(|_| ConnErr::Timeout)??;
    let took = start.elapsed();
    let (tx, rx) = mpsc::unbounded_channel();
    let alive = Arc::new(AtomicBool::new(true));
    tokio::spawn(run(
        ws,
        rx,
        on_event,
        counters,
        alive.clone(),
        t.nsp_prefix(),
    ));
    Ok((Client { tx, sid, alive }, took))
}

impl Client {
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    /// Emit an event; `body` is the JSON array text `["event",data]`.
    pub fn emit_raw(&self, body: String, ack: Option<AckFn>) -> bool {
        self.tx.send(Cmd::Emit { body, ack }).is_ok()
    }

    /// Emit `event` with `data` and wait for the ack; returns the first ack argument.
    pub async fn call(&self, event: &str, data: &Value, wait: Duration) -> anyhow::Result<Value> {
        let body = serde_json::to_string(&serde_json::json!([event, data]))?;
        let (otx, orx) = oneshot::channel::<String>();
        let ack: AckFn = Box::new(move |raw, _| {
            let _ = otx.send(raw.to_owned());
        });
        anyhow::ensure!(self.emit_raw(body, Some(ack)), "connection closed");
        let raw = tokio::time::timeout(wait, orx)
            .await
            .map_err(|_| anyhow::anyhow!("no ack for {event} within {wait:?}"))?
            .map_err(|_| anyhow::anyhow!("connection closed before the ack for {event}"))?;
        let v: Value = serde_json::from_str(&raw)?;
        Ok(v.get(0).cloned().unwrap_or(Value::Null))
    }
}

/// Split a socket.io packet of our namespace into (type, ack id, json).
fn parse_sio<'a>(s: &'a str, prefix: &str) -> Option<(u8, Option<u64>, &'a str)> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b'4' {
        return None;
    }
    let ty = b[1];
    let rest = s[2..].strip_prefix(prefix)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        rest[..digits].parse().ok()
    } else {
        None
    };
    Some((ty, id, &rest[digits..]))
}

fn event_name(json: &str) -> Option<&str> {
    let r = json.strip_prefix("[\"")?;
    let end = r.find('"')?;
    Some(&r[..end])
}

async fn run(
    mut ws: Ws,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    on_event: EventFn,
    counters: Arc<Counters>,
    alive: Arc<AtomicBool>,
    prefix: String,
) {
    let mut pending: HashMap<u64, AckFn> = HashMap::new();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            m = ws.next() => {
                let text = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        counters.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let at = Instant::now();
                let s = text.as_str();
                if s == "2" {
                    counters.pings.fetch_add(1, Ordering::Relaxed);
                    if ws.send(Message::text("3")).await.is_err() {
                        counters.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    continue;
                }
                if s == "1" {
                    counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                match parse_sio(s, &prefix) {
                    Some((b'2', _, json)) => match event_name(json) {
                        Some(event) => on_event(&Incoming { event, raw: json, at }),
                        None => {
                            counters.protocol_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    Some((b'3', Some(id), json)) => {
                        if let Some(f) = pending.remove(&id) {
                            f(json, at);
                        }
                    }
                    Some((b'1', _, _)) => {
                        counters.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Some(_) => {}
                    None => {
                        if !s.starts_with('3') && !s.starts_with('6') {
                            counters.protocol_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            c = rx.recv() => {
                let Some(first) = c else {
                    // Handle dropped: polite close, no waiting for the reply.
                    let _ = ws.close(None).await;
                    break;
                };
                let mut cmd = Some(first);
                let mut batch = 0;
                let mut failed = false;
                while let Some(Cmd::Emit { body, ack }) = cmd.take() {
                    let packet = match ack {
                        Some(f) => {
                            next_id += 1;
                            pending.insert(next_id, f);
                            format!("42{prefix}{next_id}{body}")
                        }
                        None => format!("42{prefix}{body}"),
                    };
                    if ws.feed(Message::text(packet)).await.is_err() {
                        failed = true;
                        break;
                    }
                    batch += 1;
                    if batch < 64 {
                        cmd = rx.try_recv().ok();
                    }
                }
                if failed || ws.flush().await.is_err() {
                    counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
    alive.store(false, Ordering::Relaxed);
    counters
        .acks_lost
        .fetch_add(pending.len() as u64, Ordering::Relaxed);
}
