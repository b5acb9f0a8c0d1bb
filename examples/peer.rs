//! Headless WebRTC peer for Switchboard, built on webrtc-rs.
//!
//! It logs in (or takes `--token`), connects to the `/webrtc` Socket.IO
//! namespace (Engine.IO v4 over a websocket, spoken directly), joins a room,
//! offers to every peer already there (the newcomer offers; the others answer),
//! trickles ICE candidates through `ice-candidate`, opens a data channel and
//! echoes what it receives (`hello` comes back as `echo:hello`).
//!
//! ```text
//! cargo run --example peer -- --url http://127.0.0.1:3000 --token "$JWT" --room r1 --send hello
//! cargo run --example peer -- --url http://127.0.0.1:3000 --email a@x.io --password secret123 \
//!     --room r1 --relay-only --loopback-only
//! ```
//!
//! Instead of `--room`, `--call <userId>` invites a user (`call:invite`), and
//! once they accept joins the call's room `call:<callId>` and offers;
//! `--answer` waits for an invitation (`call:incoming`), accepts it and joins
//! the call's room. Either hangs up (`call:hangup`) when it exits, and exits
//! when the other side hangs up (`call:ended`).
//!
//! ```text
//! cargo run --example peer -- --url http://127.0.0.1:3000 --token "$JWT" --answer --loopback-only
//! cargo run --example peer -- --url http://127.0.0.1:3000 --token "$JWT" --call "$BOB_ID" --send hi
//! ```
//!
//! Joins are resumable: when the signalling socket drops, the peer
//! reconnects and sends `room:resume` with its token, so its peer
//! connections (and data channels) carry on; the others see `peer:away` and
//! `peer:resumed`. Only when the slot is gone does it report `Disconnected`.
//!
//! `--loopback-only` keeps ICE on `lo` / 127.0.0.0/8 and drops ICE servers that are
//! not on loopback; `--relay-only` uses relay candidates only (TURN).
//! Each local and remote candidate is printed, so where traffic goes can be checked.
//!
//! The integration tests include this file as a module (`peer::Peer`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::data_channel::RTCDataChannel;
use webrtc::data_channel::data_channel_message::DataChannelMessage;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::{RTCIceCandidate, RTCIceCandidateInit};
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::offer_answer_options::RTCOfferOptions;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::policy::ice_transport_policy::RTCIceTransportPolicy;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::signaling_state::RTCSignalingState;

/// Socket.IO namespace of the signalling gateway.
pub const NAMESPACE: &str = "/webrtc";
/// Label of the data channel the offerer opens.
pub const CHANNEL_LABEL: &str = "switchboard";
/// Prefix of echoed messages (never echoed again).
pub const ECHO_PREFIX: &str = "echo:";
/// How long an offerer waits for `connected` before restarting ICE.
pub const STUCK_AFTER: Duration = Duration::from_secs(4);
/// How many ICE restarts an offerer tries per remote peer.
pub const ICE_RESTARTS: usize = 3;

// ---------------------------------------------------------------------------
// Signalling: the project's Socket.IO client (`sio-client`) on `/webrtc`
// ---------------------------------------------------------------------------

/// A Socket.IO client for one namespace: events, acks, ping/pong.
#[derive(Clone)]
pub struct Signal {
    client: Arc<sio_client::Client>,
}

/// What the server sent on the namespace (`disconnect` when it ends).
#[derive(Debug, Clone)]
pub struct SignalEvent {
    pub name: String,
    pub data: Value,
}

impl Signal {
    /// Connects to `base_url` (http or ws scheme), opens `namespace` with
    /// `{"token": token}` as auth and returns the client and its event stream.
    /// A refused connection (`connect_error`) is an error holding the server's message.
    pub async fn connect(
        base_url: &str,
        namespace: &str,
        token: &str,
    ) -> Result<(Signal, mpsc::UnboundedReceiver<SignalEvent>)> {
        let target = sio_client::Target::from_url(base_url, namespace)?;
        let (client, mut events) =
            sio_client::connect_channel(&target, Some(json!({ "token": token })))
                .await
                .with_context(|| format!("signalling connect to {}", redact(base_url)))?;
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if debug_frames() {
                    eprintln!("sio <- {} {}", e.name, e.data);
                }
                if ev_tx
                    .send(SignalEvent {
                        name: e.name,
                        data: e.data,
                    })
                    .is_err()
                {
                    return;
                }
            }
            // The connection ended.
            let _ = ev_tx.send(SignalEvent {
                name: "disconnect".to_owned(),
                data: Value::Null,
            });
        });
        Ok((
            Signal {
                client: Arc::new(client),
            },
            ev_rx,
        ))
    }

    /// Emits an event without asking for an ack.
    pub fn emit(&self, event: &str, data: Value) -> Result<()> {
        if self.client.emit(event, &data) {
            Ok(())
        } else {
            Err(anyhow!("signalling closed"))
        }
    }

    /// Queues an event asking for an ack; the frame is queued before this returns,
    /// so the order of calls is the order on the wire.
    pub fn emit_ack(&self, event: &str, data: Value) -> Result<oneshot::Receiver<Value>> {
        Ok(self.client.emit_ack(event, &data)?)
    }

    /// Emits and waits for the ack (10 s).
    pub async fn call(&self, event: &str, data: Value) -> Result<Value> {
        Ok(self
            .client
            .call(event, &data, Duration::from_secs(10))
            .await?)
    }

    /// Closes the namespace and the websocket.
    pub fn close(&self) {
        self.client.close();
    }

    /// Loses the connection without leaving the namespace (a network blip).
    pub fn drop_connection(&self) {
        self.client.drop_connection();
    }
}

