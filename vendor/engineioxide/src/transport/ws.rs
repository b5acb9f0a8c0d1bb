//! The ws transport module is responsible for handling websocket connections
//! The only public function is [`new_req`] which is used to upgrade a http request to a websocket connection
//!
//! Other functions are used internally to handle the websocket connection through tasks and channels
//! and to handle upgrade from polling to ws

use std::sync::Arc;

use std::{task::Poll, time::Duration};

use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, request::Parts};
use smallvec::smallvec;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message,
        handshake::derive_accept_key,
        protocol::{Role, WebSocketConfig},
    },
};
use tokio_util::future::FutureExt as _;

use engineioxide_core::{Packet, ProtocolVersion, Sid, Str, TransportType};

use crate::{
    DisconnectReason, Socket,
    body::ResponseBody,
    config::EngineIoConfig,
    engine::EngineIo,
    errors::Error,
    handler::EngineIoHandler,
    socket::{InternalRx, Queued},
    transport::{make_open_packet, polling::WatchStream},
};

/// Create a response for websocket upgrade
fn ws_response<B>(ws_key: &HeaderValue) -> Response<ResponseBody<B>> {
    let derived = derive_accept_key(ws_key.as_bytes());
    let sec = derived.parse::<HeaderValue>().unwrap();
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, HeaderValue::from_static("websocket"))
        .header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        )
        .header(http::header::SEC_WEBSOCKET_ACCEPT, sec)
        .body(ResponseBody::empty_response())
        .unwrap() // we are only using constants
}

/// Upgrade a websocket request to create a websocket connection.
///
/// If a sid is provided in the query it means that is is upgraded from an existing HTTP polling request.
/// In this case the http polling request is closed and the SID is kept for the websocket
pub fn new_req<R: Send + 'static, B, H: EngineIoHandler>(
    engine: Arc<EngineIo<H>>,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req: Request<R>,
) -> Result<Response<ResponseBody<B>>, Error> {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts.clone(), body);

    let ws_key = parts
        .headers
        .get("Sec-WebSocket-Key")
        .ok_or(Error::InvalidWebSocketKey)?
        .clone();
    let parts = without_handshake_headers(parts);

    tokio::spawn(async move {
        let conn = hyper::upgrade::on(req)
            .await
            .map(hyper_util::rt::TokioIo::new);

        let res = match conn {
            Ok(conn) => on_init(engine.clone(), conn, protocol, sid, parts).await,
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!("ws upgrade error: {}", _e);
                return;
            }
        };

        match res {
            Ok(_) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed")
            }
            Err(Error::MultipleWebsocketRequests) => {}
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed with error: {_e}");
                if let Some(sid) = sid {
                    engine.close_session(sid, DisconnectReason::TransportError);
                }
            }
        }
    });

    Ok(ws_response(&ws_key))
}

/// The request head a websocket session keeps, without the upgrade handshake's headers.
///
/// (switchboard patch) They are of no use once the connection is upgraded, and a session
/// keeps its request head for its whole life (~0.5 KiB per session).
fn without_handshake_headers(mut parts: Parts) -> Parts {
    use http::header;
    const HANDSHAKE: [header::HeaderName; 6] = [
        header::CONNECTION,
        header::UPGRADE,
        header::SEC_WEBSOCKET_KEY,
        header::SEC_WEBSOCKET_VERSION,
        header::SEC_WEBSOCKET_EXTENSIONS,
        header::SEC_WEBSOCKET_PROTOCOL,
    ];
    if HANDSHAKE
        .iter()
        .any(|name| parts.headers.contains_key(name))
    {
        let headers = std::mem::take(&mut parts.headers);
        let mut kept = http::HeaderMap::with_capacity(
            headers
                .keys()
                .filter(|name| !HANDSHAKE.contains(name))
                .count(),
        );
        let mut current = None;
        for (name, value) in headers {
            if name.is_some() {
                current = name;
            }
            match &current {
                Some(name) if !HANDSHAKE.contains(name) => {
                    kept.append(name.clone(), value);
                }
                _ => {}
            }
        }
        parts.headers = kept;
    }
    parts
}

