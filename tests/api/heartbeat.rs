//! Engine.IO heartbeat over websocket: the server pings every `PING_INTERVAL`,
//! keeps clients that answer, and drops clients that stay silent for
//! `PING_TIMEOUT` after a ping (their room peers see `peer:left`).

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, spawn_app_with};
use crate::sio::connect_ok;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const INTERVAL: Duration = Duration::from_millis(200);
const TIMEOUT: Duration = Duration::from_millis(300);

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.ping_interval = INTERVAL;
        c.ping_timeout = TIMEOUT;
    })
    .await
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw websocket session on `/webrtc` that has joined room `room`. Returns
/// the stream, the Engine.IO open packet and how many pings arrived meanwhile
/// (answered only if `answer_pings`).
async fn raw_member(
    app: &TestApp,
    token: &str,
    room: &str,
    answer_pings: bool,
) -> (Ws, Value, usize) {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        app.base.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    let mut pings = 0;
    let open = next_text(&mut ws).await.expect("open packet");
    let open: Value = serde_json::from_str(open.strip_prefix('0').expect("open")).expect("json");
    let auth = json!({ "token": token });
    ws.send(Message::text(format!("40/webrtc,{auth}")))
        .await
        .expect("send");
    let connected = skip_pings(&mut ws, answer_pings, &mut pings).await;
    assert!(connected.starts_with("40/webrtc,"), "{connected}");
    let join = json!(["room:join", { "roomId": room }]);
    ws.send(Message::text(format!("42/webrtc,1{join}")))
        .await
        .expect("send");
    let ack = skip_pings(&mut ws, answer_pings, &mut pings).await;
    assert!(ack.starts_with("43/webrtc,1"), "{ack}");
    assert!(ack.contains("\"success\":true"), "{ack}");
    (ws, open, pings)
}

/// The next packet that is not a ping.
async fn skip_pings(ws: &mut Ws, answer: bool, pings: &mut usize) -> String {
    loop {
        let packet = next_text(ws).await.expect("connection closed");
        if packet != "2" {
            return packet;
        }
        *pings += 1;
        if answer {
            ws.send(Message::text("3")).await.expect("pong");
        }
    }
}

/// The next text frame, or `None` once the connection is closed.
async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.as_str().to_owned()),
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => return None,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("nothing from the server within 5 s"),
        }
    }
}

