//! Signed webhooks (`WEBHOOK_URLS`, `WEBHOOK_SECRET`): a real HTTP receiver
//! started by each test gets the contract's events, signed, at least once,
//! in order per room, also across failures, timeouts and a restart, and a
//! receiver that hangs does not hold up signalling.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use switchboard::webhooks::signature::verify;
use tokio::sync::Mutex;

use crate::helpers::{TestApp, spawn_app_with};
use crate::sio::{Client, connect_ok};

const SECRET: &str = "whsec-test";

/// One POST the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Delivery {
    body: Value,
    status: u16,
    /// When the receiver answered, unix ms.
    at_ms: i64,
}

#[derive(Default)]
struct Behaviour {
    /// Answer 500 to this many requests.
    fail: AtomicUsize,
    /// Then hold this many requests for a minute.
    hang: AtomicUsize,
    /// Hold every request for a minute.
    hang_all: AtomicBool,
    got: Mutex<Vec<Delivery>>,
    bad_signatures: AtomicUsize,
}

/// A webhook receiver on a loopback port.
struct Receiver {
    url: String,
    port: u16,
    b: Arc<Behaviour>,
}

async fn hook(State(b): State<Arc<Behaviour>>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ts: i64 = header("x-switchboard-timestamp").parse().unwrap_or(0);
    let now = chrono::Utc::now().timestamp();
    if !verify(
        SECRET,
        ts,
        body.as_bytes(),
        &header("x-switchboard-signature"),
        now,
        300,
    ) {
        b.bad_signatures.fetch_add(1, Ordering::SeqCst);
    }
    let take = |n: &AtomicUsize| {
        n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
    };
    let status = if take(&b.fail) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else if b.hang_all.load(Ordering::SeqCst) || take(&b.hang) {
        tokio::time::sleep(Duration::from_secs(60)).await;
        StatusCode::OK
    } else {
        StatusCode::OK
    };
    let body = serde_json::from_str(&body).unwrap_or(Value::Null);
    b.got.lock().await.push(Delivery {
        body,
        status: status.as_u16(),
        at_ms: chrono::Utc::now().timestamp_millis(),
    });
    status
}