/// `PEER_DEBUG_FRAMES=1` prints every event received after the namespace connect.
fn debug_frames() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("PEER_DEBUG_FRAMES").is_some())
}

fn redact(url: &str) -> String {
    match url.find("token=") {
        Some(i) => format!("{}token=…", &url[..i]),
        None => url.to_owned(),
    }
}

/// `POST /auth/login` and return the access token.
pub async fn login(base_url: &str, email: &str, password: &str) -> Result<String> {
    let url = format!("{}/auth/login", base_url.trim_end_matches('/'));
    let resp = reqwest::Client::new()
        .post(&url)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("login failed: {status} {body}");
    }
    body.get("accessToken")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("login answer has no accessToken"))
}

// ---------------------------------------------------------------------------
// WebRTC peer
// ---------------------------------------------------------------------------

/// How the peer runs.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    pub url: String,
    pub token: String,
    pub room: String,
    /// Sent on every data channel once it opens.
    pub send: Option<String>,
    /// ICE transport policy `relay` (TURN only).
    pub relay_only: bool,
    /// Gather on `lo` / loopback IPs only and drop non-loopback ICE servers.
    pub loopback_only: bool,
    /// Use these ICE servers instead of the ones in the `room:join` ack.
    pub ice_servers: Option<Vec<RTCIceServer>>,
}

/// What happens to the peer, in order.
#[derive(Debug, Clone)]
pub enum PeerEvent {
    /// The room was joined; `peers` are the ids this peer offers to.
    Joined {
        peer_id: String,
        peers: Vec<String>,
        ice_servers: Vec<String>,
    },
    /// An ICE candidate gathered here (`local`) or received from `remote`.
    Candidate {
        remote: String,
        local: bool,
        candidate: String,
    },
    /// Peer connection state changed.
    State { remote: String, state: String },
    /// The data channel with `remote` is open; `setup` counts from our
    /// `room:join` (offerer) or from the offer's arrival (answerer).
    ChannelOpen {
        remote: String,
        offerer: bool,
        setup: Duration,
    },
    /// A data-channel text message from `remote`.
    Message { remote: String, text: String },
    /// Another peer left the room.
    PeerLeft { remote: String, reason: String },
    /// Another peer's signalling socket dropped; its slot is held.
    PeerAway { remote: String },
    /// Another peer took its slot back from a new socket (`remote` is its new id).
    PeerResumed { remote: String, previous: String },
    /// Our signalling socket dropped and the slot was resumed from a new one.
    Resumed {
        peer_id: String,
        previous: String,
        took: Duration,
    },
    /// Something went wrong with one remote peer (the peer keeps running).
    Error { remote: String, error: String },
    /// The call ended for us (`call:ended`: the other side hung up).
    CallEnded { by: String, reason: String },
    /// Signalling connection closed.
    Disconnected,
}

struct Remote {
    pc: Arc<RTCPeerConnection>,
    pending: Mutex<Vec<RTCIceCandidateInit>>,
    remote_set: std::sync::atomic::AtomicBool,
    channel: Mutex<Option<Arc<RTCDataChannel>>>,
}

struct Inner {
    /// The current signalling socket (replaced when a resume reconnects).
    signal: std::sync::RwLock<Signal>,
    /// Takes our slot back after a reconnect.
    resume_token: std::sync::Mutex<Option<String>>,
    /// Set by `close`: a drop then is final.
    closing: std::sync::atomic::AtomicBool,
    /// The call this peer is in (`--call`, `--answer`): hung up on close.
    call_id: Option<String>,
    api: API,
    options: PeerOptions,
    config: Mutex<RTCConfiguration>,
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
    events: mpsc::UnboundedSender<PeerEvent>,
}