/// Handle a websocket connection upgrade
///
/// Sends an open packet if it is not an upgrade from a polling request
///
/// Read packets from the websocket and handle them, it will block until the connection is closed
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", name = "init_websocket", skip(engine, conn, req_data))
)]
pub async fn on_init<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    conn: S,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req_data: Parts,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .max_message_size(Some(engine.config.ws_max_message_size))
        .max_frame_size(Some(engine.config.ws_max_frame_size));

    let ws_init = move || WebSocketStream::from_raw_socket(conn, Role::Server, Some(ws_config));
    let (socket, ws) = if let Some(sid) = sid {
        match engine.get_socket(sid) {
            None => return Err(Error::UnknownSessionID(sid)),
            Some(socket) if socket.is_ws() => return Err(Error::MultipleWebsocketRequests),
            Some(socket) => {
                let mut ws = ws_init().await;

                let upgrade_fut = upgrade_handshake::<H, S>(&socket, &mut ws);
                match tokio::time::timeout(engine.config.upgrade_timeout, upgrade_fut)
                    .with_cancellation_token(&socket.cancellation_token)
                    .await
                {
                    Some(Ok(res)) => res?,
                    Some(Err(_)) => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(?sid, "ws upgrade timed out, closing session");
                        engine.close_session(socket.id, DisconnectReason::TransportError);
                        return Err(Error::Upgrade);
                    }
                    None => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(?sid, "socket is being closed");
                        return Err(Error::Upgrade);
                    }
                }
                (socket, ws)
            }
        }
    } else {
        let socket = engine.create_session(protocol, TransportType::Websocket, req_data, false);

        #[cfg(feature = "tracing")]
        tracing::debug!("new websocket connection");

        let mut ws = ws_init().await;
        init_handshake(socket.id, &mut ws, &engine.config).await?;
        // (switchboard patch) The v4 heartbeat of a websocket session runs inside the
        // session task (see `serve_session`); v3 keeps its own task.
        if socket.protocol != ProtocolVersion::V4 {
            socket
                .clone()
                .spawn_heartbeat(engine.config.ping_interval, engine.config.ping_timeout);
        }
        (socket, ws)
    };

    // A session upgraded from polling already has a heartbeat task.
    let heartbeat = (sid.is_none() && socket.protocol == ProtocolVersion::V4)
        .then_some((engine.config.ping_interval, engine.config.ping_timeout));

    // (switchboard patch) The session runs in a task of its own, so that the request, its
    // parts and the upgrade state held by this (setup) task are freed instead of sitting in
    // every idle session's future.
    tokio::spawn(run_session(engine, socket, ws, heartbeat));
    Ok(())
}

/// Runs a websocket session to its end and closes it.
async fn run_session<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    socket: Arc<Socket<H::Data>>,
    mut ws: WebSocketStream<S>,
    heartbeat: Option<(Duration, Duration)>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // `serve_session` borrows the stream: the stream is stored once in this future.
    match serve_session(&engine, &socket, &mut ws, heartbeat).await {
        Ok(End::ClosedBy(reason)) => engine.close_session(socket.id, reason),
        Ok(End::Cancelled) => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "socket is closing");
        }
        Err(ref e) => {
            let reason =
                Option::<DisconnectReason>::from(e).unwrap_or(DisconnectReason::TransportError);

            #[cfg(feature = "tracing")]
            tracing::debug!("error when handling packet: {:?}", e);
            engine.close_session(socket.id, reason);
        }
    }
}

/// How a websocket session ended.
enum End {
    /// The client went away or asked to close: the session must be closed for this reason.
    ClosedBy(DisconnectReason),
    /// The session was closed elsewhere (server side, heartbeat, engine shutdown).
    Cancelled,
}

/// What woke the session task up.
enum Event {
    Outgoing(Option<Queued>),
    Volatile(Option<Option<Queued>>),
    Incoming(Option<Result<Message, tungstenite::Error>>),
    Cancelled,
    HeartbeatTimer,
}

/// (switchboard patch) How long the closing flush may wait for a client to read.
const CLOSING_FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// Server-driven (v4) heartbeat state, for sessions that started on websocket.
struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    /// When the last ping went out, if its pong is still awaited.
    awaiting_since: Option<Instant>,
}

