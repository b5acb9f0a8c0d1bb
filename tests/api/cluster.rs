//! Cluster mode: three nodes on one Redis (Debian's `redis-server`) and one
//! PostgreSQL, with every scenario's clients spread over different nodes.
//! Relay and per-pair order, roster and `peer:joined`/`peer:left`, the
//! room cap under concurrent joins at different nodes, `message:new`
//! exactly once per socket, todo events to every tab, typing, presence and
//! call invitations; a node that stops (its sockets leave their rooms), and
//! a Redis restart (nodes reconnect and publish their state again).
//!
//! The nodes run in this process (each a full app on its own port); the
//! `kill -9` test in `cluster_process.rs` uses real processes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_node};
use crate::redis_server::{self, OwnRedis};
use crate::sio::{Client, connect_ok};

/// Three nodes sharing a Redis (under a prefix of their own) and a database.
pub struct Nodes {
    pub nodes: Vec<TestApp>,
}

impl Nodes {
    pub async fn start(redis_url: &str, tweak: impl Fn(&mut switchboard::Config)) -> Self {
        let secret = format!("cluster-{}", uuid::Uuid::new_v4());
        let db = crate::postgres::database().await;
        let prefix = redis_server::prefix();
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let node = spawn_node(&secret, |c| {
                c.redis_url = Some(redis_url.to_owned());
                c.redis_prefix = prefix.clone();
                c.database_url = db.clone();
                c.node_ttl = Duration::from_secs(3);
                tweak(c);
            })
            .await;
            nodes.push(node);
        }
        Self { nodes }
    }

    fn base(&self, i: usize) -> &str {
        &self.nodes[i].base
    }

    pub async fn stop(self) {
        for n in self.nodes {
            n.stop().await;
        }
    }
}

/// Round trip on a `/webrtc` socket.
async fn ping(c: &mut Client) {
    let pong = c.call("ping", json!("sync")).await;
    assert_eq!(pong["message"], "pong");
}

/// Events named `event` that arrived on `c` once messages in flight
/// between nodes have landed.
async fn settled(c: &mut Client, event: &str, ns: &str) -> Vec<Value> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    if ns == "/" {
        crate::helpers::sync(c).await;
    } else {
        ping(c).await;
    }
    c.drain(event)
}

