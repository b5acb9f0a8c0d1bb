//! The connection: handshake, then one task that answers pings, hands
//! events and acks to callbacks, and writes queued packets in order.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::packet::{self, Frame};

type Ws = WebSocketStream<TcpStream>;

/// Process-wide monotonic base, so timestamps can travel inside payloads as integers.
pub fn now_ns() -> u64 {
    ns_at(Instant::now())
}

/// Nanoseconds of `t` since the process-wide base.
pub fn ns_at(t: Instant) -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    t.saturating_duration_since(base).as_nanos() as u64
}

/// `http://h:p/...` -> `ws://h:p/socket.io/?EIO=4&transport=websocket`.
pub fn ws_url(base: &str) -> Result<String, ConnErr> {
    let base = base.trim_end_matches('/');
    let rest = if let Some(r) = base.strip_prefix("http://") {
        r
    } else if let Some(r) = base.strip_prefix("ws://") {
        r
    } else {
        return Err(ConnErr::Url(format!(
            "url must start with http:// or ws:// (no TLS): {base}"
        )));
    };
    Ok(format!("ws://{rest}/socket.io/?EIO=4&transport=websocket"))
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// TCP address of the server.
    pub addr: SocketAddr,
    /// `Host` of the websocket request (`127.0.0.1:3000`).
    pub host: String,
    /// Engine.IO path and query (`/socket.io/?EIO=4&transport=websocket`).
    pub path: String,
    /// Namespace (`/` or `/webrtc`).
    pub nsp: String,
    /// Extra request headers (`Authorization`, `Origin`, `Cookie`...).
    pub headers: Vec<(String, String)>,
    /// Limit for the whole handshake.
    pub connect_timeout: Duration,
    /// Initial websocket read buffer (kept small: many idle sockets stay cheap).
    pub read_buffer: usize,
}

impl Target {
    /// The target for a base URL (`http://127.0.0.1:3000`) and a namespace.
    pub fn from_url(base: &str, nsp: &str) -> Result<Self, ConnErr> {
        let ws = ws_url(base)?;
        let after = &ws["ws://".len()..];
        let (host, path) = after.split_at(after.find('/').unwrap_or(after.len()));
        let addr = host
            .to_socket_addrs()
            .map_err(|e| ConnErr::Url(format!("{host}: {e}")))?
            .next()
            .ok_or_else(|| ConnErr::Url(format!("{host}: no address")))?;
        Ok(Self {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
            nsp: nsp.to_owned(),
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            read_buffer: 4096,
        })
    }

    /// Add a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn url(&self) -> String {
        format!("ws://{}{}", self.host, self.path)
    }
}

/// A server event as it arrives: name, the raw JSON array text
/// `["name",data,...]`, arrival time.
pub struct Incoming<'a> {
    /// Event name.
    pub event: &'a str,
    /// The JSON array text.
    pub raw: &'a str,
    /// When the frame was read.
    pub at: Instant,
}

/// Called for every event of the namespace.
pub type EventFn = Arc<dyn Fn(&Incoming<'_>) + Send + Sync>;
/// Called with the raw ack array text `[data,...]` and the arrival time.
pub type AckFn = Box<dyn FnOnce(&str, Instant) + Send>;

/// An event callback that drops everything.
pub fn ignore_events() -> EventFn {
    Arc::new(|_| {})
}

/// Counters shared by every connection of a run.
#[derive(Debug, Default)]
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
#[derive(Debug, thiserror::Error)]
pub enum ConnErr {
    /// A URL this client cannot use.
    #[error("bad url: {0}")]
    Url(String),
    /// TCP connect failed.
    #[error("tcp connect: {0}")]
    Tcp(String),
    /// The websocket upgrade failed (403 from an Origin check, say).
    #[error("websocket upgrade: {0}")]
    Upgrade(String),
    /// The namespace refused: `connect_error` with this message.
    #[error("connect_error: {0}")]
    Rejected(String),
    /// The connection closed during the handshake.
    #[error("closed during handshake: {0}")]
    Closed(String),
    /// The handshake did not finish in time.
    #[error("handshake timed out")]
    Timeout,
}

impl ConnErr {
    /// A short name of the failure (for counting).
    pub fn kind(&self) -> &'static str {
        match self {
            ConnErr::Url(_) => "url",
            ConnErr::Tcp(_) => "tcp",
            ConnErr::Upgrade(_) => "ws_upgrade",
            ConnErr::Rejected(_) => "connect_error",
            ConnErr::Closed(_) => "closed",
            ConnErr::Timeout => "timeout",
        }
    }
}