/// Runs a websocket session in one task: incoming frames go to the handler, packets queued on
/// the socket go to the websocket, and (for sessions that started on websocket) the v4
/// heartbeat is driven by a timer.
///
/// (switchboard patch) Upstream runs a reader task, a writer task and a heartbeat task per
/// session and splits the stream with a `BiLock`; merging them saves about 3.5 KiB per idle
/// session. Outgoing packets keep priority over incoming frames, and the stream is flushed only
/// when the queue is drained, as upstream does.
async fn serve_session<H: EngineIoHandler, S>(
    engine: &Arc<EngineIo<H>>,
    socket: &Arc<Socket<H::Data>>,
    ws: &mut WebSocketStream<S>,
    heartbeat: Option<(Duration, Duration)>,
) -> Result<End, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A polling request that was in progress during the upgrade may still hold the lock.
    let Some(mut internal_rx) = socket
        .internal_rx
        .lock()
        .with_cancellation_token(&socket.cancellation_token)
        .await
    else {
        #[cfg(feature = "tracing")]
        tracing::debug!(sid = %socket.id, "session closed before starting the ws writer");
        return Ok(End::Cancelled);
    };
    let InternalRx {
        buffered_rx,
        volatile_rx,
        ..
    } = &mut *internal_rx;
    let mut volatile = WatchStream::new(volatile_rx);

    let cancelled = socket.cancellation_token.cancelled();
    let mut cancelled = std::pin::pin!(cancelled);

    let mut heartbeat = heartbeat.map(|(interval, timeout)| Heartbeat {
        interval,
        timeout,
        awaiting_since: None,
    });
    // The timer is polled only when there is a heartbeat to drive.
    let first_ping = Instant::now()
        + heartbeat
            .as_ref()
            .map_or(Duration::from_secs(3600), |h| h.interval);
    let timer = tokio::time::sleep_until(first_ping);
    let mut timer = std::pin::pin!(timer);

    let end = loop {
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(packets) = buffered_rx.poll_recv(cx) {
                return Poll::Ready(Event::Outgoing(packets));
            }
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Cancelled);
            }
            if let Poll::Ready(packets) = volatile.poll_next_unpin(cx) {
                return Poll::Ready(Event::Volatile(packets));
            }
            if let Poll::Ready(msg) = ws.poll_next_unpin(cx) {
                return Poll::Ready(Event::Incoming(msg));
            }
            if heartbeat.is_some() && timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::HeartbeatTimer);
            }
            Poll::Pending
        })
        .await;

        // Packets to write, and whether to go on with the rest of the queue.
        let (mut packets, drain_queue): (Queued, bool) = match event {
            Event::Outgoing(Some(packets)) => (packets, true),
            // The engine closes the queue only after this task released it.
            Event::Outgoing(None) | Event::Cancelled => break End::Cancelled,
            Event::Volatile(Some(Some(packets))) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(sid = ?socket.id, "ws volatile flush: {} packets", packets.len());
                (packets, false)
            }
            Event::Volatile(_) => continue,
            Event::Incoming(None) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(sid = %socket.id, "ws transport was closed");
                break End::ClosedBy(DisconnectReason::TransportClose);
            }
            Event::Incoming(Some(msg)) => {
                let pinged_at = heartbeat.as_ref().and_then(|h| h.awaiting_since);
                if let Some(reason) = on_frame(engine, socket, msg?, heartbeat.as_mut())? {
                    break End::ClosedBy(reason);
                }
                // The pong arrived: the next ping goes one interval after the last one.
                if let (Some(pinged_at), Some(h)) = (pinged_at, heartbeat.as_ref()) {
                    if h.awaiting_since.is_none() {
                        timer.as_mut().reset(pinged_at + h.interval);
                    }
                }
                continue;
            }
            Event::HeartbeatTimer => {
                let Some(h) = heartbeat.as_mut() else {
                    continue;
                };
                if h.awaiting_since.is_some() {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(sid = ?socket.id, "heartbeat timeout");
                    // Queues a close packet and cancels the session: both are handled by
                    // the next turns of this loop.
                    heartbeat = None;
                    socket.close(DisconnectReason::HeartbeatTimeout);
                    continue;
                }
                #[cfg(feature = "tracing")]
                tracing::trace!(sid = ?socket.id, "emitting ping");
                let now = Instant::now();
                h.awaiting_since = Some(now);
                timer.as_mut().reset(now + h.timeout);
                (Box::new(smallvec![Packet::Ping]), false)
            }
        };

        // One write site keeps the session future small: every await point's state is
        // stored in it for the whole life of the session.
        let write = async {
            loop {
                for packet in packets.drain(..) {
                    let Some(msg) = to_message(socket.protocol, packet) else {
                        continue;
                    };
                    if let Err(_e) = ws.feed(msg).await {
                        #[cfg(feature = "tracing")]
                        tracing::debug!("[sid={}] error sending packet: {}", socket.id, _e);
                    }
                }
                if !drain_queue {
                    break;
                }
                match buffered_rx.try_recv() {
                    Ok(more) => packets = more,
                    Err(_) => break,
                }
            }
            #[cfg(feature = "tracing")]
            tracing::trace!(sid = %socket.id, "ws flush");
            ws.flush().await.ok();
        };
        // (switchboard patch) A client that stops reading fills its TCP window and the
        // write above waits. Nothing else of this session runs meanwhile (frames in, the
        // heartbeat timer), so the write itself is bounded: a client that accepts no data
        // for a whole heartbeat period (ping interval + timeout) is gone, as one that
        // misses a pong is. Sessions whose heartbeat runs elsewhere (upgraded from
        // polling, v3) end when that heartbeat closes the socket (cancellation).
        let stall_limit = heartbeat
            .as_ref()
            .map_or(Duration::from_secs(3600), |h| h.interval + h.timeout);
        let stalled = tokio::select! {
            biased;
            () = write => None,
            () = cancelled.as_mut() => Some(End::Cancelled),
            () = tokio::time::sleep(stall_limit), if heartbeat.is_some() => {
                #[cfg(feature = "tracing")]
                tracing::debug!(sid = ?socket.id, "client stopped reading: heartbeat timeout");
                Some(End::ClosedBy(DisconnectReason::HeartbeatTimeout))
            }
        };
        if let Some(end) = stalled {
            break end;
        }
    };

    #[cfg(feature = "tracing")]
    tracing::trace!(sid = %socket.id, "ws closing flush");
    // (switchboard patch) Bounded: a client that does not read would hold the task.
    let closing = async {
        ws.flush().await.ok();
        ws.close(None).await.ok();
    };
    let _ = tokio::time::timeout(CLOSING_FLUSH_LIMIT, closing).await;
    Ok(end)
}