fn ok(ack: &Value) -> &Value {
    assert_eq!(ack["success"], true, "ack: {ack}");
    ack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_roster_and_leaves_cross_nodes_in_order() {
    let redis = redis_server::url().await;
    let cl = Nodes::start(&redis, |_| {}).await;
    let (ta, _) = cl.nodes[0].register("alice").await;
    let (tb, _) = cl.nodes[1].register("bobby").await;
    let (tc, _) = cl.nodes[2].register("carol").await;
    let (td, _) = cl.nodes[0].register("dave").await;
    let mut a = connect_ok(cl.base(0), "/webrtc", &ta).await;
    let mut b = connect_ok(cl.base(1), "/webrtc", &tb).await;
    let mut c = connect_ok(cl.base(2), "/webrtc", &tc).await;
    let mut d = connect_ok(cl.base(0), "/webrtc", &td).await;

    assert_eq!(
        ok(&a.call("room:join", json!({"roomId": "r"})).await)["peers"],
        json!([])
    );
    let jb = b.call("room:join", json!({"roomId": "r"})).await;
    assert_eq!(ok(&jb)["peers"][0]["peerId"], a.sid.as_str());
    let joined = a.recv("peer:joined").await;
    assert_eq!(
        (&joined["peerId"], &joined["username"]),
        (&json!(b.sid), &json!("bobby"))
    );
    let jc = c.call("room:join", json!({"roomId": "r"})).await;
    let roster: Vec<&Value> = ok(&jc)["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .map(|p| &p["peerId"])
        .collect();
    assert_eq!(
        roster,
        [&json!(a.sid), &json!(b.sid)],
        "roster in join order"
    );
    for s in [&mut a, &mut b] {
        assert_eq!(s.recv("peer:joined").await["peerId"], c.sid.as_str());
    }

    // An offer from node 1 to node 0, answered back.
    ok(&b
        .call(
            "offer",
            json!({"to": a.sid, "sdp": {"type": "offer", "sdp": "v=0 b"}}),
        )
        .await);
    let offer = a.recv("offer").await;
    assert_eq!(
        (&offer["from"], &offer["fromUser"]["username"]),
        (&json!(b.sid), &json!("bobby"))
    );
    ok(&a
        .call(
            "answer",
            json!({"to": b.sid, "sdp": {"type": "answer", "sdp": "v=0 a"}}),
        )
        .await);
    assert_eq!(b.recv("answer").await["sdp"]["sdp"], "v=0 a");
    // A peer of no shared room is refused, on any node.
    let denied = d
        .call(
            "offer",
            json!({"to": b.sid, "sdp": {"type": "offer", "sdp": "v=0"}}),
        )
        .await;
    assert_eq!(denied["error"], "peer_not_in_room");

    // Per-pair order: 150 candidates (within the burst limit) from node 2 to node 0 and to node 1.
    for i in 0..150 {
        for to in [&a.sid, &b.sid] {
            c.emit("ice-candidate", json!({"to": to, "candidate": {"candidate": format!("c{i}"), "sdpMid": "0", "sdpMLineIndex": 0}}));
        }
    }
    let want: Vec<Value> = (0..150).map(|i| json!(format!("c{i}"))).collect();
    for s in [&mut a, &mut b] {
        let mut got = Vec::new();
        for _ in 0..150 {
            let ev = s.recv("ice-candidate").await;
            assert_eq!(ev["from"], c.sid.as_str());
            got.push(ev["candidate"]["candidate"].clone());
        }
        assert_eq!(got, want);
        assert!(
            settled(s, "ice-candidate", "/webrtc").await.is_empty(),
            "each once"
        );
    }

    // A disconnect on node 1 and a leave on node 2 reach the rest.
    b.close();
    for s in [&mut a, &mut c] {
        let left = s.recv("peer:left").await;
        assert_eq!(
            (&left["peerId"], &left["reason"]),
            (&jb["peerId"], &json!("disconnected"))
        );
    }
    ok(&c.call("room:leave", json!({"roomId": "r"})).await);
    let left = a.recv("peer:left").await;
    assert_eq!(
        (&left["peerId"], &left["reason"]),
        (&json!(c.sid), &json!("left"))
    );
    assert_eq!(
        cl.nodes[2].room_size("r").await,
        1,
        "every node sees one member"
    );
    cl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_cap_holds_when_joins_race_on_different_nodes() {
    let redis = redis_server::url().await;
    let cl = Nodes::start(&redis, |c| c.room_max_peers = 4).await;
    let mut sockets = Vec::new();
    for i in 0..15 {
        let node = &cl.nodes[i % 3];
        let (t, _) = node.register(&format!("user{i}")).await;
        sockets.push(connect_ok(&node.base, "/webrtc", &t).await);
    }
    let acks = sockets
        .iter()
        .map(|s| s.emit_ack("room:join", json!({"roomId": "capped"})));
    let mut admitted = 0;
    for ack in futures_util::future::join_all(acks).await {
        let ack = ack.expect("ack");
        match ack["success"].as_bool() {
            Some(true) => admitted += 1,
            _ => assert_eq!(ack["error"], "room_full", "{ack}"),
        }
    }
    assert_eq!(
        admitted, 4,
        "exactly the cap is admitted over the three nodes"
    );
    for n in &cl.nodes {
        assert_eq!(n.room_size("capped").await, 4);
    }
    cl.stop().await;
}

async fn create_chat(node: &TestApp, token: &str, others: &[&Value]) -> String {
    let ids: Vec<&Value> = others.iter().map(|u| &u["id"]).collect();
    let (st, chat) = node
        .request(
            token,
            Method::POST,
            "/chats",
            Some(json!({"participantIds": ids})),
        )
        .await;
    assert_eq!(st, 201, "{chat}");
    chat["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_todos_typing_and_presence_cross_nodes_exactly_once() {
    let redis = redis_server::url().await;
    let cl = Nodes::start(&redis, |_| {}).await;
    let (ta, alice) = cl.nodes[0].register("alice").await;
    let (tb, bob) = cl.nodes[1].register("bobby").await;
    let (tc, _) = cl.nodes[2].register("carol").await;
    let chat = create_chat(&cl.nodes[2], &ta, &[&bob]).await;
    let mut a0 = connect_ok(cl.base(0), "/", &ta).await;
    let mut a1 = connect_ok(cl.base(1), "/", &ta).await;
    let mut b1 = connect_ok(cl.base(1), "/", &tb).await;
    let mut b2 = connect_ok(cl.base(2), "/", &tb).await;
    let mut c2 = connect_ok(cl.base(2), "/", &tc).await;

    // A message sent on node 0 reaches each participant socket once.
    ok(&a0.call("chat:join", json!({"chatId": chat})).await);
    let ack = a0
        .call(
            "message:send",
            json!({"chatId": chat, "text": "через три узла"}),
        )
        .await;
    let msg = ok(&ack)["message"].clone();
    for s in [&mut a1, &mut b1, &mut b2] {
        assert_eq!(s.recv("message:new").await, msg);
    }
    for s in [&mut a0, &mut a1, &mut b1, &mut b2] {
        let more = settled(s, "message:new", "/").await;
        assert!(
            more.len() <= 1 && more.iter().all(|m| *m == msg),
            "once per socket: {more:?}"
        );
    }
    assert!(
        settled(&mut c2, "message:new", "/").await.is_empty(),
        "not to outsiders"
    );
    let (_, history) = cl.nodes[1]
        .request(&tb, Method::GET, &format!("/chats/{chat}/messages"), None)
        .await;
    assert_eq!(history, json!([msg]), "one database for all nodes");

    // Typing from node 1 reaches bob on nodes 1 and 2, not alice's other tab.
    a1.emit("typing", json!({"chatId": chat, "isTyping": true}));
    let want =
        json!({"chatId": chat, "userId": alice["id"], "username": "alice", "isTyping": true});
    assert_eq!(b1.recv("typing").await, want);
    assert_eq!(b2.recv("typing").await, want);
    assert!(settled(&mut a0, "typing", "/").await.is_empty());

    // A todo created through node 2 reaches alice's tabs on nodes 0 and 1.
    let (st, todo) = cl.nodes[2]
        .request(
            &ta,
            Method::POST,
            "/todos",
            Some(json!({"title": "cluster"})),
        )
        .await;
    assert_eq!(st, 201);
    for s in [&mut a0, &mut a1] {
        assert_eq!(s.recv("todo:created").await["id"], todo["id"]);
        assert!(
            settled(s, "todo:created", "/").await.is_empty(),
            "once per tab"
        );
    }
    for s in [&mut b1, &mut c2] {
        assert!(
            settled(s, "todo:created", "/").await.is_empty(),
            "owner only"
        );
    }

    // Presence: alice's last socket closing (on any node) turns her
    // offline for bob; she comes back on node 2.
    let list = b2.call("presence:list", Value::Null).await;
    assert_eq!(ok(&list)["online"], json!([alice["id"]]));
    for s in [&mut b1, &mut b2] {
        // Alice came online before bob connected; an announcement still in
        // flight when he did is not what this checks.
        let _ = settled(s, "presence:update", "/").await;
    }
    a0.close();
    assert!(
        settled(&mut b1, "presence:update", "/").await.is_empty(),
        "alice still has a tab"
    );
    a1.close();
    for s in [&mut b1, &mut b2] {
        assert_eq!(
            s.recv("presence:update").await,
            json!({"userId": alice["id"], "online": false})
        );
    }
    let _a2 = connect_ok(cl.base(2), "/", &ta).await;
    for s in [&mut b1, &mut b2] {
        assert_eq!(
            s.recv("presence:update").await,
            json!({"userId": alice["id"], "online": true})
        );
    }
    cl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_rings_devices_on_every_node_and_the_first_answer_wins() {
    let redis = redis_server::url().await;
    let cl = Nodes::start(&redis, |_| {}).await;
    let (ta, _) = cl.nodes[0].register("alice").await;
    let (tb, bob) = cl.nodes[1].register("bobby").await;
    let mut a = connect_ok(cl.base(0), "/webrtc", &ta).await;
    let mut b1 = connect_ok(cl.base(1), "/webrtc", &tb).await;
    let mut b2 = connect_ok(cl.base(2), "/webrtc", &tb).await;

    let ack = a
        .call("call:invite", json!({"to": bob["id"], "kind": "audio"}))
        .await;
    let id = ok(&ack)["callId"].as_str().expect("callId").to_owned();
    assert_eq!(
        ack["offline"],
        json!([]),
        "bob's devices are on other nodes"
    );
    for b in [&mut b1, &mut b2] {
        assert_eq!(b.recv("call:incoming").await["callId"], id.as_str());
    }
    ok(&b2.call("call:accept", json!({"callId": id})).await);
    assert_eq!(a.recv("call:accepted").await["by"]["id"], bob["id"]);
    assert_eq!(
        b1.recv("call:answered-elsewhere").await,
        json!({"callId": id})
    );
    let late = b1.call("call:accept", json!({"callId": id})).await;
    assert_eq!(late["error"], "already_answered", "one answer across nodes");

    // The call room admits both, on their own nodes; the hangup ends it
    // for bob's devices on both nodes.
    let room = format!("call:{id}");
    ok(&a.call("room:join", json!({"roomId": room})).await);
    ok(&b2.call("room:join", json!({"roomId": room})).await);
    ok(&a.call("call:hangup", json!({"callId": id})).await);
    for b in [&mut b1, &mut b2] {
        assert_eq!(b.recv("call:ended").await["reason"], "hangup");
    }
    cl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_shuts_down_takes_its_peers_out_of_rooms_everywhere() {
    let redis = redis_server::url().await;
    let mut cl = Nodes::start(&redis, |_| {}).await;
    let (ta, _) = cl.nodes[0].register("alice").await;
    let (tb, _) = cl.nodes[2].register("bobby").await;
    let mut a = connect_ok(cl.base(0), "/webrtc", &ta).await;
    let b = connect_ok(cl.base(2), "/webrtc", &tb).await;
    ok(&a.call("room:join", json!({"roomId": "r"})).await);
    let mut b = b;
    ok(&b.call("room:join", json!({"roomId": "r"})).await);
    a.recv("peer:joined").await;
    let gone = cl.nodes.pop().expect("node 2");
    gone.stop().await;
    let left = a.recv("peer:left").await;
    assert_eq!(
        (&left["peerId"], &left["reason"]),
        (&json!(b.sid), &json!("disconnected"))
    );
    assert_eq!(cl.nodes[1].room_size("r").await, 1);
    cl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_survive_a_redis_restart_and_publish_their_state_again() {
    let mut redis = OwnRedis::start().await;
    let cl = Nodes::start(&redis.url, |_| {}).await;
    let (ta, alice) = cl.nodes[0].register("alice").await;
    let (tb, bob) = cl.nodes[1].register("bobby").await;
    let chat = create_chat(&cl.nodes[0], &ta, &[&bob]).await;
    let mut a = connect_ok(cl.base(0), "/webrtc", &ta).await;
    let mut b = connect_ok(cl.base(1), "/webrtc", &tb).await;
    let mut a_app = connect_ok(cl.base(0), "/", &ta).await;
    let mut b_app = connect_ok(cl.base(1), "/", &tb).await;
    ok(&a.call("room:join", json!({"roomId": "r"})).await);
    ok(&b.call("room:join", json!({"roomId": "r"})).await);
    a.recv("peer:joined").await;

    redis.restart(Duration::from_millis(500)).await;
    // Within a heartbeat or two the nodes are back, with the room and
    // presence written again (the restarted Redis came back empty).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    for i in 0.. {
        assert!(
            tokio::time::Instant::now() < deadline,
            "relay did not come back"
        );
        let sdp = format!("after-{i}");
        let ack = b
            .call(
                "offer",
                json!({"to": a.sid, "sdp": {"type": "offer", "sdp": sdp}}),
            )
            .await;
        if ack["success"] != true {
            // A clear refusal while Redis is away, never a silent drop.
            assert!(ack["error"].is_string(), "{ack}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        ping(&mut a).await;
        if a.drain("offer")
            .iter()
            .any(|o| o["sdp"]["sdp"] == sdp.as_str())
        {
            break;
        }
    }
    assert_eq!(
        cl.nodes[2].room_size("r").await,
        2,
        "membership published again"
    );
    let list = b_app.call("presence:list", Value::Null).await;
    assert_eq!(
        ok(&list)["online"],
        json!([alice["id"]]),
        "presence published again"
    );

    // Messages cross nodes again (the adapter subscribed again).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let msg = loop {
        let ack = a_app
            .call("message:send", json!({"chatId": chat, "text": "back"}))
            .await;
        let msg = ok(&ack)["message"].clone();
        tokio::time::sleep(Duration::from_millis(300)).await;
        crate::helpers::sync(&mut b_app).await;
        if b_app.drain("message:new").contains(&msg) {
            break msg;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "messages do not cross nodes again"
        );
    };
    assert_eq!(msg["text"], "back");
    for n in &cl.nodes {
        let res = reqwest::get(format!("{}/ready", n.base))
            .await
            .expect("ready");
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["checks"]["redis"], "ok");
    }
    cl.stop().await;
}

/// Login attempts from `ip` on `node` for `email`: the status and the
/// answer's `error`.
async fn login_from(node: &TestApp, ip: [u8; 4], email: &str) -> (u16, Value) {
    let r = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("client")
        .post(format!("{}/auth/login", node.base))
        .json(&json!({"email": email, "password": "a guess"}))
        .send()
        .await
        .expect("login");
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").cloned();
    let body: Value = r.json().await.expect("json");
    if status == 429 {
        assert!(retry.is_some(), "429 without Retry-After: {body}");
    }
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limits_count_attempts_on_every_node() {
    let redis = redis_server::url().await;
    let cl = Nodes::start(&redis, |c| {
        c.auth_rate_limit = switchboard::config::Rate::parse("3/h").expect("rate")
    })
    .await;
    let [a, b, c] = [&cl.nodes[0], &cl.nodes[1], &cl.nodes[2]];
    // Three guesses from one address, one on each node, are answered...
    for (i, node) in [a, b, c].into_iter().enumerate() {
        let (status, body) = login_from(node, [127, 0, 0, 31], &format!("x{i}@example.com")).await;
        assert_eq!(status, 401, "guess {i}: {body}");
    }
    // ...and the fourth is refused, whichever node it reaches.
    for node in [a, c] {
        let (status, body) = login_from(node, [127, 0, 0, 31], "x9@example.com").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (429, Some("rate_limited"))
        );
    }
    // The e-mail has its own bucket across nodes as well.
    for (i, ip) in [[127, 0, 0, 32], [127, 0, 0, 33], [127, 0, 0, 34]]
        .into_iter()
        .enumerate()
    {
        let (status, body) = login_from(&cl.nodes[i], ip, "target@example.com").await;
        assert_eq!(status, 401, "address {i}: {body}");
    }
    let (status, body) = login_from(b, [127, 0, 0, 35], "TARGET@example.com ").await;
    assert_eq!(status, 429, "the fourth guess at one e-mail: {body}");
    // Others are not affected.
    let (status, body) = login_from(c, [127, 0, 0, 36], "someone@example.com").await;
    assert_eq!(status, 401, "{body}");
    cl.stop().await;
}