/// A running peer. Events arrive on `events`.
pub struct Peer {
    inner: Arc<Inner>,
    /// The peer id of the first join (a resume reports the new one).
    pub peer_id: String,
    pub events: mpsc::UnboundedReceiver<PeerEvent>,
}

/// A webrtc-rs API object that keeps ICE on loopback when asked.
pub fn build_api(loopback_only: bool, relay_only: bool) -> API {
    let mut s = SettingEngine::default();
    // No mDNS: it would multicast on every interface.
    s.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    // With trickle ICE the answerer's checks often arrive before its candidates
    // do, so the offerer first knows that address as peer-reflexive; webrtc-rs
    // would wait 1 s before nominating such a pair. It is a direct path: take it.
    s.set_prflx_acceptance_min_wait(Some(Duration::ZERO));
    if relay_only {
        // webrtc-rs waits 2 s for better pairs before nominating a relay pair;
        // with relay candidates only there is nothing better to wait for.
        s.set_relay_acceptance_min_wait(Some(Duration::ZERO));
    }
    if loopback_only {
        s.set_interface_filter(Box::new(|name: &str| name == "lo"));
        s.set_ip_filter(Box::new(|ip: IpAddr| ip.is_loopback()));
        s.set_include_loopback_candidate(true);
        s.set_network_types(vec![NetworkType::Udp4]);
    }
    // Codecs, so an offer with audio and video (a browser's call) is
    // answered (receive-only: this peer sends no media) instead of having
    // every media section rejected, which would leave nothing to connect.
    let mut media = MediaEngine::default();
    if let Err(e) = media.register_default_codecs() {
        eprintln!("codecs not registered: {e}");
    }
    APIBuilder::new()
        .with_setting_engine(s)
        .with_media_engine(media)
        .build()
}

/// Whether every URL of `server` names a loopback host (IP literal or `localhost`).
pub fn ice_server_on_loopback(server: &RTCIceServer) -> bool {
    server.urls.iter().all(|url| {
        // stun:host:port, turn:host:port?transport=udp, turns:[::1]:5349
        let rest = url.split_once(':').map(|(_, r)| r).unwrap_or(url);
        let rest = rest.trim_start_matches("//");
        let rest = rest.split('?').next().unwrap_or(rest);
        let host = if let Some(v6) = rest.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            rest.rsplit_once(':').map(|(h, _)| h).unwrap_or(rest)
        };
        host == "localhost"
            || host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    })
}