impl Receiver {
    async fn start(b: Behaviour) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::serve(listener, Arc::new(b))
    }

    /// A port nothing listens on yet; [`Receiver::start_on`] serves it later.
    fn reserve() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    }

    async fn start_on(port: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the reserved port");
        Self::serve(listener, Arc::new(Behaviour::default()))
    }

    fn serve(listener: tokio::net::TcpListener, b: Arc<Behaviour>) -> Receiver {
        let port = listener.local_addr().expect("addr").port();
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(b.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            b,
        }
    }

    /// The events answered with a 2xx, in the order they were answered.
    async fn delivered(&self) -> Vec<Value> {
        let got = self.b.got.lock().await;
        got.iter()
            .filter(|d| d.status == 200)
            .map(|d| d.body.clone())
            .collect()
    }

    /// Wait (20 s) until `done` holds for the delivered events.
    async fn until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.delivered().await;
            if done(&got) {
                return got;
            }
            if Instant::now() > deadline {
                panic!("no {what} within 20 s; delivered: {got:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn url_of(port: u16) -> String {
    format!("http://127.0.0.1:{port}/hook")
}

async fn app_for(url: &str, tweak: impl FnOnce(&mut switchboard::Config)) -> TestApp {
    let url = url.to_owned();
    spawn_app_with(move |c| {
        c.webhooks.urls = vec![url];
        c.webhooks.secret = Some(SECRET.to_owned());
        c.webhooks.backoff = Duration::from_millis(200);
        c.webhooks.timeout = Duration::from_millis(800);
        tweak(c);
    })
    .await
}

fn types(events: &[Value], key: impl Fn(&Value) -> bool) -> Vec<String> {
    events
        .iter()
        .filter(|e| key(e))
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn in_room(room: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e: &Value| e["data"]["roomId"] == room
}

async fn webrtc(app: &TestApp, token: &str) -> Client {
    connect_ok(&app.base, "/webrtc", token).await
}

#[tokio::test]
async fn signed_events_for_rooms_participants_presence_and_calls() {
    let rx = Receiver::start(Behaviour::default()).await;
    let app = app_for(&rx.url, |_| {}).await;
    let (ta, alice) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let alice_id = alice["id"].as_str().expect("id").to_owned();

    let app_socket = connect_ok(&app.base, "/", &ta).await;
    let mut a = webrtc(&app, &ta).await;
    let mut b = webrtc(&app, &tb).await;
    a.call("room:join", json!({"roomId": "r"})).await;
    b.call("room:join", json!({"roomId": "r"})).await;
    b.call("room:leave", json!({"roomId": "r"})).await;
    let a_peer = a.sid.clone();
    a.close();

    let mut a2 = webrtc(&app, &ta).await;
    let inv = b
        .call("call:invite", json!({"to": alice_id, "kind": "video"}))
        .await;
    let call_id = inv["callId"].as_str().expect("callId").to_owned();
    a2.recv("call:incoming").await;
    let acc = a2.call("call:accept", json!({"callId": call_id})).await;
    assert_eq!(acc["success"], true, "{acc}");
    b.call("call:hangup", json!({"callId": call_id})).await;
    app_socket.close();

    let room_order = [
        "room.started",
        "participant.joined",
        "participant.joined",
        "participant.left",
        "participant.left",
        "room.finished",
    ];
    let call_room = format!("call:{call_id}");
    let got = rx
        .until("every event", |got| {
            types(got, in_room("r")).len() == room_order.len()
                && types(got, |e| {
                    e["data"]["userId"] == alice_id.as_str()
                        && e["type"].as_str().is_some_and(|t| t.starts_with("user."))
                })
                .len()
                    == 2
                && types(got, |e| e["type"] == "call.ended").len() == 1
        })
        .await;
    assert_eq!(
        rx.b.bad_signatures.load(Ordering::SeqCst),
        0,
        "every signature verifies"
    );
    assert_eq!(
        types(&got, in_room("r")),
        room_order,
        "a room's events in order"
    );
    let room: Vec<&Value> = got.iter().filter(|e| in_room("r")(e)).collect();
    assert_eq!(room[1]["data"]["peerId"], a_peer.as_str());
    assert_eq!(room[1]["data"]["userId"], alice_id.as_str());
    assert_eq!(room[1]["data"]["username"], "alice");
    assert_eq!(room[2]["data"]["username"], "bobby");
    assert_eq!(room[3]["data"]["reason"], "left");
    assert_eq!(room[4]["data"]["reason"], "disconnected");
    assert_eq!(
        types(&got, |e| e["data"]["userId"] == alice_id.as_str()
            && e["type"].as_str().is_some_and(|t| t.starts_with("user."))),
        ["user.online", "user.offline"]
    );
    let call: Vec<&Value> = got
        .iter()
        .filter(|e| e["data"]["callId"] == call_id.as_str() || e["data"]["id"] == call_id.as_str())
        .collect();
    let kinds: Vec<&str> = call.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["call.started", "call.answered", "call.ended"]);
    assert_eq!(call[0]["data"]["roomId"], call_room.as_str());
    assert_eq!(call[0]["data"]["caller"]["username"], "bobby");
    assert_eq!(call[0]["data"]["ringing"], json!([alice_id]));
    assert_eq!(call[1]["data"]["by"]["username"], "alice");
    assert_eq!(call[2]["data"]["outcome"], "answered");
    assert!(call[2]["data"]["durationMs"].is_number());

    // Envelope: unique ids, a timestamp, and nothing about bob's presence
    // (he has no `/` socket).
    let ids: HashSet<&str> = got.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), got.len(), "one id per event");
    for e in &got {
        assert!(
            uuid::Uuid::parse_str(e["id"].as_str().unwrap_or_default()).is_ok(),
            "{e}"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["createdAt"].as_str().unwrap_or_default())
                .is_ok(),
            "{e}"
        );
    }
    assert!(
        !got.iter()
            .any(|e| e["data"]["userId"] == bob["id"] && e["type"] == "user.online")
    );

    // Delivery latency: event creation to the receiver's answer.
    let mut lat: Vec<i64> =
        rx.b.got
            .lock()
            .await
            .iter()
            .filter_map(|d| {
                let created =
                    chrono::DateTime::parse_from_rfc3339(d.body["createdAt"].as_str()?).ok()?;
                Some(d.at_ms - created.timestamp_millis())
            })
            .collect();
    lat.sort_unstable();
    println!(
        "webhook delivery latency over {} events: median {} ms, max {} ms",
        lat.len(),
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    a2.close();
}

#[tokio::test]
async fn failures_and_timeouts_are_retried_and_a_room_stays_in_order() {
    let rx = Receiver::start(Behaviour {
        fail: AtomicUsize::new(2),
        hang: AtomicUsize::new(1),
        ..Behaviour::default()
    })
    .await;
    let app = app_for(&rx.url, |_| {}).await;
    let (ta, _) = app.register("alice").await;
    let mut a = webrtc(&app, &ta).await;
    for _ in 0..3 {
        a.call("room:join", json!({"roomId": "q"})).await;
        a.call("room:leave", json!({"roomId": "q"})).await;
    }
    let want = [
        "room.started",
        "participant.joined",
        "participant.left",
        "room.finished",
    ]
    .repeat(3);
    let got = rx
        .until("the room's twelve events", |got| {
            types(got, in_room("q")).len() >= 12
        })
        .await;
    assert_eq!(
        types(&got, in_room("q")),
        want,
        "delivered once each, in order"
    );
    let attempts = rx.b.got.lock().await.clone();
    let first = got[0]["id"].clone();
    let tries_of_first = attempts.iter().filter(|d| d.body["id"] == first).count();
    // Two 500s, then one timeout (its answer never counted), then 200.
    assert!(
        tries_of_first >= 3,
        "the first event was retried: {attempts:#?}"
    );
    assert_eq!(
        attempts.iter().filter(|d| d.status == 500).count(),
        2,
        "{attempts:#?}"
    );
    a.close();
}

