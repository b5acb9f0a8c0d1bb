//! Call invitations on `/webrtc` (`call:*`) and the call log (`GET /calls`),
//! through the project's Socket.IO client: every event and error of the
//! contract's "Calls (v2)" section.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::sio::{Client, connect_ok};

/// A registered user and their token.
struct User {
    id: String,
    token: String,
}

async fn user(app: &TestApp, name: &str) -> User {
    let (token, u) = app.register(name).await;
    User {
        id: u["id"].as_str().expect("id").to_owned(),
        token,
    }
}

async fn device(app: &TestApp, u: &User) -> Client {
    connect_ok(&app.base, "/webrtc", &u.token).await
}

/// Round trip: everything the server queued for `c` before has arrived.
async fn sync(c: &mut Client) {
    let pong = c.call("ping", json!("sync")).await;
    assert_eq!(pong["message"], "pong");
}

/// Events named `event` that arrived on `c` (after a round trip).
async fn arrived(c: &mut Client, event: &str) -> Vec<Value> {
    sync(c).await;
    c.drain(event)
}

async fn invite(c: &mut Client, to: Value, kind: &str) -> Value {
    c.call("call:invite", json!({"to": to, "kind": kind})).await
}

async fn log_of(app: &TestApp, u: &User, query: &str) -> (u16, Value) {
    app.request(&u.token, Method::GET, &format!("/calls{query}"), None)
        .await
}

fn ok(ack: &Value) -> &Value {
    assert_eq!(ack["success"], true, "ack: {ack}");
    ack
}