fn parse_ice_servers(v: &Value) -> Vec<RTCIceServer> {
    let Some(list) = v.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|s| {
            let urls = match s.get("urls")? {
                Value::String(u) => vec![u.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect(),
                _ => return None,
            };
            Some(RTCIceServer {
                urls,
                username: s
                    .get("username")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                credential: s
                    .get("credential")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .collect()
}

impl Peer {
    /// Connects, joins `options.room` and offers to every peer already there.
    pub async fn join(options: PeerOptions) -> Result<Peer> {
        let (signal, events) = Signal::connect(&options.url, NAMESPACE, &options.token).await?;
        Self::start(signal, events, options, None).await
    }

    /// Connects, invites the users `to` (`call:invite`, kind `kind`), waits
    /// until one accepts, then joins the call's room and offers. Fails when
    /// every invitee refuses or the ringing times out.
    pub async fn call(mut options: PeerOptions, to: &[String], kind: &str) -> Result<Peer> {
        let (signal, mut events) = Signal::connect(&options.url, NAMESPACE, &options.token).await?;
        let ack = signal
            .call("call:invite", json!({ "to": to, "kind": kind }))
            .await?;
        if ack.get("success").and_then(Value::as_bool) != Some(true) {
            bail!("call:invite refused: {ack}");
        }
        let call_id = ack["callId"].as_str().unwrap_or_default().to_owned();
        let mut unanswered = ack["invited"].as_array().map_or(0, Vec::len);
        while let Some(ev) = events.recv().await {
            if ev.data.get("callId").and_then(Value::as_str) != Some(call_id.as_str()) {
                continue;
            }
            match ev.name.as_str() {
                "call:accepted" => {
                    options.room = ack["roomId"].as_str().unwrap_or_default().to_owned();
                    return Self::start(signal, events, options, Some(call_id)).await;
                }
                "call:rejected" | "call:timeout" => {
                    unanswered = unanswered.saturating_sub(1);
                    if unanswered == 0 {
                        signal.close();
                        bail!("nobody took the call (last: {} {})", ev.name, ev.data);
                    }
                }
                _ => {}
            }
        }
        bail!("signalling closed while ringing")
    }

    /// Connects, waits for an invitation (`call:incoming`), accepts it and
    /// joins the call's room.
    pub async fn answer(mut options: PeerOptions) -> Result<Peer> {
        let (signal, mut events) = Signal::connect(&options.url, NAMESPACE, &options.token).await?;
        while let Some(ev) = events.recv().await {
            if ev.name != "call:incoming" {
                continue;
            }
            let call_id = ev.data["callId"].as_str().unwrap_or_default().to_owned();
            let ack = signal
                .call("call:accept", json!({ "callId": call_id }))
                .await?;
            if ack.get("success").and_then(Value::as_bool) != Some(true) {
                // Answered on another device, or no longer ringing: wait on.
                eprintln!("call:accept refused: {ack}");
                continue;
            }
            options.room = ack["roomId"].as_str().unwrap_or_default().to_owned();
            return Self::start(signal, events, options, Some(call_id)).await;
        }
        bail!("signalling closed before any invitation")
    }

    /// The call this peer is in, if it came in through `call` or `answer`.
    pub fn call_id(&self) -> Option<&str> {
        self.inner.call_id.as_deref()
    }

    async fn start(
        signal: Signal,
        mut signal_events: mpsc::UnboundedReceiver<SignalEvent>,
        options: PeerOptions,
        call_id: Option<String>,
    ) -> Result<Peer> {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            call_id,
            signal: std::sync::RwLock::new(signal.clone()),
            resume_token: std::sync::Mutex::new(None),
            closing: std::sync::atomic::AtomicBool::new(false),
            api: build_api(options.loopback_only, options.relay_only),
            options: options.clone(),
            config: Mutex::new(RTCConfiguration::default()),
            remotes: Mutex::new(HashMap::new()),
            events: events_tx,
        });

        let joined_at = Instant::now();
        let ack = signal
            .call(
                "room:join",
                json!({ "roomId": options.room, "resumable": true }),
            )
            .await?;
        if ack.get("success").and_then(Value::as_bool) != Some(true) {
            bail!("room:join refused: {ack}");
        }
        inner.set_token(&ack);
        let peer_id = ack
            .get("peerId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();

        let mut ice = match &options.ice_servers {
            Some(list) => list.clone(),
            None => parse_ice_servers(ack.get("iceServers").unwrap_or(&Value::Null)),
        };
        if options.loopback_only {
            ice.retain(ice_server_on_loopback);
        }
        {
            let mut config = inner.config.lock().await;
            config.ice_servers = ice.clone();
            if options.relay_only {
                config.ice_transport_policy = RTCIceTransportPolicy::Relay;
            }
        }
        let peers: Vec<String> = ack
            .get("peers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("peerId").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let _ = inner.events.send(PeerEvent::Joined {
            peer_id: peer_id.clone(),
            peers: peers.clone(),
            ice_servers: ice.iter().flat_map(|s| s.urls.clone()).collect(),
        });

        // Signalling events are handled one at a time, in arrival order.
        let worker = inner.clone();
        let mut current_id = peer_id.clone();
        tokio::spawn(async move {
            while let Some(ev) = signal_events.recv().await {
                if ev.name == "disconnect" {
                    match worker.resume(&current_id).await {
                        Some((id, events)) => {
                            current_id = id;
                            signal_events = events;
                            continue;
                        }
                        None => {
                            let _ = worker.events.send(PeerEvent::Disconnected);
                            break;
                        }
                    }
                }
                let from = ev
                    .data
                    .get("from")
                    .or_else(|| ev.data.get("peerId"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if let Err(e) = worker.handle(&ev).await {
                    let _ = worker.events.send(PeerEvent::Error {
                        remote: from,
                        error: format!("{}: {e:#}", ev.name),
                    });
                }
            }
        });

        // The newcomer offers to everyone already in the room.
        for remote in peers {
            if let Err(e) = inner.offer(&remote, joined_at).await {
                let _ = inner.events.send(PeerEvent::Error {
                    remote: remote.clone(),
                    error: format!("offer: {e:#}"),
                });
            }
        }

        Ok(Peer {
            inner,
            peer_id,
            events: events_rx,
        })
    }

    /// Sends `text` on every open data channel; returns how many got it.
    pub async fn send_all(&self, text: &str) -> usize {
        let remotes: Vec<Arc<Remote>> = self.inner.remotes.lock().await.values().cloned().collect();
        let mut n = 0;
        for r in remotes {
            let channel = r.channel.lock().await.clone();
            if let Some(dc) = channel
                && dc.send_text(text.to_owned()).await.is_ok()
            {
                n += 1;
            }
        }
        n
    }

    /// Drops the signalling socket as a network blip would; the peer
    /// reconnects and resumes its slot (`PeerEvent::Resumed`).
    pub fn drop_signalling(&self) {
        self.inner.signal().drop_connection();
    }

    /// Hangs up the call (if any), leaves the room, closes every peer
    /// connection and the signalling socket.
    pub async fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        let signal = self.inner.signal();
        if let Some(call_id) = &self.inner.call_id {
            let _ = signal
                .call("call:hangup", json!({ "callId": call_id }))
                .await;
        }
        let _ = signal
            .call("room:leave", json!({ "roomId": self.inner.options.room }))
            .await;
        let remotes: Vec<Arc<Remote>> = self
            .inner
            .remotes
            .lock()
            .await
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in remotes {
            let _ = r.pc.close().await;
        }
        signal.close();
    }
}

impl Inner {
    fn signal(&self) -> Signal {
        match self.signal.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_token(&self, ack: &Value) {
        let token = ack
            .get("resumeToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Ok(mut t) = self.resume_token.lock() {
            *t = token;
        }
    }

    /// The socket dropped: reconnect (for up to 30 s) and take the slot
    /// back. Returns the new peer id and event stream, or `None` when the
    /// drop is final (closing, no token, or the slot is gone).
    async fn resume(
        self: &Arc<Self>,
        previous: &str,
    ) -> Option<(String, mpsc::UnboundedReceiver<SignalEvent>)> {
        if self.closing.load(Ordering::Acquire) {
            return None;
        }
        let token = self.resume_token.lock().ok()?.take()?;
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        while started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
            let Ok((signal, events)) =
                Signal::connect(&self.options.url, NAMESPACE, &self.options.token).await
            else {
                continue;
            };
            let ack = match signal
                .call("room:resume", json!({ "resumeToken": token }))
                .await
            {
                Ok(ack) => ack,
                Err(_) => continue,
            };
            if ack.get("success").and_then(Value::as_bool) != Some(true) {
                let _ = self.events.send(PeerEvent::Error {
                    remote: String::new(),
                    error: format!("room:resume refused: {ack}"),
                });
                signal.close();
                return None;
            }
            self.set_token(&ack);
            let peer_id = ack["peerId"].as_str().unwrap_or_default().to_owned();
            if let Ok(mut s) = self.signal.write() {
                *s = signal;
            }
            let _ = self.events.send(PeerEvent::Resumed {
                peer_id: peer_id.clone(),
                previous: previous.to_owned(),
                took: started.elapsed(),
            });
            return Some((peer_id, events));
        }
        None
    }

    async fn remote(self: &Arc<Self>, remote_id: &str) -> Result<Arc<Remote>> {
        let mut remotes = self.remotes.lock().await;
        if let Some(r) = remotes.get(remote_id) {
            return Ok(r.clone());
        }
        let config = self.config.lock().await.clone();
        let pc = Arc::new(self.api.new_peer_connection(config).await?);
        let remote = Arc::new(Remote {
            pc: pc.clone(),
            pending: Mutex::new(Vec::new()),
            remote_set: std::sync::atomic::AtomicBool::new(false),
            channel: Mutex::new(None),
        });

        // Trickle ICE: every local candidate goes straight to the remote peer.
        let me = Arc::downgrade(self);
        let to = remote_id.to_owned();
        pc.on_ice_candidate(Box::new(move |c: Option<RTCIceCandidate>| {
            let me = me.clone();
            let to = to.clone();
            Box::pin(async move {
                let Some(me) = me.upgrade() else { return };
                let candidate = match c.map(|c| c.to_json()) {
                    Some(Ok(init)) => {
                        let _ = me.events.send(PeerEvent::Candidate {
                            remote: to.clone(),
                            local: true,
                            candidate: init.candidate.clone(),
                        });
                        serde_json::to_value(init).unwrap_or(Value::Null)
                    }
                    Some(Err(_)) => return,
                    None => Value::Null,
                };
                me.relay("ice-candidate", json!({ "to": to, "candidate": candidate }));
            })
        }));

        let me = Arc::downgrade(self);
        let who = remote_id.to_owned();
        pc.on_peer_connection_state_change(Box::new(move |s: RTCPeerConnectionState| {
            let me = me.clone();
            let who = who.clone();
            Box::pin(async move {
                if let Some(me) = me.upgrade() {
                    let _ = me.events.send(PeerEvent::State {
                        remote: who,
                        state: s.to_string(),
                    });
                }
            })
        }));

        remotes.insert(remote_id.to_owned(), remote.clone());
        Ok(remote)
    }

    /// Emits a relay event, waits for the ack in the background and reports refusals.
    fn relay(self: &Arc<Self>, event: &'static str, data: Value) {
        let to = data
            .get("to")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match self.signal().emit_ack(event, data) {
            Ok(rx) => {
                let me = Arc::downgrade(self);
                tokio::spawn(async move {
                    let ack = tokio::time::timeout(Duration::from_secs(10), rx).await;
                    let failure = match ack {
                        Ok(Ok(v)) if v.get("success").and_then(Value::as_bool) == Some(true) => {
                            return;
                        }
                        Ok(Ok(v)) => format!("{event} refused: {v}"),
                        Ok(Err(_)) => format!("{event}: connection closed"),
                        Err(_) => format!("{event}: no ack"),
                    };
                    if let Some(me) = me.upgrade() {
                        let _ = me.events.send(PeerEvent::Error {
                            remote: to,
                            error: failure,
                        });
                    }
                });
            }
            Err(e) => {
                let _ = self.events.send(PeerEvent::Error {
                    remote: to,
                    error: format!("{event}: {e}"),
                });
            }
        }
    }

    fn wire_channel(
        self: &Arc<Self>,
        remote_id: &str,
        dc: Arc<RTCDataChannel>,
        offerer: bool,
        since: Instant,
    ) {
        let me = Arc::downgrade(self);
        let who = remote_id.to_owned();
        let dc_open = dc.clone();
        dc.on_open(Box::new(move || {
            Box::pin(async move {
                let setup = since.elapsed();
                let Some(me) = me.upgrade() else { return };
                let _ = me.events.send(PeerEvent::ChannelOpen {
                    remote: who.clone(),
                    offerer,
                    setup,
                });
                if let Some(r) = me.remotes.lock().await.get(&who) {
                    *r.channel.lock().await = Some(dc_open.clone());
                }
                if let Some(text) = &me.options.send
                    && let Err(e) = dc_open.send_text(text.clone()).await
                {
                    let _ = me.events.send(PeerEvent::Error {
                        remote: who,
                        error: format!("send: {e}"),
                    });
                }
            })
        }));

        let me = Arc::downgrade(self);
        let who = remote_id.to_owned();
        let dc_echo = dc.clone();
        dc.on_message(Box::new(move |msg: DataChannelMessage| {
            let me = me.clone();
            let who = who.clone();
            let dc_echo = dc_echo.clone();
            Box::pin(async move {
                let text = String::from_utf8_lossy(&msg.data).into_owned();
                if let Some(me) = me.upgrade() {
                    let _ = me.events.send(PeerEvent::Message {
                        remote: who,
                        text: text.clone(),
                    });
                }
                if !text.starts_with(ECHO_PREFIX) {
                    let _ = dc_echo.send_text(format!("{ECHO_PREFIX}{text}")).await;
                }
            })
        }));
    }

    async fn offer(self: &Arc<Self>, remote_id: &str, since: Instant) -> Result<()> {
        let remote = self.remote(remote_id).await?;
        let dc = remote.pc.create_data_channel(CHANNEL_LABEL, None).await?;
        self.wire_channel(remote_id, dc, true, since);
        let offer = remote.pc.create_offer(None).await?;
        remote.pc.set_local_description(offer.clone()).await?;
        self.relay(
            "offer",
            json!({ "to": remote_id, "sdp": serde_json::to_value(&offer)? }),
        );
        self.watch_connecting(remote_id, &remote.pc);
        Ok(())
    }

    /// What a browser app does when a call hangs in `connecting`: after
    /// [`STUCK_AFTER`] without a connection, the offerer restarts ICE (new
    /// credentials, fresh checks), at most [`ICE_RESTARTS`] times. On
    /// loopback webrtc-rs very rarely stalls after the first checks; the
    /// restart gets such a call through instead of leaving it dead.
    fn watch_connecting(self: &Arc<Self>, remote_id: &str, pc: &Arc<RTCPeerConnection>) {
        let me = Arc::downgrade(self);
        let pc = Arc::downgrade(pc);
        let to = remote_id.to_owned();
        tokio::spawn(async move {
            for _ in 0..ICE_RESTARTS {
                tokio::time::sleep(STUCK_AFTER).await;
                let (Some(me), Some(pc)) = (me.upgrade(), pc.upgrade()) else {
                    return;
                };
                if me.closing.load(Ordering::Acquire) {
                    return;
                }
                match pc.connection_state() {
                    RTCPeerConnectionState::Connected | RTCPeerConnectionState::Closed => return,
                    _ => {}
                }
                // Restart only between negotiations (the answer is in).
                if pc.signaling_state() != RTCSignalingState::Stable {
                    continue;
                }
                let options = RTCOfferOptions {
                    ice_restart: true,
                    voice_activity_detection: false,
                };
                let offer = match pc.create_offer(Some(options)).await {
                    Ok(o) => o,
                    Err(_) => return,
                };
                if pc.set_local_description(offer.clone()).await.is_err() {
                    return;
                }
                let _ = me.events.send(PeerEvent::State {
                    remote: to.clone(),
                    state: "ice-restart".to_owned(),
                });
                let sdp = serde_json::to_value(&offer).unwrap_or(Value::Null);
                me.relay("offer", json!({ "to": to, "sdp": sdp }));
            }
        });
    }

    async fn handle(self: &Arc<Self>, ev: &SignalEvent) -> Result<()> {
        let from = ev
            .data
            .get("from")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match ev.name.as_str() {
            "offer" => {
                let since = Instant::now();
                let sdp: RTCSessionDescription =
                    serde_json::from_value(ev.data.get("sdp").cloned().unwrap_or(Value::Null))
                        .context("offer sdp")?;
                let remote = self.remote(from).await?;
                let me = Arc::downgrade(self);
                let who = from.to_owned();
                remote
                    .pc
                    .on_data_channel(Box::new(move |dc: Arc<RTCDataChannel>| {
                        let me = me.clone();
                        let who = who.clone();
                        Box::pin(async move {
                            if let Some(me) = me.upgrade() {
                                me.wire_channel(&who, dc, false, since);
                            }
                        })
                    }));
                remote.pc.set_remote_description(sdp).await?;
                self.flush(&remote).await;
                let answer = remote.pc.create_answer(None).await?;
                // Gathering starts inside set_local_description, so a few candidates may
                // be queued before the answer; the offerer buffers them until it has it.
                remote.pc.set_local_description(answer.clone()).await?;
                self.relay(
                    "answer",
                    json!({ "to": from, "sdp": serde_json::to_value(&answer)? }),
                );
            }
            "answer" => {
                let sdp: RTCSessionDescription =
                    serde_json::from_value(ev.data.get("sdp").cloned().unwrap_or(Value::Null))
                        .context("answer sdp")?;
                let remote = self
                    .remotes
                    .lock()
                    .await
                    .get(from)
                    .cloned()
                    .ok_or_else(|| anyhow!("answer from unknown peer"))?;
                remote.pc.set_remote_description(sdp).await?;
                self.flush(&remote).await;
            }
            "ice-candidate" => {
                let candidate = ev.data.get("candidate").cloned().unwrap_or(Value::Null);
                if candidate.is_null() {
                    return Ok(()); // end of candidates
                }
                let init: RTCIceCandidateInit =
                    serde_json::from_value(candidate).context("candidate")?;
                if init.candidate.is_empty() {
                    return Ok(());
                }
                let _ = self.events.send(PeerEvent::Candidate {
                    remote: from.to_owned(),
                    local: false,
                    candidate: init.candidate.clone(),
                });
                let remote = self.remote(from).await?;
                if remote.remote_set.load(Ordering::Acquire) {
                    remote.pc.add_ice_candidate(init).await?;
                } else {
                    remote.pending.lock().await.push(init);
                }
            }
            "call:ended"
                if ev.data.get("callId").and_then(Value::as_str) == self.call_id.as_deref() =>
            {
                let _ = self.events.send(PeerEvent::CallEnded {
                    by: ev.data["by"]["username"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    reason: ev.data["reason"].as_str().unwrap_or_default().to_owned(),
                });
            }
            "peer:away" => {
                let id = ev.data["peerId"].as_str().unwrap_or_default().to_owned();
                let _ = self.events.send(PeerEvent::PeerAway { remote: id });
            }
            "peer:resumed" => {
                let id = ev.data["peerId"].as_str().unwrap_or_default().to_owned();
                let previous = ev.data["previousPeerId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                // Answers and candidates now come `from` the new id; relays
                // to the old one still reach it.
                let mut remotes = self.remotes.lock().await;
                if let Some(r) = remotes.remove(&previous) {
                    remotes.insert(id.clone(), r);
                }
                drop(remotes);
                let _ = self.events.send(PeerEvent::PeerResumed {
                    remote: id,
                    previous,
                });
            }
            "peer:left" => {
                let id = ev
                    .data
                    .get("peerId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if let Some(r) = self.remotes.lock().await.remove(id) {
                    let _ = r.pc.close().await;
                }
                let _ = self.events.send(PeerEvent::PeerLeft {
                    remote: id.to_owned(),
                    reason: ev
                        .data
                        .get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
            _ => {}
        }
        Ok(())
    }

    async fn flush(&self, remote: &Remote) {
        remote.remote_set.store(true, Ordering::Release);
        let pending: Vec<_> = remote.pending.lock().await.drain(..).collect();
        for c in pending {
            let _ = remote.pc.add_ice_candidate(c).await;
        }
    }
}

/// The host part of an ICE candidate line (`candidate:… <ip> <port> typ …`).
pub fn candidate_address(candidate: &str) -> Option<String> {
    let fields: Vec<&str> = candidate.split_whitespace().collect();
    fields.get(4).map(|s| (*s).to_owned())
}

/// The `typ` of an ICE candidate line (host, srflx, prflx, relay).
pub fn candidate_type(candidate: &str) -> Option<String> {
    let fields: Vec<&str> = candidate.split_whitespace().collect();
    fields
        .iter()
        .position(|f| *f == "typ")
        .and_then(|i| fields.get(i + 1))
        .map(|s| (*s).to_owned())
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

#[derive(clap::Parser, Debug)]
#[command(
    about = "Headless webrtc-rs peer for Switchboard: joins a room and echoes data-channel messages"
)]
struct Cli {
    /// Switchboard base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// JWT (otherwise --email/--password log in).
    #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long, env = "SWITCHBOARD_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Room to join.
    #[arg(long, default_value = "r1")]
    room: String,
    /// Call these users (comma-separated ids) instead of joining `--room`.
    #[arg(long, value_delimiter = ',', conflicts_with = "answer")]
    call: Vec<String>,
    /// Wait for a call invitation and accept it instead of joining `--room`.
    #[arg(long)]
    answer: bool,
    /// Kind of call `--call` places.
    #[arg(long, default_value = "audio", value_parser = ["audio", "video"])]
    kind: String,
    /// Text to send on each data channel when it opens.
    #[arg(long)]
    send: Option<String>,
    /// Relay candidates only (TURN).
    #[arg(long)]
    relay_only: bool,
    /// Keep ICE on loopback (lo, 127.0.0.0/8).
    #[arg(long)]
    loopback_only: bool,
    /// Exit after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<()> {
    use clap::Parser as _;
    let cli = Cli::parse();
    let token = match (cli.token, cli.email, cli.password) {
        (Some(t), _, _) => t,
        (None, Some(e), Some(p)) => login(&cli.url, &e, &p).await?,
        _ => bail!("give --token, or --email and --password"),
    };
    let options = PeerOptions {
        url: cli.url,
        token,
        room: cli.room.clone(),
        send: cli.send,
        relay_only: cli.relay_only,
        loopback_only: cli.loopback_only,
        ice_servers: None,
    };
    let mut peer = if !cli.call.is_empty() {
        println!("calling {:?}", cli.call);
        Peer::call(options, &cli.call, &cli.kind).await?
    } else if cli.answer {
        println!("waiting for a call");
        Peer::answer(options).await?
    } else {
        Peer::join(options).await?
    };
    println!(
        "joined room={} peer_id={} call_id={}",
        peer.inner.options.room,
        peer.peer_id,
        peer.call_id().unwrap_or("-")
    );

    let deadline = cli
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    loop {
        let ev = tokio::select! {
            ev = peer.events.recv() => ev,
            _ = tokio::signal::ctrl_c() => break,
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => break,
        };
        let Some(ev) = ev else { break };
        match ev {
            PeerEvent::Joined {
                peers, ice_servers, ..
            } => println!("peers={peers:?} ice_servers={ice_servers:?}"),
            PeerEvent::Candidate {
                remote,
                local,
                candidate,
            } => println!(
                "candidate {} {remote}: {candidate}",
                if local { "local->" } else { "remote<-" }
            ),
            PeerEvent::State { remote, state } => println!("state {remote}: {state}"),
            PeerEvent::ChannelOpen {
                remote,
                offerer,
                setup,
            } => println!(
                "channel open with {remote} ({}) call_setup_ms={:.1}",
                if offerer { "offerer" } else { "answerer" },
                setup.as_secs_f64() * 1000.0
            ),
            PeerEvent::Message { remote, text } => println!("message from {remote}: {text}"),
            PeerEvent::PeerLeft { remote, reason } => println!("peer left {remote}: {reason}"),
            PeerEvent::PeerAway { remote } => println!("peer away {remote}"),
            PeerEvent::PeerResumed { remote, previous } => {
                println!("peer resumed {previous} -> {remote}")
            }
            PeerEvent::Resumed {
                peer_id,
                previous,
                took,
            } => println!(
                "resumed {previous} -> {peer_id} resume_ms={:.1}",
                took.as_secs_f64() * 1000.0
            ),
            PeerEvent::Error { remote, error } => eprintln!("error with {remote}: {error}"),
            PeerEvent::CallEnded { by, reason } => {
                println!("call ended by {by}: {reason}");
                break;
            }
            PeerEvent::Disconnected => {
                eprintln!("signalling disconnected");
                break;
            }
        }
    }
    peer.close().await;
    Ok(())
}