/// Why an emit-and-wait failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
    /// The connection closed before the ack arrived.
    #[error("connection closed before the ack for {0}")]
    Lost(String),
    /// No ack in time.
    #[error("no ack for {0} within {1:?}")]
    Timeout(String, Duration),
    /// The payload could not be serialized.
    #[error("payload: {0}")]
    Payload(#[from] serde_json::Error),
}

enum Cmd {
    Emit {
        body: String,
        ack: Option<AckFn>,
    },
    Close,
    /// Drop the websocket without a goodbye (as a network loss would).
    Drop,
}

/// Handle to one connected socket; dropping it closes the connection.
pub struct Client {
    tx: mpsc::UnboundedSender<Cmd>,
    /// The socket id (of the namespace, or of Engine.IO without one).
    pub sid: String,
    alive: Arc<AtomicBool>,
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

/// Websocket upgrade and Engine.IO open on `stream`; then, unless `auth` is
/// `None`, the namespace connect with `auth` (`Some(Value::Null)` sends no
/// auth payload) until its answer.
async fn handshake(
    stream: TcpStream,
    t: &Target,
    auth: Option<&Value>,
) -> Result<(Ws, String), ConnErr> {
    let mut req = t
        .url()
        .into_client_request()
        .map_err(|e| ConnErr::Url(e.to_string()))?;
    for (k, v) in &t.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| ConnErr::Url(e.to_string()))?;
        let value = HeaderValue::from_str(v).map_err(|e| ConnErr::Url(e.to_string()))?;
        req.headers_mut().append(name, value);
    }
    let config = WebSocketConfig::default().read_buffer_size(t.read_buffer);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(config))
        .await
        .map_err(|e| ConnErr::Upgrade(e.to_string()))?;
    let open = next_text(&mut ws).await?;
    let Frame::Open(open) = packet::parse(&open, "") else {
        return Err(ConnErr::Closed(format!(
            "expected engine.io open, got {open:.40}"
        )));
    };
    let Some(auth) = auth else {
        return Ok((ws, packet::field(open, "sid").unwrap_or_default()));
    };
    let prefix = packet::nsp_prefix(&t.nsp);
    let auth = (!auth.is_null()).then_some(auth);
    ws.send(Message::text(packet::connect(&prefix, auth)))
        .await
        .map_err(|e| ConnErr::Closed(e.to_string()))?;
    loop {
        let m = next_text(&mut ws).await?;
        match packet::parse(&m, &prefix) {
            Frame::Ping => ws
                .send(Message::text(packet::PONG))
                .await
                .map_err(|e| ConnErr::Closed(e.to_string()))?,
            Frame::Connect(body) => {
                return Ok((ws, packet::field(body, "sid").unwrap_or_default()));
            }
            Frame::ConnectError(body) => {
                let msg = packet::field(body, "message").unwrap_or_else(|| body.to_owned());
                return Err(ConnErr::Rejected(msg));
            }
            Frame::Close => return Err(ConnErr::Closed("engine.io close".into())),
            // Anything else before the connect answer is ignored.
            _ => {}
        }
    }
}

/// Connect to `t`, open the namespace with `auth` (`None`: stop after the
/// Engine.IO open; `Some(Value::Null)`: no auth payload) and start the
/// connection task. Returns the client and the time from TCP connect start
/// to the namespace's answer.
pub async fn connect(
    t: &Target,
    auth: Option<Value>,
    on_event: EventFn,
    counters: Arc<Counters>,
) -> Result<(Client, Duration), ConnErr> {
    let start = Instant::now();
    let stream = tokio::time::timeout(t.connect_timeout, TcpStream::connect(t.addr))
        .await
        .map_err(|_| ConnErr::Timeout)?
        .map_err(|e| ConnErr::Tcp(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let left = t.connect_timeout.saturating_sub(start.elapsed());
    let (client, _) = connect_stream(stream, t, auth, on_event, counters, left).await?;
    Ok((client, start.elapsed()))
}

/// As [`connect`], over a TCP stream the caller connected (e.g. from a
/// chosen source address), within `limit`.
pub async fn connect_stream(
    stream: TcpStream,
    t: &Target,
    auth: Option<Value>,
    on_event: EventFn,
    counters: Arc<Counters>,
    limit: Duration,
) -> Result<(Client, Duration), ConnErr> {
    let start = Instant::now();
    let (ws, sid) = tokio::time::timeout(limit, handshake(stream, t, auth.as_ref()))
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
        packet::nsp_prefix(&t.nsp),
    ));
    Ok((Client { tx, sid, alive }, took))
}

