//! TURN: webrtc-rs peers forced to relay-only ICE connect through
//! (a) Switchboard's embedded TURN server and (b) coturn from Debian's
//! packages, both on 127.0.0.1 with TURN REST credentials from the server's
//! `room:join` ack. Expired, forged and malformed credentials are refused by both.
//!
//! coturn must be installed (`apt-get install -y coturn`): without
//! `turnserver` the coturn tests fail, they do not skip.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::webrtc_support::{
    Observer, Peer, PeerEvent, assert_loopback_candidates, got, ms, options, summary,
};
use switchboard::turn::server::{TurnServer, TurnServerConfig};
use switchboard::turn::{turn_credentials, turn_password};
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

const LIMIT: Duration = Duration::from_secs(30);
const SECRET: &str = "turn-test-secret";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Tries to allocate a relay on `server` with the given credentials.
/// Returns the relayed address.
async fn allocate(
    server: SocketAddr,
    username: &str,
    password: &str,
) -> Result<SocketAddr, String> {
    let (client, relay) = allocate_conn(server, username, password).await?;
    let addr = relay.local_addr().map_err(|e| e.to_string())?;
    let _ = relay.close().await;
    let _ = client.close().await;
    Ok(addr)
}

async fn allocate_conn(
    server: SocketAddr,
    username: &str,
    password: &str,
) -> Result<(Client, impl Conn), String> {
    let conn = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let client = Client::new(ClientConfig {
        stun_serv_addr: String::new(),
        turn_serv_addr: server.to_string(),
        username: username.to_owned(),
        password: password.to_owned(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(conn),
        vnet: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    client.listen().await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(10), client.allocate()).await {
        Ok(Ok(relay)) => Ok((client, relay)),
        Ok(Err(e)) => {
            let _ = client.close().await;
            Err(e.to_string())
        }
        Err(_) => {
            let _ = client.close().await;
            Err("allocate timed out".into())
        }
    }
}

/// Asserts the allocation was refused by the server (an error answer, not a timeout).
fn assert_refused(result: Result<SocketAddr, String>, what: &str) {
    match result {
        Ok(addr) => panic!("{what} accepted: relayed {addr}"),
        Err(e) => {
            println!("{what}: refused ({e})");
            assert!(
                !e.contains("timed out"),
                "{what}: no answer instead of a refusal"
            );
        }
    }
}

/// Good credentials allocate a relay on 127.0.0.1; expired, forged and
/// malformed ones are refused.
async fn assert_credentials_checked(server: SocketAddr) {
    let (user, pass) = turn_credentials(SECRET, now() + 600, "user-1");
    let relayed = allocate(server, &user, &pass)
        .await
        .expect("valid credentials allocate");
    assert!(relayed.ip().is_loopback(), "relayed address {relayed}");

    let (user, pass) = turn_credentials(SECRET, now() - 10, "user-1");
    assert_refused(allocate(server, &user, &pass).await, "expired credential");

    let (user, _) = turn_credentials(SECRET, now() + 600, "user-1");
    let forged = turn_password("not-the-secret", &user);
    assert_refused(allocate(server, &user, &forged).await, "forged credential");

    // A credential for one user does not work for another.
    let (_, pass) = turn_credentials(SECRET, now() + 600, "user-1");
    let other = format!("{}:user-2", now() + 600);
    assert_refused(
        allocate(server, &other, &pass).await,
        "credential reused for another user",
    );
}

/// Two relay-only peers call through the server whose ack hands out `turn_url`.
async fn relay_call(turn_url: String, label: &str) -> Duration {
    let app = crate::helpers::spawn_app_with(|c| {
        c.ice.turn_urls = vec![turn_url.clone()];
        c.ice.turn_secret = Some(SECRET.to_owned());
        c.ice.turn_ttl = Duration::from_secs(600);
    })
    .await;
    let (alice, _) = app.register("alice").await;
    let (bob, _) = app.register("bob").await;

    let relay = |token: &str, send: &str| {
        let mut o = options(&app.base, token, "relay-room", send);
        o.relay_only = true;
        o
    };
    let mut obs = Observer::default();
    let mut a = Peer::join(relay(&alice, "over turn from alice"))
        .await
        .expect("alice joins");
    obs.attach(0, &mut a);
    let mut b = Peer::join(relay(&bob, "over turn from bob"))
        .await
        .expect("bob joins");
    obs.attach(1, &mut b);

    obs.wait_for("relayed messages both ways", LIMIT, |log| {
        got(log, 0, "over turn from bob")
            && got(log, 0, "echo:over turn from alice")
            && got(log, 1, "over turn from alice")
            && got(log, 1, "echo:over turn from bob")
    })
    .await;

    // The ack handed out exactly the TURN server under test.
    for (i, ev) in &obs.log {
        if let PeerEvent::Joined { ice_servers, .. } = ev {
            assert_eq!(ice_servers, &vec![turn_url.clone()], "[{i}]");
        }
    }
    let n = assert_loopback_candidates(&obs, true);
    assert!(obs.errors().is_empty(), "errors: {:?}", obs.errors());
    let setup = obs.offerer_setups(1)[0];
    println!(
        "{label}: {n} relay candidates on 127.0.0.1; call_setup_ms={}",
        ms(setup)
    );
    a.close().await;
    b.close().await;
    app.stop().await;
    setup
}

// ---------------------------------------------------------------------------
// Embedded TURN server
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_turn_relays_a_call_between_relay_only_peers() {
    // Configured as `switchboard serve --turn --turn-listen 127.0.0.1:0
    // --turn-relay-ip 127.0.0.1 --turn-secret …` configures it.
    let mut args = switchboard::Config::local("unused").ice;
    args.turn = true;
    args.turn_secret = Some(SECRET.to_owned());
    let config = TurnServerConfig::from_ice_args(&args).expect("TURN config");
    assert!(
        config.allow_loopback_peers,
        "loopback relay address allows loopback peers"
    );
    let turn = TurnServer::start(config).await.expect("start TURN");
    let url = turn.url();
    assert_eq!(
        url,
        format!("turn:127.0.0.1:{}?transport=udp", turn.local_addr().port())
    );
    let mut setups = Vec::new();
    for _ in 0..3 {
        setups.push(relay_call(url.clone(), "embedded TURN").await);
    }
    println!(
        "call_setup_ms (relay-only via embedded TURN): {}",
        summary(setups)
    );
    turn.close().await.expect("close TURN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_turn_refuses_expired_forged_and_malformed_credentials() {
    let turn = TurnServer::start(TurnServerConfig::loopback(0, SECRET))
        .await
        .expect("start TURN");
    let server = turn.local_addr();
    assert_credentials_checked(server).await;

    // Usernames not of the form <expiry>:<userId> are refused even when the
    // password is the HMAC of that username.
    for user in ["user-1", "soon:user-1", &format!("{}:", now() + 600)] {
        let pass = turn_password(SECRET, user);
        assert_refused(
            allocate(server, user, &pass).await,
            &format!("username {user:?}"),
        );
    }
    turn.close().await.expect("close TURN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_turn_relays_datagrams_and_refuses_loopback_peers_unless_allowed() {
    let peer = UdpSocket::bind("127.0.0.1:0").await.expect("peer socket");
    let peer_addr = peer.local_addr().expect("peer addr");
    let (user, pass) = turn_credentials(SECRET, now() + 600, "user-1");

    // Allowed (test mode): a datagram sent through the relay reaches the peer,
    // coming from the relayed address.
    let turn = TurnServer::start(TurnServerConfig::loopback(0, SECRET))
        .await
        .expect("start TURN");
    let (client, relay) = allocate_conn(turn.local_addr(), &user, &pass)
        .await
        .expect("allocate");
    let relayed = relay.local_addr().expect("relayed addr");
    relay
        .send_to(b"through the relay", peer_addr)
        .await
        .expect("send");
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .expect("datagram relayed")
        .expect("recv");
    assert_eq!(&buf[..n], b"through the relay");
    assert_eq!(from, relayed);
    let _ = relay.close().await;
    let _ = client.close().await;
    turn.close().await.expect("close");

    // Production policy: loopback peers are refused, nothing arrives.
    let mut config = TurnServerConfig::loopback(0, SECRET);
    config.allow_loopback_peers = false;
    let turn = TurnServer::start(config).await.expect("start TURN");
    let (client, relay) = allocate_conn(turn.local_addr(), &user, &pass)
        .await
        .expect("allocate");
    let _ = relay.send_to(b"must not arrive", peer_addr).await;
    let got = tokio::time::timeout(Duration::from_millis(700), peer.recv_from(&mut buf)).await;
    assert!(got.is_err(), "relay delivered to a loopback peer: {got:?}");
    let _ = relay.close().await;
    let _ = client.close().await;
    turn.close().await.expect("close");
}

#[tokio::test]
async fn embedded_turn_rejects_bad_configuration() {
    assert!(
        TurnServer::start(TurnServerConfig::loopback(0, ""))
            .await
            .is_err()
    );
    let mut c = TurnServerConfig::loopback(0, SECRET);
    c.relay_ports = Some((50010, 50000));
    assert!(TurnServer::start(c).await.is_err());

    let mut args = switchboard::Config::local("unused").ice;
    args.turn = true;
    assert!(TurnServerConfig::from_ice_args(&args).is_err(), "no secret");
    args.turn_secret = Some(SECRET.to_owned());
    args.turn_relay_ip = "0.0.0.0".parse().expect("ip");
    assert!(
        TurnServerConfig::from_ice_args(&args).is_err(),
        "0.0.0.0 relay ip"
    );
    args.turn_relay_ip = "203.0.113.9".parse().expect("ip");
    let c = TurnServerConfig::from_ice_args(&args).expect("public relay ip");
    assert!(
        !c.allow_loopback_peers,
        "public relay must not reach loopback"
    );
}

// ---------------------------------------------------------------------------
// coturn (Debian package)
// ---------------------------------------------------------------------------

/// A `turnserver` child on 127.0.0.1 with a temp config; killed on drop.
struct Coturn {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_udp_port() -> u16 {
    StdUdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn turnserver_binary() -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = PathBuf::from(dir).join("turnserver");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "coturn's `turnserver` is not installed (apt-get install -y coturn); \
         this test needs it and fails without it"
    );
}

async fn start_coturn() -> Coturn {
    let bin = turnserver_binary();
    let port = free_udp_port();
    // Relay ports: a small window per coturn instance (tests run in
    // parallel, each with its own coturn), derived from the pid and a counter.
    static INSTANCE: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let n = INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4;
    let min_port = 40_000 + (u16::try_from(std::process::id() % 500).unwrap_or(0)) * 40 + n * 10;
    let dir = std::env::temp_dir().join(format!("sb-coturn-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("turnserver.conf");
    std::fs::write(
        &conf,
        format!(
            "listening-ip=127.0.0.1\n\
             relay-ip=127.0.0.1\n\
             listening-port={port}\n\
             min-port={min_port}\n\
             max-port={max}\n\
             use-auth-secret\n\
             static-auth-secret={SECRET}\n\
             realm=switchboard.test\n\
             fingerprint\n\
             no-tls\n\
             no-dtls\n\
             no-tcp\n\
             no-tcp-relay\n\
             no-cli\n\
             no-multicast-peers\n\
             allow-loopback-peers\n\
             no-software-attribute\n\
             userdb={db}\n\
             pidfile={pid}\n\
             log-file=stdout\n\
             simple-log\n",
            max = min_port + 9,
            db = dir.join("turndb").display(),
            pid = dir.join("turnserver.pid").display(),
        ),
    )
    .expect("write config");
    let log = std::fs::File::create(dir.join("turnserver.log")).expect("log file");
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn turnserver");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut coturn = Coturn { child, addr, dir };

    // Ready when it answers an allocation with valid credentials.
    let started = Instant::now();
    let (user, pass) = turn_credentials(SECRET, now() + 600, "probe");
    loop {
        if let Ok(Some(status)) = coturn.child.try_wait() {
            let log =
                std::fs::read_to_string(coturn.dir.join("turnserver.log")).unwrap_or_default();
            panic!("turnserver exited: {status}\n{log}");
        }
        match tokio::time::timeout(Duration::from_secs(2), allocate(coturn.addr, &user, &pass))
            .await
        {
            Ok(Ok(_)) => break,
            other if started.elapsed() > Duration::from_secs(15) => {
                let log =
                    std::fs::read_to_string(coturn.dir.join("turnserver.log")).unwrap_or_default();
                panic!("turnserver not ready after 15 s: {other:?}\n{log}");
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    coturn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_relays_a_call_between_relay_only_peers() {
    let coturn = start_coturn().await;
    let url = format!("turn:{}?transport=udp", coturn.addr);
    let mut setups = Vec::new();
    for _ in 0..3 {
        setups.push(relay_call(url.clone(), "coturn").await);
    }
    println!("call_setup_ms (relay-only via coturn): {}", summary(setups));
    drop(coturn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_refuses_expired_and_forged_credentials() {
    let coturn = start_coturn().await;
    assert_credentials_checked(coturn.addr).await;
    drop(coturn);
}