#[tokio::test]
async fn an_invitation_rings_every_device_and_the_first_answer_wins() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (
        user(&app, "alice").await,
        user(&app, "bobby").await,
        user(&app, "carol").await,
    );
    let mut a = device(&app, &alice).await;
    let mut b1 = device(&app, &bob).await;
    let mut b2 = device(&app, &bob).await;
    let mut c = device(&app, &carol).await;

    let ack = a
        .call(
            "call:invite",
            json!({"to": bob.id, "kind": "video", "metadata": {"topic": "standup"}}),
        )
        .await;
    let call_id = ok(&ack)["callId"].as_str().expect("callId").to_owned();
    assert!(uuid::Uuid::parse_str(&call_id).is_ok(), "{call_id}");
    let room = format!("call:{call_id}");
    assert_eq!(ack["roomId"], room.as_str());
    assert_eq!(ack["invited"], json!([bob.id]));
    assert_eq!((&ack["busy"], &ack["offline"]), (&json!([]), &json!([])));

    for b in [&mut b1, &mut b2] {
        let ring = b.recv("call:incoming").await;
        assert_eq!(ring["callId"], call_id.as_str());
        assert_eq!(ring["roomId"], room.as_str());
        assert_eq!(ring["from"], json!({"id": alice.id, "username": "alice"}));
        assert_eq!(ring["kind"], "video");
        assert_eq!(ring["metadata"], json!({"topic": "standup"}));
        assert!(ring["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(arrived(b, "call:incoming").await.is_empty(), "rung once");
    }
    assert!(arrived(&mut c, "call:incoming").await.is_empty());
    assert!(arrived(&mut a, "call:incoming").await.is_empty());

    // Nobody joins the call room before accepting.
    let early = b1.call("room:join", json!({"roomId": room})).await;
    assert_eq!(early["error"], "access_denied");

    let acc = b1.call("call:accept", json!({"callId": call_id})).await;
    assert_eq!(ok(&acc)["roomId"], room.as_str());
    assert!(acc["iceServers"].is_array());
    let accepted = a.recv("call:accepted").await;
    assert_eq!(
        accepted,
        json!({"callId": call_id, "by": {"id": bob.id, "username": "bobby"}})
    );
    assert_eq!(
        b2.recv("call:answered-elsewhere").await,
        json!({"callId": call_id})
    );
    assert!(arrived(&mut b1, "call:answered-elsewhere").await.is_empty());
    let late = b2.call("call:accept", json!({"callId": call_id})).await;
    assert_eq!(late["error"], "already_answered");

    // The room admits the caller and the invitee who accepted, nobody else.
    ok(&a.call("room:join", json!({"roomId": room})).await);
    let jb = b1.call("room:join", json!({"roomId": room})).await;
    assert_eq!(ok(&jb)["peers"][0]["peerId"], a.sid.as_str());
    let denied = c.call("room:join", json!({"roomId": room})).await;
    assert_eq!(denied["error"], "access_denied");

    let (status, live) = log_of(&app, &bob, "").await;
    assert_eq!(status, 200);
    assert_eq!(live[0]["outcome"], "answered");
    assert_eq!(live[0]["endedAt"], Value::Null);

    ok(&a.call("call:hangup", json!({"callId": call_id})).await);
    for b in [&mut b1, &mut b2] {
        let ended = b.recv("call:ended").await;
        assert_eq!(
            ended,
            json!({"callId": call_id, "by": {"id": alice.id, "username": "alice"}, "reason": "hangup"})
        );
        assert!(arrived(b, "call:ended").await.is_empty(), "ended once");
    }
    assert!(arrived(&mut a, "call:ended").await.is_empty());
    let again = b1.call("call:hangup", json!({"callId": call_id})).await;
    assert_eq!(again["error"], "call_not_found", "the call is over");

    let (_, log) = log_of(&app, &alice, "").await;
    let entry = &log[0];
    assert_eq!(log.as_array().map(Vec::len), Some(1));
    assert_eq!(entry["id"], call_id.as_str());
    assert_eq!(entry["kind"], "video");
    assert_eq!(
        entry["caller"],
        json!({"id": alice.id, "username": "alice"})
    );
    assert_eq!(
        entry["invitees"],
        json!([{"id": bob.id, "username": "bobby", "outcome": "answered"}])
    );
    assert_eq!(entry["outcome"], "answered");
    assert!(entry["answeredAt"].is_string() && entry["endedAt"].is_string());
    assert!(entry["durationMs"].as_i64().is_some_and(|d| d >= 0));
    let (_, bobs) = log_of(&app, &bob, "").await;
    assert_eq!(bobs, log, "the invitee sees the same entry");
    let (_, carols) = log_of(&app, &carol, "").await;
    assert_eq!(carols, json!([]), "no call one was not part of");
}

#[tokio::test]
async fn declined_busy_and_offline_invitees_are_reported() {
    let app = spawn_app().await;
    let (alice, bob, carol, dave, erin) = (
        user(&app, "alice").await,
        user(&app, "bobby").await,
        user(&app, "carol").await,
        user(&app, "dave1").await,
        user(&app, "erin1").await,
    );
    let mut a = device(&app, &alice).await;
    let mut b = device(&app, &bob).await;
    let mut c = device(&app, &carol).await;
    let mut d = device(&app, &dave).await;

    // Declined.
    let ack = invite(&mut a, json!(bob.id), "audio").await;
    let first = ok(&ack)["callId"].as_str().expect("id").to_owned();
    b.recv("call:incoming").await;
    ok(&b.call("call:reject", json!({"callId": first})).await);
    let rejected = a.recv("call:rejected").await;
    assert_eq!(
        rejected,
        json!({"callId": first, "by": {"id": bob.id, "username": "bobby"}, "reason": "declined"})
    );

    // A refusal with `busy`, then a real busy: bob in a call with alice.
    let ack = invite(&mut a, json!(bob.id), "audio").await;
    let second = ok(&ack)["callId"].as_str().expect("id").to_owned();
    b.recv("call:incoming").await;
    ok(&b
        .call("call:reject", json!({"callId": second, "reason": "busy"}))
        .await);
    assert_eq!(a.recv("call:rejected").await["reason"], "busy");
    let bad = b
        .call("call:reject", json!({"callId": second, "reason": "bored"}))
        .await;
    assert_eq!(bad["error"], "invalid_payload");

    let ack = invite(&mut a, json!(bob.id), "video").await;
    let third = ok(&ack)["callId"].as_str().expect("id").to_owned();
    b.recv("call:incoming").await;
    ok(&b.call("call:accept", json!({"callId": third})).await);
    a.recv("call:accepted").await;

    let none = invite(&mut c, json!(bob.id), "audio").await;
    assert_eq!(none["error"], "unavailable", "{none}");
    let some = invite(&mut c, json!([bob.id, dave.id, erin.id]), "audio").await;
    let fourth = ok(&some)["callId"].as_str().expect("id").to_owned();
    assert_eq!(some["invited"], json!([dave.id]));
    assert_eq!(some["busy"], json!([bob.id]));
    assert_eq!(some["offline"], json!([erin.id]));
    assert_eq!(d.recv("call:incoming").await["callId"], fourth.as_str());
    assert!(
        arrived(&mut b, "call:incoming").await.is_empty(),
        "busy: not rung"
    );

    // A caller ringing (carol) or in a call (alice) is busy.
    let busy = invite(&mut a, json!(dave.id), "audio").await;
    assert_eq!(busy["error"], "busy");
    let busy = invite(&mut c, json!(alice.id), "audio").await;
    assert_eq!(busy["error"], "busy");
    // Dave's devices ring for carol; alice, busy, cannot be rung by dave.
    ok(&d.call("call:reject", json!({"callId": fourth})).await);
    c.recv("call:rejected").await;

    let (_, log) = log_of(&app, &alice, "").await;
    let outcomes: Vec<&str> = log
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["outcome"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        outcomes,
        ["answered", "busy", "declined"],
        "most recent first"
    );
    let (_, log) = log_of(&app, &carol, "").await;
    assert_eq!(log[0]["id"], fourth.as_str());
    assert_eq!(log[0]["outcome"], "declined");
    assert_eq!(
        log[0]["invitees"],
        json!([
            {"id": bob.id, "username": "bobby", "outcome": "busy"},
            {"id": dave.id, "username": "dave1", "outcome": "declined"},
            {"id": erin.id, "username": "erin1", "outcome": "missed"},
        ])
    );
}

#[tokio::test]
async fn the_caller_cancels_or_the_ringing_times_out() {
    let app = spawn_app_with(|c| c.call_ring_timeout = Duration::from_millis(1500)).await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bobby").await);
    let mut a = device(&app, &alice).await;
    let mut b1 = device(&app, &bob).await;
    let mut b2 = device(&app, &bob).await;

    let ack = invite(&mut a, json!(bob.id), "video").await;
    let cancelled = ok(&ack)["callId"].as_str().expect("id").to_owned();
    b1.recv("call:incoming").await;
    let not_yours = b1.call("call:cancel", json!({"callId": cancelled})).await;
    assert_eq!(not_yours["error"], "access_denied");
    ok(&a.call("call:cancel", json!({"callId": cancelled})).await);
    for b in [&mut b1, &mut b2] {
        assert_eq!(
            b.recv("call:cancelled").await,
            json!({"callId": cancelled, "reason": "cancelled"})
        );
    }
    let gone = b1.call("call:accept", json!({"callId": cancelled})).await;
    assert_eq!(gone["error"], "call_not_found");

    let ack = invite(&mut a, json!(bob.id), "audio").await;
    let timed_out = ok(&ack)["callId"].as_str().expect("id").to_owned();
    assert_eq!(
        a.recv("call:timeout").await,
        json!({"callId": timed_out, "userId": bob.id})
    );
    for b in [&mut b1, &mut b2] {
        b.recv("call:incoming").await;
        assert_eq!(
            b.recv("call:cancelled").await,
            json!({"callId": timed_out, "reason": "timeout"})
        );
    }
    assert!(
        arrived(&mut a, "call:timeout").await.is_empty(),
        "one per invitee"
    );
    let late = b2.call("call:accept", json!({"callId": timed_out})).await;
    assert_eq!(late["error"], "call_not_found");

    let (_, log) = log_of(&app, &bob, "").await;
    assert_eq!(log[0]["outcome"], "missed");
    assert_eq!(log[0]["invitees"][0]["outcome"], "missed");
    assert_eq!(log[1]["outcome"], "cancelled");
    assert_eq!(log[1]["invitees"][0]["outcome"], "cancelled");
    assert_eq!(log[1]["durationMs"], Value::Null);
    // The caller is free again.
    ok(&invite(&mut a, json!(bob.id), "audio").await);
}

#[tokio::test]
async fn a_group_call_lasts_while_two_remain() {
    let app = spawn_app_with(|c| c.call_ring_timeout = Duration::from_millis(2000)).await;
    let alice = user(&app, "alice").await;
    let mut others = Vec::new();
    for name in ["bobby", "carol", "dave1", "erin1"] {
        let u = user(&app, name).await;
        let c = device(&app, &u).await;
        others.push((u, c));
    }
    let mut a = device(&app, &alice).await;
    let ids: Vec<String> = others.iter().map(|(u, _)| u.id.clone()).collect();
    let ack = invite(&mut a, json!(ids), "video").await;
    let call = ok(&ack)["callId"].as_str().expect("id").to_owned();
    assert_eq!(ack["invited"].as_array().map(Vec::len), Some(4));
    for (_, c) in &mut others {
        c.recv("call:incoming").await;
    }
    let [(bob, b), (carol, c), (dave, d), (_, e)] = &mut others[..] else {
        unreachable!()
    };
    ok(&b.call("call:accept", json!({"callId": call})).await);
    ok(&c.call("call:accept", json!({"callId": call})).await);
    ok(&d.call("call:reject", json!({"callId": call})).await);
    for _ in 0..2 {
        a.recv("call:accepted").await;
    }
    assert_eq!(a.recv("call:rejected").await["by"]["id"], dave.id.as_str());
    // Erin never answers.
    assert_eq!(a.recv("call:timeout").await["userId"], json!(ids[3]));
    assert_eq!(e.recv("call:cancelled").await["reason"], "timeout");
    assert!(arrived(b, "call:cancelled").await.is_empty());

    // The caller leaves; bob and carol stay in the call.
    ok(&a.call("call:hangup", json!({"callId": call})).await);
    for x in [&mut *b, &mut *c] {
        assert_eq!(x.recv("call:ended").await["by"]["id"], alice.id.as_str());
    }
    let room = format!("call:{call}");
    let rejoin = a.call("room:join", json!({"roomId": room})).await;
    assert_eq!(rejoin["error"], "access_denied", "the caller hung up");
    ok(&c.call("room:join", json!({"roomId": room})).await);
    ok(&b.call("call:hangup", json!({"callId": call})).await);
    let ended = c.recv("call:ended").await;
    assert_eq!(ended["by"]["id"], bob.id.as_str());
    let over = c.call("call:hangup", json!({"callId": call})).await;
    assert_eq!(over["error"], "call_not_found", "one left: the call ended");

    let (_, log) = log_of(&app, carol, "").await;
    let entry = &log[0];
    assert_eq!(entry["outcome"], "answered");
    let outcomes: Vec<&str> = entry["invitees"]
        .as_array()
        .expect("invitees")
        .iter()
        .map(|i| i["outcome"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(outcomes, ["answered", "answered", "declined", "missed"]);
    assert!(entry["endedAt"].is_string());
}

#[tokio::test]
async fn concurrent_accepts_from_two_devices_have_one_winner() {
    let app = spawn_app().await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bobby").await);
    let mut a = device(&app, &alice).await;
    let mut b1 = device(&app, &bob).await;
    let mut b2 = device(&app, &bob).await;
    let mut ring_ms = Vec::new();
    for round in 0..10 {
        let sent = std::time::Instant::now();
        let ack = invite(&mut a, json!(bob.id), "audio").await;
        let call = ok(&ack)["callId"].as_str().expect("id").to_owned();
        b1.recv("call:incoming").await;
        b2.recv("call:incoming").await;
        ring_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        let body = json!({"callId": call});
        let (r1, r2) = tokio::join!(
            b1.call("call:accept", body.clone()),
            b2.call("call:accept", body)
        );
        let wins = [&r1, &r2].iter().filter(|r| r["success"] == true).count();
        assert_eq!(wins, 1, "round {round}: {r1} / {r2}");
        let loser = if r1["success"] == true { &r2 } else { &r1 };
        assert_eq!(loser["error"], "already_answered");
        a.recv("call:accepted").await;
        // The winner's other device hears it was answered elsewhere; the
        // winner does not.
        let (winner, other) = if r1["success"] == true {
            (&mut b1, &mut b2)
        } else {
            (&mut b2, &mut b1)
        };
        other.recv("call:answered-elsewhere").await;
        assert!(arrived(winner, "call:answered-elsewhere").await.is_empty());
        assert!(
            arrived(&mut a, "call:accepted").await.is_empty(),
            "accepted once"
        );
        ok(&a.call("call:hangup", json!({"callId": call})).await);
        b1.recv("call:ended").await;
        b2.recv("call:ended").await;
    }
    ring_ms.sort_by(f64::total_cmp);
    println!(
        "invite to both devices ringing (debug build, in process): median {:.2} ms, max {:.2} ms over 10 calls",
        ring_ms[5], ring_ms[9]
    );
}

#[tokio::test]
async fn a_last_socket_dropping_cancels_or_hangs_up() {
    let app = spawn_app().await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bobby").await);
    let mut b = device(&app, &bob).await;

    // The caller vanishes while ringing.
    let mut a = device(&app, &alice).await;
    let ack = invite(&mut a, json!(bob.id), "audio").await;
    let first = ok(&ack)["callId"].as_str().expect("id").to_owned();
    b.recv("call:incoming").await;
    a.close();
    assert_eq!(
        b.recv("call:cancelled").await,
        json!({"callId": first, "reason": "caller_left"})
    );

    // The caller has two devices: one dropping changes nothing.
    let mut a1 = device(&app, &alice).await;
    let a2 = device(&app, &alice).await;
    let ack = invite(&mut a1, json!(bob.id), "audio").await;
    let second = ok(&ack)["callId"].as_str().expect("id").to_owned();
    b.recv("call:incoming").await;
    a2.close();
    ok(&b.call("call:accept", json!({"callId": second})).await);
    a1.recv("call:accepted").await;

    // The invitee's only socket drops mid-call: hung up, `disconnected`.
    b.close();
    let ended = a1.recv("call:ended").await;
    assert_eq!(
        ended,
        json!({"callId": second, "by": {"id": bob.id, "username": "bobby"}, "reason": "disconnected"})
    );
    let (_, log) = log_of(&app, &alice, "").await;
    assert_eq!(log[0]["outcome"], "answered");
    assert!(log[0]["endedAt"].is_string());
    assert_eq!(log[1]["outcome"], "cancelled");
    // Alice is free again, and bob, now offline, cannot be rung.
    let offline = invite(&mut a1, json!(bob.id), "audio").await;
    assert_eq!(offline["error"], "unavailable");
}

#[tokio::test]
async fn bad_requests_get_errors_and_change_nothing() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (
        user(&app, "alice").await,
        user(&app, "bobby").await,
        user(&app, "carol").await,
    );
    let mut a = device(&app, &alice).await;
    let mut b = device(&app, &bob).await;
    let mut c = device(&app, &carol).await;

    let big = "x".repeat(4100);
    let sixteen: Vec<String> = (0..16).map(|i| format!("u{i}")).collect();
    let cases = [
        (json!({"to": [], "kind": "audio"}), "invalid_payload"),
        (json!({"to": bob.id, "kind": "fax"}), "invalid_payload"),
        (json!({"to": bob.id}), "invalid_payload"),
        (json!({"to": 42, "kind": "audio"}), "invalid_payload"),
        (json!({"to": sixteen, "kind": "audio"}), "invalid_payload"),
        (
            json!({"to": "no-such-user", "kind": "audio"}),
            "invalid_payload",
        ),
        (
            json!({"to": bob.id, "kind": "audio", "metadata": {"x": big}}),
            "invalid_payload",
        ),
        (
            json!({"to": bob.id, "kind": "audio", "metadata": "hi"}),
            "invalid_payload",
        ),
        (json!({"to": alice.id, "kind": "audio"}), "self_call"),
        (
            json!({"to": [bob.id, alice.id], "kind": "audio"}),
            "self_call",
        ),
        (json!("nonsense"), "invalid_payload"),
    ];
    for (payload, code) in cases {
        let ack = a.call("call:invite", payload.clone()).await;
        assert_eq!(ack["success"], false, "{payload}");
        assert_eq!(ack["error"], code, "{payload}: {ack}");
        assert!(ack["message"].is_string(), "{ack}");
    }
    assert!(
        arrived(&mut b, "call:incoming").await.is_empty(),
        "nothing rang"
    );

    let unknown = json!({"callId": uuid::Uuid::new_v4().to_string()});
    for event in ["call:accept", "call:reject", "call:cancel", "call:hangup"] {
        let ack = b.call(event, unknown.clone()).await;
        assert_eq!(ack["error"], "call_not_found", "{event}: {ack}");
        let ack = b.call(event, json!({"call": 1})).await;
        assert_eq!(ack["error"], "invalid_payload", "{event}: {ack}");
    }
    // Without an ack, the error comes as an `error` event.
    b.emit("call:accept", json!({}));
    assert_eq!(b.recv("error").await["error"], "invalid_payload");

    // A call the sender is not part of.
    let ack = invite(&mut a, json!(bob.id), "audio").await;
    let call = ok(&ack)["callId"].as_str().expect("id").to_owned();
    let body = json!({"callId": call});
    assert_eq!(
        c.call("call:accept", body.clone()).await["error"],
        "not_invited"
    );
    assert_eq!(
        c.call("call:reject", body.clone()).await["error"],
        "not_invited"
    );
    assert_eq!(
        c.call("call:cancel", body.clone()).await["error"],
        "call_not_found"
    );
    assert_eq!(
        c.call("call:hangup", body.clone()).await["error"],
        "call_not_found"
    );
    assert_eq!(
        b.call("call:hangup", body.clone()).await["error"],
        "call_not_found"
    );
    // Still ringing, as if nothing happened.
    assert_eq!(b.recv("call:incoming").await["callId"], call.as_str());
    ok(&b.call("call:accept", body).await);

    let (_, log) = log_of(&app, &alice, "").await;
    assert_eq!(log.as_array().map(Vec::len), Some(1), "only the real call");

    // The log's own bad input.
    for query in ["?limit=0", "?limit=201", "?limit=ten", "?before=nope"] {
        let (status, body) = log_of(&app, &alice, query).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"], "bad_request", "{query}: {body}");
    }
    let (status, _) = app
        .request("not-a-token", Method::GET, "/calls", None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = log_of(&app, &carol, &format!("?before={call}")).await;
    assert_eq!(status, 400, "carol cannot page from alice's call");
}

#[tokio::test]
async fn the_log_pages_most_recent_first() {
    let app = spawn_app().await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bobby").await);
    let mut a = device(&app, &alice).await;
    let mut b = device(&app, &bob).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let ack = invite(&mut a, json!(bob.id), "audio").await;
        let id = ok(&ack)["callId"].as_str().expect("id").to_owned();
        b.recv("call:incoming").await;
        ok(&b.call("call:reject", json!({"callId": id})).await);
        a.recv("call:rejected").await;
        ids.push(id);
    }
    let (_, page) = log_of(&app, &alice, "?limit=2").await;
    let got: Vec<&str> = page
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(got, [ids[4].as_str(), ids[3].as_str()]);
    let (_, page) = log_of(&app, &bob, &format!("?limit=2&before={}", ids[3])).await;
    let got: Vec<&str> = page
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
}
