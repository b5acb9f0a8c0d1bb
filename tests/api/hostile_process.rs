//! Hostile cases that need the real binary (`switchboard serve` as a child
//! process): `kill -9` in the middle of a chat burst (every acknowledged
//! message is there after a restart), a client that stops reading while it
//! is sent large relays (the heartbeat still cuts it off, the server's
//! memory stays bounded, others keep their latency), and a relay flood of
//! 60 KiB SDPs to a reading peer (memory bounded). Figures are printed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::domain::identity::TokenService;
use tokio_tungstenite::tungstenite::Message;

use crate::sio::{Client, connect_ok};

/// A `switchboard serve` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start(env: &[(&str, &str)], port: u16, secret: &str) -> Server {
    start_with(env, port, secret, Stdio::null()).await
}

/// As [`start`], with the server's stdout going to `stdout`.
async fn start_with(env: &[(&str, &str)], port: u16, secret: &str, stdout: Stdio) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env("JWT_SECRET", secret)
        .env("RUST_LOG", "warn")
        .env("AUTH_RATE_LIMIT", "100000/min")
        .env("STUN_URLS", "")
        .env("WEB_DIR", "/nonexistent")
        .stdout(stdout)
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn switchboard");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if reqwest::get(format!("{base}/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn token(secret: &str, sub: &str) -> String {
    TokenService::new(secret, Duration::from_secs(3600))
        .issue(sub, sub, &format!("{sub}@example.com"), None)
        .expect("token")
}

pub async fn register(base: &str, name: &str) -> (String, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": format!("{name}@example.com"), "username": name, "password": "correct horse"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    (
        body["accessToken"].as_str().expect("token").to_owned(),
        body["user"].clone(),
    )
}

#[tokio::test]
async fn kill_9_during_a_chat_burst_loses_no_acknowledged_message() {
    let dir = std::env::temp_dir().join(format!("sb-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let port = free_port();
    let secret = "crash-test-secret";
    let mut server = start(&[("DATABASE_URL", &db)], port, secret).await;
    let (ta, _) = register(&server.base, "alice").await;
    let (_, bob) = register(&server.base, "bobby").await;
    let res = reqwest::Client::new()
        .post(format!("{}/chats", server.base))
        .bearer_auth(&ta)
        .json(&json!({"participantIds": [bob["id"]]}))
        .send()
        .await
        .expect("chat");
    let chat: Value = res.json().await.expect("json");
    let chat_id = chat["id"].as_str().expect("id").to_owned();

    let a = connect_ok(&server.base, "/", &ta).await;
    let mut pending = Vec::new();
    for i in 0..400 {
        pending.push(a.emit_ack(
            "message:send",
            json!({"chatId": chat_id, "text": format!("burst {i}")}),
        ));
    }
    // Collect acks for a while, then crash the server mid-burst.
    let mut acked = Vec::new();
    let mut rest = pending.into_iter();
    for rx in rest.by_ref() {
        if let Ok(Ok(ack)) = tokio::time::timeout(Duration::from_secs(5), rx).await
            && ack["success"] == true
        {
            acked.push(ack["message"]["id"].as_str().expect("id").to_owned());
        }
        if acked.len() == 150 {
            break;
        }
    }
    // SIGKILL: no shutdown handler, no flush.
    let _ = server.child.kill();
    let _ = server.child.wait();
    for rx in rest {
        if let Ok(Ok(ack)) = tokio::time::timeout(Duration::from_millis(200), rx).await
            && ack["success"] == true
        {
            acked.push(ack["message"]["id"].as_str().expect("id").to_owned());
        }
    }
    println!("kill -9 after {} acknowledged messages", acked.len());
    assert!(acked.len() >= 150);

    let restarted = start(&[("DATABASE_URL", &db)], free_port(), secret).await;
    let mut stored = std::collections::HashSet::new();
    let mut before: Option<String> = None;
    loop {
        let mut url = format!("{}/chats/{chat_id}/messages?limit=100", restarted.base);
        if let Some(b) = &before {
            url.push_str(&format!("&before={b}"));
        }
        let page: Value = reqwest::Client::new()
            .get(url)
            .bearer_auth(&ta)
            .send()
            .await
            .expect("history")
            .json()
            .await
            .expect("json");
        let list = page.as_array().expect("list");
        if list.is_empty() {
            break;
        }
        for m in list {
            stored.insert(m["id"].as_str().expect("id").to_owned());
        }
        before = list[0]["id"].as_str().map(str::to_owned);
    }
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    println!(
        "after restart: {} stored, {} acknowledged, {} lost",
        stored.len(),
        acked.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A raw Socket.IO client on `/webrtc` that joins `room` and then never
/// reads again (its TCP receive window fills up).
async fn stalled_peer(base: &str, token: &str, room: &str) -> (String, impl Sized + use<>) {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws");
    let _open = ws.next().await;
    ws.send(Message::text(format!(
        "40/webrtc,{{\"token\":\"{token}\"}}"
    )))
    .await
    .expect("connect");
    let sid = loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("no connect answer");
        };
        if let Some(body) = t.strip_prefix("40/webrtc,") {
            let v: Value = serde_json::from_str(body).expect("json");
            break v["sid"].as_str().expect("sid").to_owned();
        }
    };
    ws.send(Message::text(format!(
        "42/webrtc,1[\"room:join\",{{\"roomId\":\"{room}\"}}]"
    )))
    .await
    .expect("join");
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("no join ack");
        };
        if t.starts_with("43/webrtc,1") {
            break;
        }
    }
    // From here on nothing is read: not even the server's pings.
    (sid, ws)
}