/// An event as [`connect_channel`] delivers it: name and first argument.
#[derive(Debug, Clone)]
pub struct Event {
    /// Event name.
    pub name: String,
    /// First argument (`null` when none).
    pub data: Value,
}

/// [`connect`] with events delivered to a channel; the channel ends when
/// the connection does.
pub async fn connect_channel(
    t: &Target,
    auth: Option<Value>,
) -> Result<(Client, mpsc::UnboundedReceiver<Event>), ConnErr> {
    let (tx, rx) = mpsc::unbounded_channel();
    let on_event: EventFn = Arc::new(move |inc: &Incoming<'_>| {
        if let Some((name, data)) = packet::event_parts(inc.raw) {
            let _ = tx.send(Event { name, data });
        }
    });
    let (client, _) = connect(t, auth, on_event, Arc::default()).await?;
    Ok((client, rx))
}

impl Client {
    /// False once the connection has ended.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    /// Emit an event; `body` is the JSON array text `["event",data]`.
    pub fn emit_raw(&self, body: String, ack: Option<AckFn>) -> bool {
        self.tx.send(Cmd::Emit { body, ack }).is_ok()
    }

    /// Emit `event` with `data`, no ack.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> bool {
        match serde_json::to_string(&(event, data)) {
            Ok(body) => self.emit_raw(body, None),
            Err(_) => false,
        }
    }

    /// Emit `event` asking for an ack; the packet is queued before this
    /// returns (calls leave in the order made). The receiver gets the
    /// ack's first argument, or fails when the connection ends first.
    pub fn emit_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<oneshot::Receiver<Value>, CallError> {
        let body = serde_json::to_string(&(event, data))?;
        let (otx, orx) = oneshot::channel::<Value>();
        let ack: AckFn = Box::new(move |raw, _| {
            let _ = otx.send(packet::ack_data(raw));
        });
        if self.emit_raw(body, Some(ack)) {
            Ok(orx)
        } else {
            Err(CallError::Closed)
        }
    }

    /// Emit `event` with `data` and wait up to `wait` for the ack's first argument.
    pub async fn call<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        wait: Duration,
    ) -> Result<Value, CallError> {
        let rx = self.emit_ack(event, data)?;
        tokio::time::timeout(wait, rx)
            .await
            .map_err(|_| CallError::Timeout(event.to_owned(), wait))?
            .map_err(|_| CallError::Lost(event.to_owned()))
    }

    /// Leave the namespace and close the websocket.
    pub fn close(&self) {
        let _ = self.tx.send(Cmd::Close);
    }

    /// Drop the connection without leaving the namespace, as a lost network
    /// would (the server sees the transport close).
    pub fn drop_connection(&self) {
        let _ = self.tx.send(Cmd::Drop);
    }
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
                match packet::parse(text.as_str(), &prefix) {
                    Frame::Ping => {
                        counters.pings.fetch_add(1, Ordering::Relaxed);
                        if ws.send(Message::text(packet::PONG)).await.is_err() {
                            counters.disconnects.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                    Frame::Close | Frame::Disconnect => {
                        counters.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Frame::Event(_, json) => match packet::event_name(json) {
                        Some(event) => on_event(&Incoming { event, raw: json, at }),
                        None => {
                            counters.protocol_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    Frame::Ack(id, json) => {
                        if let Some(f) = pending.remove(&id) {
                            f(json, at);
                        }
                    }
                    Frame::Open(_) | Frame::Connect(_) | Frame::ConnectError(_) => {
                        counters.protocol_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Frame::Other => {}
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
                let mut closing = false;
                while let Some(c) = cmd.take() {
                    let packet = match c {
                        Cmd::Emit { body, ack: Some(f) } => {
                            next_id += 1;
                            pending.insert(next_id, f);
                            packet::event(&prefix, Some(next_id), &body)
                        }
                        Cmd::Emit { body, ack: None } => packet::event(&prefix, None, &body),
                        Cmd::Close => {
                            closing = true;
                            packet::disconnect(&prefix)
                        }
                        Cmd::Drop => {
                            failed = true;
                            break;
                        }
                    };
                    if ws.feed(Message::text(packet)).await.is_err() {
                        failed = true;
                        break;
                    }
                    batch += 1;
                    if batch < 64 && !closing {
                        cmd = rx.try_recv().ok();
                    }
                }
                if failed || ws.flush().await.is_err() {
                    counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                if closing {
                    let _ = ws.close(None).await;
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
