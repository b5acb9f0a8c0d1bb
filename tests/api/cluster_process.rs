//! A cluster node killed outright (`kill -9`, real processes): the other
//! nodes notice within `NODE_TTL` and clean up after it. Its peers leave
//! their rooms (`peer:left` with reason `disconnected`), its users go
//! offline, its calls end, and every chat message it acknowledged is in
//! the shared PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::hostile_process::{free_port, register, start};
use crate::sio::connect_ok;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_node_mid_call_is_cleaned_up_by_the_others_within_node_ttl() {
    let redis = crate::redis_server::url().await;
    let db = crate::postgres::database().await;
    let prefix = crate::redis_server::prefix();
    let secret = "cluster-kill";
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
        ("DATABASE_URL", db.as_str()),
        ("NODE_TTL", "3s"),
    ];
    let n0 = start(&env, free_port(), secret).await;
    let n1 = start(&env, free_port(), secret).await;
    let mut n2 = start(&env, free_port(), secret).await;
    let (ta, _) = register(&n0.base, "alice").await;
    let (tb, bob) = register(&n2.base, "bobby").await;

    // A chat between them, bob's tab on the doomed node 2.
    let (st, chat) = {
        let res = reqwest::Client::new()
            .post(format!("{}/chats", n1.base))
            .bearer_auth(&ta)
            .json(&json!({"participantIds": [bob["id"]]}))
            .send()
            .await
            .expect("create chat");
        (res.status(), res.json::<Value>().await.expect("json"))
    };
    assert_eq!(st, 201, "{chat}");
    let chat_id = chat["id"].as_str().expect("id").to_owned();
    let mut a_app = connect_ok(&n0.base, "/", &ta).await;
    let mut b_app = connect_ok(&n2.base, "/", &tb).await;

    // A call: alice on node 0 invites bob on node 2, both in the call room.
    let mut a = connect_ok(&n0.base, "/webrtc", &ta).await;
    let mut b = connect_ok(&n2.base, "/webrtc", &tb).await;
    let ack = a
        .call("call:invite", json!({"to": bob["id"], "kind": "video"}))
        .await;
    let call_id = ack["callId"].as_str().expect("callId").to_owned();
    b.recv("call:incoming").await;
    assert_eq!(
        b.call("call:accept", json!({"callId": call_id})).await["success"],
        true
    );
    a.recv("call:accepted").await;
    let room = format!("call:{call_id}");
    assert_eq!(
        a.call("room:join", json!({"roomId": room})).await["success"],
        true
    );
    assert_eq!(
        b.call("room:join", json!({"roomId": room})).await["success"],
        true
    );
    a.recv("peer:joined").await;

    // Bob sends messages through node 2; each acknowledged one must survive.
    let mut acked = Vec::new();
    for i in 0..20 {
        let ack = b_app
            .call(
                "message:send",
                json!({"chatId": chat_id, "text": format!("m{i}")}),
            )
            .await;
        assert_eq!(ack["success"], true, "{ack}");
        acked.push(ack["message"]["id"].clone());
    }

    let killed = Instant::now();
    n2.child.kill().expect("kill -9");
    let _ = n2.child.wait();

    // `recv` waits up to 5 s: more than NODE_TTL.
    let left = a.recv("peer:left").await;
    let noticed = killed.elapsed();
    assert_eq!(left["peerId"], b.sid.as_str());
    assert_eq!(left["reason"], "disconnected");
    assert!(
        noticed <= Duration::from_secs(3) + Duration::from_millis(1500),
        "noticed after {noticed:?}, NODE_TTL is 3 s"
    );
    println!("kill_9_noticed_ms={}", noticed.as_millis());
    let ended = a.recv("call:ended").await;
    assert_eq!(ended["callId"], call_id.as_str());
    // Bob's coming online may still be queued before his going offline.
    let mut update = a_app.recv("presence:update").await;
    if update["online"] == true {
        update = a_app.recv("presence:update").await;
    }
    assert_eq!(update, json!({"userId": bob["id"], "online": false}));

    let history: Value = reqwest::Client::new()
        .get(format!("{}/chats/{chat_id}/messages?limit=100", n1.base))
        .bearer_auth(&ta)
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    let stored: Vec<&Value> = history
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| &m["id"])
        .collect();
    for id in &acked {
        assert!(stored.contains(&id), "acknowledged message {id} lost");
    }
    drop((n0, n1));
}