async fn rtt(c: &mut Client) -> Duration {
    let t = Instant::now();
    let _ = c.call("ping", json!("rtt")).await;
    t.elapsed()
}

#[tokio::test]
async fn a_stalled_reader_is_cut_off_by_the_heartbeat_with_memory_bounded() {
    let secret = "stall-test-secret";
    let server = start(
        &[
            ("DATABASE_URL", "sqlite::memory:"),
            ("PING_INTERVAL", "500ms"),
            ("PING_TIMEOUT", "1s"),
            ("RATE_LIMIT_EVENTS", "100000/s"),
        ],
        free_port(),
        secret,
    )
    .await;
    let pid = server.child.id();
    let stalled_token = token(secret, "stalled");
    let (stalled_id, _ws) = stalled_peer(&server.base, &stalled_token, "r").await;
    let mut flooder = connect_ok(&server.base, "/webrtc", &token(secret, "flooder")).await;
    flooder.call("room:join", json!({"roomId": "r"})).await;
    let mut calm_a = connect_ok(&server.base, "/webrtc", &token(secret, "calm-a")).await;
    let _calm_b = connect_ok(&server.base, "/webrtc", &token(secret, "calm-b")).await;
    let rss_before = rss_kib(pid);
    let baseline = rtt(&mut calm_a).await;

    let sdp = "a".repeat(60 * 1024);
    let started = Instant::now();
    let mut peak = rss_before;
    let mut refused = 0u64;
    let mut rtts = Vec::new();
    let mut cut_at = None;
    while started.elapsed() < Duration::from_secs(15) {
        for _ in 0..20 {
            flooder.emit(
                "offer",
                json!({"to": stalled_id, "sdp": {"type": "offer", "sdp": sdp}}),
            );
        }
        rtts.push(rtt(&mut calm_a).await);
        peak = peak.max(rss_kib(pid));
        refused += flooder.drain("error").len() as u64;
        if flooder
            .drain("peer:left")
            .iter()
            .any(|l| l["peerId"] == stalled_id.as_str())
        {
            cut_at = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rtts.sort();
    let p50 = rtts.get(rtts.len() / 2).copied().unwrap_or_default();
    let max = rtts.last().copied().unwrap_or_default();
    println!(
        "stalled reader: cut off after {cut_at:?}; server RSS {} -> peak {} KiB; {refused} relays refused; calm ping RTT baseline {baseline:?}, p50 {p50:?}, max {max:?}",
        rss_before, peak
    );
    let cut_at = cut_at.expect("the stalled reader was never disconnected");
    assert!(cut_at < Duration::from_secs(10), "{cut_at:?}");
    assert!(
        peak - rss_before < 200 * 1024,
        "server RSS grew by {} KiB",
        peak - rss_before
    );
    assert!(
        max < Duration::from_secs(2),
        "a calm client was starved: {max:?}"
    );
    // The server recovers its memory's use for other clients: still serving.
    assert_eq!(calm_a.call("ping", json!(1)).await["message"], "pong");
}

#[tokio::test]
async fn a_flood_of_large_sdps_to_a_reading_peer_keeps_memory_bounded() {
    let secret = "flood-test-secret";
    let server = start(
        &[
            ("DATABASE_URL", "sqlite::memory:"),
            ("RATE_LIMIT_EVENTS", "100000/s"),
        ],
        free_port(),
        secret,
    )
    .await;
    let pid = server.child.id();
    let mut target = connect_ok(&server.base, "/webrtc", &token(secret, "target")).await;
    let mut flooder = connect_ok(&server.base, "/webrtc", &token(secret, "flooder")).await;
    target.call("room:join", json!({"roomId": "r"})).await;
    flooder.call("room:join", json!({"roomId": "r"})).await;
    let rss_before = rss_kib(pid);
    let sdp = "v".repeat(60 * 1024);
    let mut peak = rss_before;
    let (mut ok, mut refused) = (0, 0);
    for round in 0..40 {
        let mut acks = Vec::new();
        for _ in 0..50 {
            acks.push(flooder.emit_ack(
                "offer",
                json!({"to": target.sid, "sdp": {"type": "offer", "sdp": sdp}}),
            ));
        }
        for rx in acks {
            match rx.await {
                Ok(a) if a["success"] == true => ok += 1,
                Ok(_) => refused += 1,
                Err(_) => panic!("the flooder lost its connection in round {round}"),
            }
        }
        peak = peak.max(rss_kib(pid));
        target.drain("offer");
    }
    println!(
        "relay flood: 2000 offers of 60 KiB ({ok} relayed, {refused} refused), server RSS {rss_before} -> peak {peak} KiB"
    );
    assert!(ok > 0);
    assert!(
        peak - rss_before < 150 * 1024,
        "server RSS grew by {} KiB",
        peak - rss_before
    );
    assert_eq!(target.call("ping", json!(1)).await["message"], "pong");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_without_tokens_or_colours() {
    let secret = "log-test-secret";
    let env = [
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        ("DATABASE_URL", "sqlite::memory:"),
    ];
    let mut server = start_with(&env, free_port(), secret, Stdio::piped()).await;
    let stdout = server.child.stdout.take().expect("stdout");
    let good = token(secret, "logger");
    let c = connect_ok(&server.base, "/webrtc", &good).await;
    c.close();
    let bad = format!("{good}x");
    let _ = crate::sio::connect(&server.base, "/", Some(json!({"token": bad})), &[]).await;
    let _ = reqwest::get(format!("{}/auth/me?token={good}", server.base)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);
    let text = tokio::task::spawn_blocking(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut { stdout }, &mut s);
        s
    })
    .await
    .expect("read logs");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "too few log lines:\n{text}");
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        assert!(!line.contains('\u{1b}'), "colour codes in {line}");
    }
    assert!(
        text.contains("socket connected") && text.contains("connection refused"),
        "{text}"
    );
    assert!(!text.contains(&good[20..]), "a token leaked into the logs");
}