#[tokio::test]
async fn events_queued_while_the_receiver_is_down_survive_a_restart() {
    let port = Receiver::reserve();
    let dir = std::env::temp_dir().join(format!("sb-hooks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = format!("sqlite://{}", dir.join("switchboard.db").display());
    let url = url_of(port);

    let first = app_for(&url, |c| c.database_url = db.clone()).await;
    let (ta, _) = first.register("alice").await;
    let mut a = webrtc(&first, &ta).await;
    a.call("room:join", json!({"roomId": "p"})).await;
    a.call("room:leave", json!({"roomId": "p"})).await;
    a.close();
    // Wait until the four events are in the database (the receiver is down).
    let switchboard::store::Pool::Sqlite(pool) = first.state.db.pool().clone() else {
        panic!("this test runs on SQLite");
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox")
            .fetch_one(&pool)
            .await
            .expect("count");
        if n == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} events queued, not 4");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let queued: Vec<String> = sqlx::query_scalar("SELECT id FROM webhook_outbox ORDER BY seq")
        .fetch_all(&pool)
        .await
        .expect("ids");
    first.stop().await;

    let rx = Receiver::start_on(port).await;
    assert_eq!(rx.port, port);
    let second = app_for(&url, |c| c.database_url = db.clone()).await;
    let got = rx
        .until("the four queued events", |got| got.len() >= 4)
        .await;
    let ids: Vec<String> = got
        .iter()
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, queued, "the same events, in order, after the restart");
    assert_eq!(
        types(&got, in_room("p")),
        [
            "room.started",
            "participant.joined",
            "participant.left",
            "room.finished"
        ]
    );
    second.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Round trips of `n` offers from `b` to `a`, in milliseconds, sorted.
async fn relay_round_trips(a: &mut Client, b: &mut Client, n: usize) -> Vec<f64> {
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let ack = b
            .call(
                "offer",
                json!({"to": a.sid, "sdp": {"type": "offer", "sdp": format!("v=0 {i}")}}),
            )
            .await;
        assert_eq!(ack["success"], true, "{ack}");
        a.recv("offer").await;
        took.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    took
}

async fn measure(app: &TestApp) -> (f64, f64) {
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let (tc, _) = app.register("carol").await;
    let mut a = webrtc(app, &ta).await;
    let mut b = webrtc(app, &tb).await;
    a.call("room:join", json!({"roomId": "s"})).await;
    b.call("room:join", json!({"roomId": "s"})).await;
    // Meanwhile another socket keeps producing webhook events.
    let mut c = webrtc(app, &tc).await;
    let churn = tokio::spawn(async move {
        for i in 0..100 {
            let room = format!("churn-{i}");
            c.call("room:join", json!({"roomId": room})).await;
            c.call("room:leave", json!({"roomId": room})).await;
        }
        c
    });
    let took = relay_round_trips(&mut a, &mut b, 300).await;
    churn.await.expect("churn").close();
    let p = |q: f64| took[((took.len() as f64 - 1.0) * q) as usize];
    (p(0.5), p(0.99))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_hold_up_signalling() {
    let rx = Receiver::start(Behaviour {
        hang_all: AtomicBool::new(true),
        ..Behaviour::default()
    })
    .await;
    let hooked = app_for(&rx.url, |c| c.webhooks.timeout = Duration::from_secs(5)).await;
    let (p50, p99) = measure(&hooked).await;
    let plain = spawn_app_with(|_| {}).await;
    let (base50, base99) = measure(&plain).await;
    println!(
        "relay round trip with a hanging webhook receiver: p50 {p50:.2} ms, p99 {p99:.2} ms; \
         without webhooks: p50 {base50:.2} ms, p99 {base99:.2} ms"
    );
    // A relay that waited for a delivery would wait for the 5 s timeout.
    assert!(
        p99 < 1000.0,
        "signalling waited for the receiver: p99 {p99} ms"
    );
    let waiting = rx.b.got.lock().await.len();
    assert_eq!(waiting, 0, "the receiver never answered anything");
}
