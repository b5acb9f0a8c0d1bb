//! Resumable room slots on `/webrtc` (`room:join {resumable}`, `peer:away`,
//! `room:resume`, `peer:resumed`): the contract's "Resume and presence (v2)"
//! section, through the project's Socket.IO client.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::sio::{Client, connect_ok};

async fn app(window: Duration, cap: usize) -> TestApp {
    spawn_app_with(|c| {
        c.resume_window = window;
        c.room_max_peers = cap;
    })
    .await
}

async fn device(app: &TestApp, token: &str) -> Client {
    connect_ok(&app.base, "/webrtc", token).await
}

/// Round trip: everything the server queued for `c` before has arrived.
async fn sync(c: &mut Client) {
    let pong = c.call("ping", json!("sync")).await;
    assert_eq!(pong["message"], "pong");
}

/// Names of the events that arrived on `c` (after a round trip).
async fn arrived(c: &mut Client) -> Vec<(String, Value)> {
    sync(c).await;
    c.drain_all()
}

async fn join(c: &mut Client, room: &str, resumable: bool) -> Value {
    let ack = c
        .call("room:join", json!({"roomId": room, "resumable": resumable}))
        .await;
    assert_eq!(ack["success"], true, "join: {ack}");
    ack
}

fn token_of(ack: &Value) -> String {
    ack["resumeToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no resumeToken in {ack}"))
        .to_owned()
}

#[tokio::test]
async fn a_dropped_peer_is_away_and_a_new_socket_takes_its_slot_back() {
    let app = app(Duration::from_secs(10), 16).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    let token = token_of(&join(&mut a, "r", true).await);
    let jb = join(&mut b, "r", false).await;
    assert!(
        jb.get("resumeToken").is_none(),
        "v1 join has no token: {jb}"
    );
    a.recv("peer:joined").await;
    let old = a.sid.clone();

    a.drop_connection();
    let away = b.recv("peer:away").await;
    assert_eq!(away, json!({"roomId": "r", "peerId": old}));
    assert_eq!(app.room_size("r").await, 2, "the slot is held");

    let mut a2 = device(&app, &ta).await;
    let ack = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(ack["success"], true, "resume: {ack}");
    assert_eq!(ack["roomId"], "r");
    assert_eq!(ack["peerId"], a2.sid.as_str());
    assert_eq!(ack["previousPeerId"], old.as_str());
    assert_eq!(ack["peers"][0]["peerId"], b.sid.as_str());
    assert!(ack["iceServers"].is_array());
    let next = token_of(&ack);
    assert_ne!(next, token, "a fresh token for the next drop");
    let resumed = b.recv("peer:resumed").await;
    assert_eq!(
        resumed,
        json!({"roomId": "r", "peerId": a2.sid, "previousPeerId": old})
    );

    // A relay still addressed to the old id reaches the new socket.
    let sent = b
        .call(
            "offer",
            json!({"to": old, "sdp": {"type": "offer", "sdp": "v=0 to-old"}}),
        )
        .await;
    assert_eq!(sent, json!({"success": true}));
    let offer = a2.recv("offer").await;
    assert_eq!(offer["from"], b.sid.as_str());
    assert_eq!(offer["sdp"]["sdp"], "v=0 to-old");
    let back = a2
        .call(
            "answer",
            json!({"to": b.sid, "sdp": {"type": "answer", "sdp": "v=0 back"}}),
        )
        .await;
    assert_eq!(back, json!({"success": true}));
    assert_eq!(b.recv("answer").await["from"], a2.sid.as_str());

    let seen = arrived(&mut b).await;
    assert!(
        !seen.iter().any(|(n, _)| n == "peer:left"),
        "nobody left: {seen:?}"
    );
    assert_eq!(app.room_size("r").await, 2);

    // The new slot is resumable again.
    a2.drop_connection();
    b.recv("peer:away").await;
    let mut a3 = device(&app, &ta).await;
    let again = a3.call("room:resume", json!({"resumeToken": next})).await;
    assert_eq!(again["previousPeerId"], a2_sid(&again, &old));
    assert_eq!(b.recv("peer:resumed").await["peerId"], a3.sid.as_str());
    // The first id still leads to the newest socket.
    let sent = b
        .call("ice-candidate", json!({"to": old, "candidate": null}))
        .await;
    assert_eq!(sent, json!({"success": true}));
    assert_eq!(a3.recv("ice-candidate").await["from"], b.sid.as_str());
}

