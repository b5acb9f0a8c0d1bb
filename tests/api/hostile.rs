//! Hostile clients against the in-process server: a login brute force,
//! oversized bodies, a slowloris of half-sent requests, malformed Engine.IO
//! frames over a raw websocket, and path traversal on static files. Each
//! checks what a user sees: the right refusal, and everyone else unaffected.
//! (Crash and memory cases run the real binary: `hostile_process.rs`.)

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use switchboard::config::Rate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::sio::connect_ok;

/// An HTTP client whose requests come from `ip` (any 127.0.0.0/8 address
/// reaches the server on 127.0.0.1).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .expect("client")
}

async fn login(
    c: &reqwest::Client,
    app: &TestApp,
    email: &str,
    password: &str,
) -> reqwest::Response {
    c.post(format!("{}/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
}

/// A raw request; returns the whole answer as text.
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn login_via(app: &TestApp, forwarded_for: &str, email: &str) -> u16 {
    client_from([127, 0, 0, 9])
        .post(format!("{}/auth/login", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": "guess"}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_login_limit_is_per_forwarded_client() {
    // nginx on 127.0.0.9 forwards everyone: each client has its own bucket.
    let app = spawn_app_with(|c| {
        c.auth_rate_limit = Rate::parse("3/h").expect("rate");
        c.trusted_proxies = vec![switchboard::config::IpNet::parse("127.0.0.9").expect("net")];
    })
    .await;
    for i in 0..3 {
        assert_eq!(
            login_via(&app, "203.0.113.5", &format!("a{i}@x.io")).await,
            401
        );
    }
    assert_eq!(
        login_via(&app, "203.0.113.5", "a9@x.io").await,
        429,
        "this client is over"
    );
    assert_eq!(
        login_via(&app, "203.0.113.6", "b@x.io").await,
        401,
        "another client is not"
    );
    // A forged entry left of the proxy's does not buy a fresh bucket.
    assert_eq!(
        login_via(&app, "198.51.100.1, 203.0.113.5", "c@x.io").await,
        429
    );

    // Without trusted proxies the header is ignored: the peer is the client.
    let plain = spawn_app_with(|c| c.auth_rate_limit = Rate::parse("3/h").expect("rate")).await;
    for i in 0..3 {
        assert_eq!(
            login_via(&plain, &format!("203.0.113.{i}"), &format!("d{i}@x.io")).await,
            401
        );
    }
    assert_eq!(
        login_via(&plain, "203.0.113.77", "e@x.io").await,
        429,
        "spoofing does not help"
    );
}

#[tokio::test]
async fn a_login_brute_force_is_refused_per_ip_and_per_email_before_any_hashing() {
    let app = spawn_app_with(|c| {
        // Ten at once as by default (10/min), refilled slowly enough that
        // no token comes back while debug-build argon2 checks the guesses.
        c.auth_rate_limit = Rate::parse("10/h").expect("rate");
    })
    .await;
    let admin = client_from([127, 0, 0, 3]);
    let res = admin
        .post(format!("{}/auth/register", app.base))
        .json(&json!({"email": "alice@example.com", "username": "alice", "password": "correct horse"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);

    let attacker = client_from([127, 0, 0, 2]);
    let mut refused = 0;
    let mut retry_after = None;
    for i in 0..30 {
        let res = login(&attacker, &app, &format!("victim{i}@example.com"), "guess").await;
        match res.status().as_u16() {
            401 => {}
            429 => {
                refused += 1;
                retry_after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let body: serde_json::Value = res.json().await.expect("json");
                assert_eq!(body["error"], "rate_limited");
            }
            s => panic!("unexpected {s}"),
        }
    }
    println!("brute force from one IP: {refused} of 30 attempts refused with 429");
    assert_eq!(refused, 20, "ten per IP");
    // One token comes back every 6 minutes at 10/h.
    assert!(
        retry_after.is_some_and(|s| (1..=360).contains(&s)),
        "{retry_after:?}"
    );
    // Refused before the password is looked at: even the right one.
    let res = login(&attacker, &app, "alice@example.com", "correct horse").await;
    assert_eq!(res.status(), 429);

    // Per e-mail: her registration and nine guesses at alice from nine
    // addresses use up her e-mail's ten, while other e-mails still pass.
    for i in 0..9u8 {
        let c = client_from([127, 0, 1, i + 1]);
        assert_eq!(
            login(&c, &app, "alice@example.com", "wrong").await.status(),
            401
        );
    }
    let fresh = client_from([127, 0, 2, 1]);
    assert_eq!(
        login(&fresh, &app, "alice@example.com", "correct horse")
            .await
            .status(),
        429,
        "the e-mail is over its limit"
    );
    assert_eq!(
        login(&fresh, &app, "bob@example.com", "whatever1")
            .await
            .status(),
        401,
        "another e-mail from a fresh address is still checked"
    );
}

#[tokio::test]
async fn an_oversized_body_gets_its_413_before_the_connection_closes() {
    let app = spawn_app().await;
    // 10 MB declared and sent, as a careless client would.
    let size = 10 * 1024 * 1024;
    let mut tcp = TcpStream::connect(app.addr).await.expect("connect");
    let head = format!(
        "POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    );
    let (mut rd, mut wr) = tcp.split();
    let send = async {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..size / chunk.len() {
            wr.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(())
    };
    let read = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let (sent, answer) =
        tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(send, read) })
            .await
            .expect("no answer to the oversized body");
    assert!(sent.is_ok(), "the upload was cut: {sent:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    // Just over 1 MiB with reqwest; just under is parsed (and refused as bad input).
    let (token, _) = app.register("alice").await;
    let big = json!({"title": "x".repeat(1024 * 1024 + 10)});
    let res = app
        .http()
        .post(format!("{}/todos", app.base))
        .bearer_auth(&token)
        .json(&big)
        .send()
        .await
        .expect("big todo");
    assert_eq!(res.status(), 413);
    let small = json!({"title": "x".repeat(900 * 1024)});
    let (status, body) = app
        .request(&token, reqwest::Method::POST, "/todos", Some(small))
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
}

#[tokio::test]
async fn half_sent_requests_are_closed_while_normal_clients_connect() {
    let app = spawn_app_with(|c| c.http_header_timeout = Duration::from_secs(1)).await;
    let (token, _) = app.register("alice").await;
    let mut loris = Vec::new();
    for _ in 0..200 {
        let sock = TcpSocket::new_v4().expect("socket");
        let mut tcp = sock.connect(app.addr).await.expect("connect");
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        loris.push(tcp);
    }
    // A normal client is served meanwhile.
    let started = Instant::now();
    let mut c = connect_ok(&app.base, "/webrtc", &token).await;
    assert_eq!(c.call("ping", json!("hi")).await["message"], "pong");
    println!(
        "normal client connected and pinged in {:?} with 200 half-open requests",
        started.elapsed()
    );

    // Every half-sent request is closed by the server soon after the timeout.
    let t0 = Instant::now();
    let mut closed = 0;
    for mut tcp in loris {
        let mut buf = [0u8; 512];
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        if ended.is_ok() {
            closed += 1;
        }
    }
    println!(
        "{closed} of 200 half-open requests closed within {:?}",
        t0.elapsed()
    );
    assert_eq!(closed, 200);
}

#[tokio::test]
async fn malformed_engine_io_frames_leave_the_server_and_others_unharmed() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut a = connect_ok(&app.base, "/webrtc", &ta).await;
    let mut b = connect_ok(&app.base, "/webrtc", &tb).await;
    a.call("room:join", json!({"roomId": "r"})).await;
    b.call("room:join", json!({"roomId": "r"})).await;

    let junk: Vec<Message> = vec![
        Message::text("garbage"),
        Message::text("4"),
        Message::text("42[\"ping\""),
        Message::text("40/nonexistent,{}"),
        Message::text("42/webrtc,[\"offer\",{\"to\":1e999}]"),
        Message::text("49999999999999999999[]"),
        Message::text("2probe"),
        Message::text("5"),
        Message::text(format!("4{}", "x".repeat(300 * 1024))),
        Message::binary(vec![0xff, 0x00, 0xfe, 0x01]),
        Message::text("\u{0}\u{1}\u{2}"),
    ];
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket&token={ta}",
        app.addr
    );
    for frame in junk {
        let shown = format!("{frame:?}").chars().take(60).collect::<String>();
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
            panic!("websocket refused before {shown}");
        };
        let _open = ws.next().await;
        let _ = ws
            .send(Message::text(format!("40/webrtc,{{\"token\":\"{ta}\"}}")))
            .await;
        let _ = ws.send(frame).await;
        // Whatever happens to this connection, it must not take others down.
        let _ = tokio::time::timeout(Duration::from_millis(300), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let ok = b
            .call(
                "offer",
                json!({"to": a.sid, "sdp": {"type": "offer", "sdp": "v=0"}}),
            )
            .await;
        assert_eq!(ok["success"], true, "after {shown}");
        assert_eq!(
            a.recv("offer").await["from"],
            b.sid.as_str(),
            "after {shown}"
        );
    }
    let health = app
        .http()
        .get(format!("{}/health", app.base))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn static_files_cannot_be_escaped() {
    let dir = std::env::temp_dir().join(format!("sb-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).expect("dir");
    std::fs::write(dir.join("index.html"), "<html>client</html>").expect("index");
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").expect("asset");
    std::fs::write(
        dir.parent().expect("parent").join("sb-secret.txt"),
        "TOP-SECRET",
    )
    .expect("secret");
    let web = dir.clone();
    let app = spawn_app_with(move |c| c.web_dir = web).await;
    for path in [
        "/../sb-secret.txt",
        "/assets/../../sb-secret.txt",
        "/%2e%2e/sb-secret.txt",
        "/..%2fsb-secret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsb-secret.txt",
        "/..\\sb-secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ] {
        let answer = raw(
            app.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
        .await;
        let status = answer.split(' ').nth(1).unwrap_or("?");
        assert!(
            !answer.contains("TOP-SECRET") && !answer.contains("root:"),
            "{path} escaped the web root: {answer}"
        );
        assert!(matches!(status, "400" | "404"), "{path}: {status}");
    }
    let asset = raw(
        app.addr,
        "GET /assets/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        asset.starts_with("HTTP/1.1 200") && asset.contains("console.log"),
        "{asset}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
