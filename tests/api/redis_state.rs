//! The state ports' Redis implementations against a real Redis server
//! ([`crate::redis_server`]): each passes the same conformance suite as the
//! in-process one.

use std::sync::Arc;

use switchboard::redis::RedisRooms;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_rooms_pass_the_rooms_suite() {
    let conn = switchboard::redis::connect(&crate::redis_server::url().await)
        .await
        .expect("connect to the test redis");
    switchboard::ports::conformance::rooms(|| {
        Arc::new(RedisRooms::new(
            conn.clone(),
            &crate::redis_server::prefix(),
        ))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_room_and_its_cap() {
    // Two connections, as two nodes would have: joins race on the cap.
    let url = crate::redis_server::url().await;
    let prefix = crate::redis_server::prefix();
    let a = RedisRooms::new(switchboard::redis::connect(&url).await.expect("a"), &prefix);
    let b = RedisRooms::new(switchboard::redis::connect(&url).await.expect("b"), &prefix);
    let room = switchboard::wire::RoomId::parse("shared").expect("room");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let room = room.clone();
        tasks.push(tokio::spawn(async move {
            use switchboard::ports::RoomState as _;
            let peer = switchboard::wire::webrtc::PeerInfo {
                peer_id: switchboard::wire::PeerId::from(format!("p{i}").as_str()),
                user_id: switchboard::wire::UserId::from("u"),
                username: "u".into(),
            };
            node.join(&room, peer, 7).await.is_ok()
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        if t.await.expect("task") {
            admitted += 1;
        }
    }
    use switchboard::ports::RoomState as _;
    assert_eq!(admitted, 7, "exactly the cap, across both nodes");
    assert_eq!(a.members(&room).await.expect("members").len(), 7);
    assert_eq!(
        b.members(&room).await.expect("members"),
        a.members(&room).await.expect("members")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_presence_passes_the_presence_suite() {
    let conn = switchboard::redis::connect(&crate::redis_server::url().await)
        .await
        .expect("connect to the test redis");
    switchboard::ports::conformance::presence(|| {
        Arc::new(switchboard::redis::RedisPresence::new(
            conn.clone(),
            &crate::redis_server::prefix(),
        ))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_locks_pass_the_locks_suite() {
    let conn = switchboard::redis::connect(&crate::redis_server::url().await)
        .await
        .expect("connect to the test redis");
    switchboard::ports::conformance::locks(Arc::new(switchboard::redis::RedisLocks::new(
        conn,
        &crate::redis_server::prefix(),
    )))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_buckets_pass_the_buckets_suite() {
    let conn = switchboard::redis::connect(&crate::redis_server::url().await)
        .await
        .expect("connect to the test redis");
    switchboard::ports::conformance::buckets(|rate| {
        Arc::new(switchboard::redis::RedisBuckets::new(
            conn.clone(),
            &crate::redis_server::prefix(),
            rate,
        ))
    })
    .await;
}