#[tokio::test]
async fn the_handshake_advertises_the_configured_heartbeat() {
    let app = app().await;
    let (token, _) = app.register("alice").await;
    let (_ws, open, _) = raw_member(&app, &token, "hb-open", true).await;
    assert_eq!(open["pingInterval"], INTERVAL.as_millis() as u64);
    assert_eq!(open["pingTimeout"], TIMEOUT.as_millis() as u64);
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let app = app().await;
    let (token, _) = app.register("alice").await;
    let (mut ws, _, _) = raw_member(&app, &token, "hb-alive", true).await;

    // Answer every ping for several intervals plus timeouts.
    let started = Instant::now();
    let mut pings = 0;
    while started.elapsed() < 4 * (INTERVAL + TIMEOUT) {
        let packet = next_text(&mut ws)
            .await
            .expect("the server closed a live client");
        if packet == "2" {
            pings += 1;
            ws.send(Message::text("3")).await.expect("pong");
        }
    }
    assert!(pings >= 3, "only {pings} pings in {:?}", started.elapsed());

    // Still a member, and the namespace still answers.
    assert_eq!(app.room_size("hb-alive").await, 1);
    ws.send(Message::text("42/webrtc,[\"ping\"]"))
        .await
        .expect("send");
    loop {
        let packet = next_text(&mut ws).await.expect("connection alive");
        if packet == "2" {
            ws.send(Message::text("3")).await.expect("pong");
        } else {
            assert!(packet.starts_with("42/webrtc,[\"pong\""), "{packet}");
            break;
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_dropped_and_its_room_peer_is_told() {
    let app = app().await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut alice = connect_ok(&app.base, "/webrtc", &ta).await;
    assert_eq!(
        alice
            .call("room:join", json!({"roomId": "hb-silent"}))
            .await["success"],
        true
    );
    let (mut bob, _, early_pings) = raw_member(&app, &tb, "hb-silent", false).await;
    assert!(alice.recv("peer:joined").await["userId"].is_string());

    // Bob never answers: he gets a ping, then the Engine.IO close packet,
    // then the websocket ends.
    let started = Instant::now();
    let mut seen = Vec::new();
    while let Some(packet) = next_text(&mut bob).await {
        seen.push(packet);
    }
    let dropped_after = started.elapsed();
    assert!(
        early_pings > 0 || seen.first().map(String::as_str) == Some("2"),
        "no ping before the close: {seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("1"), "{seen:?}");
    assert!(
        dropped_after >= INTERVAL + TIMEOUT - Duration::from_millis(100),
        "dropped too early: {dropped_after:?}"
    );

    let left = alice.recv("peer:left").await;
    assert_eq!(left["reason"], "disconnected");
    assert_eq!(app.room_size("hb-silent").await, 1);
    app.stop().await;
}

/// The same heartbeat over HTTP long-polling: pongs keep the session, silence
/// ends it.
#[tokio::test]
async fn polling_sessions_follow_the_same_heartbeat() {
    let app = app().await;
    let (token, _) = app.register("alice").await;
    let http = reqwest::Client::new();
    let base = format!("{}/socket.io/?EIO=4&transport=polling", app.base);
    let get = |url: String| {
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.expect("get");
            (res.status().as_u16(), res.text().await.unwrap_or_default())
        }
    };
    let (status, open) = get(base.clone()).await;
    assert_eq!(status, 200, "{open}");
    let open: Value = serde_json::from_str(open.strip_prefix('0').expect("open")).expect("json");
    let url = format!("{base}&sid={}", open["sid"].as_str().expect("sid"));
    let post = |body: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let res = http.post(url).body(body).send().await.expect("post");
            assert_eq!(res.status(), 200);
        }
    };
    post(format!("40/webrtc,{}", json!({ "token": token }))).await;

    // Answer three pings: each long-poll returns one, each answer keeps the session.
    let mut pings = 0;
    while pings < 3 {
        let (status, body) = get(url.clone()).await;
        assert_eq!(status, 200, "the session ended while answering: {body}");
        for packet in body.split('\u{1e}') {
            if packet == "2" {
                pings += 1;
                post("3".into()).await;
            }
        }
    }

    // Then stay silent: the session ends with a close packet (or, once it is
    // gone, an unknown-session error).
    let started = Instant::now();
    let ended = loop {
        let (status, body) = get(url.clone()).await;
        if status != 200 || body.split('\u{1e}').any(|p| p == "1") {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still open: {body}"
        );
    };
    assert!(ended >= TIMEOUT - Duration::from_millis(100), "{ended:?}");
    app.stop().await;
}

/// A session upgraded from polling to websocket keeps its heartbeat.
#[tokio::test]
async fn upgraded_sessions_keep_the_heartbeat() {
    let app = app().await;
    let (token, _) = app.register("alice").await;
    let http = reqwest::Client::new();
    let base = format!("{}/socket.io/?EIO=4&transport=polling", app.base);
    let open = http
        .get(&base)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let open: Value = serde_json::from_str(open.strip_prefix('0').expect("open")).expect("json");
    let sid = open["sid"].as_str().expect("sid").to_owned();
    let res = http
        .post(format!("{base}&sid={sid}"))
        .body(format!("40/webrtc,{}", json!({ "token": token })))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);

    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket&sid={sid}",
        app.base.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    ws.send(Message::text("2probe")).await.expect("probe");
    let mut pings = 0;
    assert_eq!(skip_pings(&mut ws, true, &mut pings).await, "3probe");
    ws.send(Message::text("5")).await.expect("upgrade");

    // Pongs over the websocket keep the session alive for several timeouts.
    let started = Instant::now();
    while started.elapsed() < 4 * (INTERVAL + TIMEOUT) {
        let packet = next_text(&mut ws)
            .await
            .expect("the upgraded session was closed");
        if packet == "2" {
            pings += 1;
            ws.send(Message::text("3")).await.expect("pong");
        }
    }
    assert!(pings >= 3, "only {pings} pings");

    // Silence closes it.
    let mut last = None;
    while let Some(packet) = next_text(&mut ws).await {
        last = Some(packet);
    }
    assert_eq!(last.as_deref(), Some("1"));
    app.stop().await;
}