/// The previous peer id of a second resume is the second socket's, not the
/// first one's.
fn a2_sid(ack: &Value, first: &str) -> Value {
    let prev = ack["previousPeerId"].clone();
    assert_ne!(prev, first, "previous is the socket just dropped: {ack}");
    prev
}

#[tokio::test]
async fn an_unused_window_ends_with_peer_left_and_the_token_dies() {
    let app = app(Duration::from_millis(800), 16).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    let token = token_of(&join(&mut a, "r", true).await);
    join(&mut b, "r", false).await;
    let old = a.sid.clone();
    a.drop_connection();
    assert_eq!(b.recv("peer:away").await["peerId"], old.as_str());
    let left = b.recv("peer:left").await;
    assert_eq!(left["peerId"], old.as_str());
    assert_eq!(left["reason"], "disconnected");
    assert_eq!(app.room_size("r").await, 1);
    let mut a2 = device(&app, &ta).await;
    let late = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(late["success"], false);
    assert_eq!(late["error"], "resume_failed");
    assert_eq!(app.room_size("r").await, 1, "nothing changed");
}

#[tokio::test]
async fn a_token_is_single_use_and_bound_to_its_user() {
    let app = app(Duration::from_secs(10), 16).await;
    let (ta, _) = app.register("alice").await;
    let (tm, _) = app.register("mallory").await;
    let mut a = device(&app, &ta).await;
    let token = token_of(&join(&mut a, "r", true).await);
    a.drop_connection();

    let mut m = device(&app, &tm).await;
    let foreign = m.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(foreign["error"], "resume_failed", "{foreign}");
    let garbage = m
        .call("room:resume", json!({"resumeToken": "x".repeat(500)}))
        .await;
    assert_eq!(garbage["error"], "resume_failed");
    let shape = m.call("room:resume", json!({"resumeToken": 5})).await;
    assert_eq!(shape["error"], "invalid_payload", "{shape}");
    assert_eq!(
        m.call("room:resume", json!({"roomId": "r"})).await["error"],
        "invalid_payload"
    );

    // The foreign attempt did not burn the token.
    let mut a2 = device(&app, &ta).await;
    let ok = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(ok["success"], true, "{ok}");
    let mut a3 = device(&app, &ta).await;
    let reused = a3.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(reused["error"], "resume_failed", "single use: {reused}");
    assert_eq!(app.room_size("r").await, 1);
}

#[tokio::test]
async fn a_held_slot_counts_toward_the_cap() {
    let app = app(Duration::from_secs(10), 2).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let (tc, _) = app.register("carol").await;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    let mut c = device(&app, &tc).await;
    let token = token_of(&join(&mut a, "r", true).await);
    join(&mut b, "r", false).await;
    a.drop_connection();
    b.recv("peer:away").await;
    let full = c.call("room:join", json!({"roomId": "r"})).await;
    assert_eq!(full["error"], "room_full", "{full}");
    let mut a2 = device(&app, &ta).await;
    let ok = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(ok["success"], true, "{ok}");
    assert_eq!(app.room_size("r").await, 2);
}