/// Handles one frame from the client. Returns the reason to close the session, if any.
fn on_frame<H: EngineIoHandler>(
    engine: &Arc<EngineIo<H>>,
    socket: &Arc<Socket<H::Data>>,
    msg: Message,
    heartbeat: Option<&mut Heartbeat>,
) -> Result<Option<DisconnectReason>, Error> {
    match msg {
        Message::Text(msg) => match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
            Packet::Close => {
                #[cfg(feature = "tracing")]
                tracing::debug!("[sid={}] closing session", socket.id);
                return Ok(Some(DisconnectReason::TransportClose));
            }
            Packet::Pong | Packet::Ping => match heartbeat {
                Some(h) => {
                    #[cfg(feature = "tracing")]
                    tracing::trace!(sid = ?socket.id, "pong received");
                    h.awaiting_since = None;
                }
                None => socket.heartbeat_received(),
            },
            Packet::Message(msg) => engine.handler.on_message(msg, socket.clone()),
            p => return Err(Error::BadPacket(p)),
        },
        Message::Binary(mut data) => {
            if socket.protocol == ProtocolVersion::V3 && !data.is_empty() {
                // The first byte is the message type, which we don't need.
                data = data.split_off(1);
            }
            engine.handler.on_binary(data, socket.clone());
        }
        Message::Close(_) => {
            #[cfg(feature = "tracing")]
            tracing::debug!("websocket closed, closing session");
            return Ok(Some(DisconnectReason::TransportClose));
        }
        _ => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = ?socket.id, "unexpected ws message");
        }
    }
    Ok(None)
}

