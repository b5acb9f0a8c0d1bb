//! `/webrtc` signalling through a raw Socket.IO client.

use crate::helpers::spawn_app;
use crate::sio::{Connect, connect, connect_ok};
use serde_json::json;

#[tokio::test]
async fn refusals_start_with_unauthorized() {
    let app = spawn_app().await;
    let (token, _) = app.register("alice").await;
    match connect(&app.base, "/webrtc", None, &[]).await {
        Connect::Refused(m) => assert!(m.starts_with("unauthorized"), "{m}"),
        Connect::Ok(_) => panic!("connected without token"),
    }
    let other = switchboard::domain::identity::TokenService::new(
        "other",
        std::time::Duration::from_secs(60),
    )
    .issue("u", "n", "e@x.io", None)
    .unwrap();
    match connect(&app.base, "/webrtc", Some(json!({"token": other})), &[]).await {
        Connect::Refused(m) => assert!(m.starts_with("unauthorized"), "{m}"),
        Connect::Ok(_) => panic!("connected with a foreign token"),
    }
    let cookie = format!("access_token={token}");
    match connect(&app.base, "/webrtc", None, &[("cookie", &cookie)]).await {
        Connect::Ok(c) => assert!(!c.sid.is_empty()),
        Connect::Refused(m) => panic!("cookie refused: {m}"),
    }
}

#[tokio::test]
async fn rooms_relay_and_cleanup() {
    let app = spawn_app_with_cap(2).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let (tc, _) = app.register("carol").await;
    let mut a = connect_ok(&app.base, "/webrtc", &ta).await;
    let mut b = connect_ok(&app.base, "/webrtc", &tb).await;
    let mut c = connect_ok(&app.base, "/webrtc", &tc).await;

    let ja = a.call("room:join", json!({"roomId": "r1"})).await;
    assert_eq!(ja["success"], true);
    assert_eq!(ja["peers"], json!([]));
    let jb = b.call("room:join", json!({"roomId": "r1"})).await;
    assert_eq!(jb["peers"][0]["peerId"], a.sid.as_str());
    let joined = a.recv("peer:joined").await;
    assert_eq!(joined["peerId"], b.sid.as_str());
    assert_eq!(joined["username"], "bobby");

    let full = c.call("room:join", json!({"roomId": "r1"})).await;
    assert_eq!(full["error"], "room_full");
    let bad = c.call("room:join", json!({"roomId": "no spaces"})).await;
    assert_eq!(bad["error"], "invalid_room");

    // Relay between room mates, refusal for outsiders, validation.
    let ok = b
        .call(
            "offer",
            json!({"to": a.sid, "sdp": {"type": "offer", "sdp": "v=0"}}),
        )
        .await;
    assert_eq!(ok, json!({"success": true}));
    let offer = a.recv("offer").await;
    assert_eq!(offer["from"], b.sid.as_str());
    assert_eq!(offer["fromUser"]["username"], "bobby");
    assert_eq!(offer["sdp"]["sdp"], "v=0");
    let denied = c
        .call(
            "offer",
            json!({"to": a.sid, "sdp": {"type": "offer", "sdp": "v=0"}}),
        )
        .await;
    assert_eq!(denied["error"], "peer_not_in_room");
    let big = "a".repeat(64 * 1024 + 1);
    let too_big = b
        .call(
            "answer",
            json!({"to": a.sid, "sdp": {"type": "answer", "sdp": big}}),
        )
        .await;
    assert_eq!(too_big["error"], "invalid_payload");
    let malformed = b.call("ice-candidate", json!({"candidate": 3})).await;
    assert_eq!(malformed["error"], "invalid_payload");
    let unknown = b.call("no-such-event", json!({})).await;
    assert_eq!(unknown["error"], "unknown_event");
    b.emit("no-such-event", json!({}));
    assert_eq!(b.recv("error").await["error"], "unknown_event");
    // Still connected.
    let pong = b.call("ping", json!("hi")).await;
    assert_eq!(pong["echo"], "hi");

    // Order of many candidates between one pair.
    for i in 0..200 {
        b.emit(
            "ice-candidate",
            json!({"to": a.sid, "candidate": {"candidate": format!("c{i}"), "sdpMid": "0", "sdpMLineIndex": 0}}),
        );
    }
    let mut got = Vec::new();
    for _ in 0..200 {
        got.push(a.recv("ice-candidate").await["candidate"]["candidate"].clone());
    }
    let want: Vec<_> = (0..200).map(|i| json!(format!("c{i}"))).collect();
    assert_eq!(got, want);

    // Disconnect announces peer:left and frees the slot.
    b.close();
    let left = a.recv("peer:left").await;
    assert_eq!(left["reason"], "disconnected");
    assert_eq!(left["peerId"], jb["peerId"]);
    let jc = c.call("room:join", json!({"roomId": "r1"})).await;
    assert_eq!(jc["success"], true);
    assert_eq!(jc["peers"].as_array().unwrap().len(), 1);
    assert_eq!(app.room_size("r1").await, 2);

    let left = c.call("room:leave", json!({"roomId": "r1"})).await;
    assert_eq!(left["success"], true);
    assert_eq!(a.recv("peer:left").await["reason"], "left");
    a.call("room:leave", json!({"roomId": "r1"})).await;
    assert_eq!(app.room_count().await, 0);
}

async fn spawn_app_with_cap(cap: usize) -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|c| c.room_max_peers = cap).await
}