#[tokio::test]
async fn a_plain_join_leaves_at_once_and_room_leave_ends_the_token() {
    let app = app(Duration::from_secs(10), 16).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    join(&mut a, "plain", false).await;
    join(&mut b, "plain", false).await;
    let token = token_of(&join(&mut a, "held", true).await);
    join(&mut b, "held", false).await;

    // Leaving a resumable room on purpose is final.
    assert_eq!(
        a.call("room:leave", json!({"roomId": "held"})).await["success"],
        true
    );
    assert_eq!(b.recv("peer:left").await["reason"], "left");
    let old = a.sid.clone();
    a.drop_connection();
    let left = b.recv("peer:left").await;
    assert_eq!(
        (left["roomId"].clone(), left["peerId"].clone()),
        (json!("plain"), json!(old))
    );
    let seen = arrived(&mut b).await;
    assert!(
        !seen.iter().any(|(n, _)| n == "peer:away"),
        "a plain join is never away: {seen:?}"
    );
    let mut a2 = device(&app, &ta).await;
    let gone = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(gone["error"], "resume_failed");
}

#[tokio::test]
async fn a_live_socket_can_hand_its_slot_to_a_new_one() {
    // The client often notices a network change before the server does.
    let app = app(Duration::from_secs(10), 16).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    let token = token_of(&join(&mut a, "r", true).await);
    join(&mut b, "r", false).await;
    let mut a2 = device(&app, &ta).await;
    let ok = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(ok["previousPeerId"], a.sid.as_str(), "{ok}");
    b.recv("peer:resumed").await;
    let stale = a
        .call(
            "offer",
            json!({"to": b.sid, "sdp": {"type": "offer", "sdp": "v=0"}}),
        )
        .await;
    assert_eq!(stale["error"], "peer_not_in_room", "the old socket is out");
    a.drop_connection();
    let seen = arrived(&mut b).await;
    assert!(
        !seen
            .iter()
            .any(|(n, _)| n == "peer:left" || n == "peer:away"),
        "the old socket's drop changes nothing: {seen:?}"
    );
    assert_eq!(app.room_size("r").await, 2);
}

#[tokio::test]
async fn a_call_survives_a_resumed_drop_and_ends_after_an_unused_window() {
    let app = app(Duration::from_millis(800), 16).await;
    let (ta, alice) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let _ = alice;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    let inv = a
        .call("call:invite", json!({"to": bob["id"], "kind": "audio"}))
        .await;
    let call_id = inv["callId"].as_str().expect("callId").to_owned();
    let room = format!("call:{call_id}");
    b.recv("call:incoming").await;
    let acc = b.call("call:accept", json!({"callId": call_id})).await;
    assert_eq!(acc["success"], true, "{acc}");
    let token = token_of(&join(&mut a, &room, true).await);
    join(&mut b, &room, true).await;

    // Alice drops and resumes: the call goes on past the window.
    a.drop_connection();
    b.recv("peer:away").await;
    let mut a2 = device(&app, &ta).await;
    let ok = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(ok["success"], true, "{ok}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = arrived(&mut b).await;
    assert!(
        !seen
            .iter()
            .any(|(n, _)| n == "call:ended" || n == "peer:left"),
        "the call goes on: {seen:?}"
    );

    // Alice drops for good: after the window she has left the room and
    // the call (with one participant left, it ends).
    a2.drop_connection();
    b.recv("peer:away").await;
    let left = b.recv("peer:left").await;
    assert_eq!(left["reason"], "disconnected");
    let ended = b.recv("call:ended").await;
    assert_eq!(ended["callId"], call_id.as_str());
    assert_eq!(ended["reason"], "disconnected");
}

#[tokio::test]
async fn closing_the_socket_on_purpose_frees_the_slot_at_once() {
    let app = app(Duration::from_secs(10), 16).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut a = device(&app, &ta).await;
    let mut b = device(&app, &tb).await;
    let token = token_of(&join(&mut a, "r", true).await);
    join(&mut b, "r", false).await;
    let old = a.sid.clone();
    a.close();
    let left = b.recv("peer:left").await;
    assert_eq!(
        (left["peerId"].clone(), left["reason"].clone()),
        (json!(old), json!("disconnected"))
    );
    let seen = arrived(&mut b).await;
    assert!(!seen.iter().any(|(n, _)| n == "peer:away"), "{seen:?}");
    let mut a2 = device(&app, &ta).await;
    let gone = a2.call("room:resume", json!({"resumeToken": token})).await;
    assert_eq!(gone["error"], "resume_failed");
}