/// The websocket message for a packet; `None` for packets that are not sent on websocket.
fn to_message(protocol: ProtocolVersion, packet: Packet) -> Option<Message> {
    match packet {
        Packet::Binary(bin) | Packet::BinaryV3(bin) => {
            if protocol == ProtocolVersion::V3 {
                // v3 protocol requires packet type as the first byte.
                // This requires a new buffer. This is OK as it is only for the V3 protocol.
                let mut buff = Vec::with_capacity(bin.len() + 1);
                buff.push(0x04);
                buff.extend(bin);
                Some(Message::Binary(buff.into()))
            } else {
                Some(Message::Binary(bin))
            }
        }
        // A Noop Packet maybe sent by the server to upgrade from a polling connection
        // In the case that the packet was not poll in time it will remain in the buffer and therefore
        // it should be discarded here
        Packet::Noop => None,
        packet => String::try_from(packet)
            .ok()
            .map(|packet| Message::Text(packet.into())),
    }
}

/// Send a Engine.IO [`OpenPacket`] to initiate a websocket connection
async fn init_handshake<S>(
    sid: Sid,
    ws: &mut WebSocketStream<S>,
    config: &EngineIoConfig,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let packet = Packet::Open(make_open_packet(TransportType::Websocket, sid, config));
    let packet: String = packet.into();
    ws.send(Message::Text(packet.into())).await?;
    Ok(())
}

/// Upgrade a session from a polling request to a websocket request.
///
/// Before upgrading the session the server should send a NOOP packet to any pending polling request.
///
/// ## Handshake :
/// ```text
/// CLIENT                                                 SERVER
///│                                                      │
///│   GET /engine.io/?EIO=4&transport=websocket&sid=...  │
///│ ───────────────────────────────────────────────────► │
///│  ◄─────────────────────────────────────────────────┘ │
///│            HTTP 101 (WebSocket handshake)            │
///│                                                      │
///│            -----  WebSocket frames -----             │
///│  ─────────────────────────────────────────────────►  │
///│                         2probe                       │ (ping packet)
///│  ◄─────────────────────────────────────────────────  │
///│                         3probe                       │ (pong packet)
///│  ─────────────────────────────────────────────────►  │
///│                         5                            │ (upgrade packet)
///│                                                      │
///│            -----  WebSocket frames -----             │
/// ```
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", skip(socket, ws))
)]
async fn upgrade_handshake<H: EngineIoHandler, S>(
    socket: &Arc<Socket<H::Data>>,
    ws: &mut WebSocketStream<S>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    #[cfg(feature = "tracing")]
    tracing::debug!("starting websocket connection upgrade");

    // The socket is upgrading, from now on all polling
    // request will return a `Packet::Noop`
    socket.start_upgrade();

    // We send a last Noop request to close a potential waiting polling request.
    socket
        .internal_tx
        .send(Box::new(smallvec![Packet::Noop]))
        .await
        .map_err(|_| Error::Upgrade)?;

    // wait for any current polling connection to finish by waiting for the socket to be unlocked
    // All other polling connection will be immediately closed with a NOOP packet.
    let _lock = socket.internal_rx.lock().await;

    // Fetch the next packet from the ws stream, it should be a PingUpgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        _ => Err(Error::Upgrade)?,
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::PingUpgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("received first ping upgrade");
            // Respond with a PongUpgrade packet
            ws.send(Message::Text(String::from(Packet::PongUpgrade).into()))
                .await?;
        }
        p => Err(Error::BadPacket(p))?,
    };

    // Fetch the next packet from the ws stream, it should be an Upgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        Some(Ok(Message::Close(_))) => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws stream closed before upgrade");
            Err(Error::Upgrade)?
        }
        _ => {
            #[cfg(feature = "tracing")]
            tracing::debug!("unexpected ws message before upgrade");
            Err(Error::Upgrade)?
        }
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::Upgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws upgraded successfully")
        }
        p => Err(Error::BadPacket(p))?,
    };

    socket.upgrade_to_websocket();
    Ok(())
}

fn ws_bytes_to_str(bytes: tungstenite::Utf8Bytes) -> Str {
    // SAFETY: the bytes are guaranteed to be valid UTF-8 by the tungstenite parser
    unsafe { Str::from_bytes_unchecked(bytes.into()) }
}
