//! The behaviour every implementation of a state port must show, as async
//! test functions. The in-process implementations run them in their unit
//! tests; a shared (Redis) implementation runs the same ones.
//!
//! Each function panics on the first broken rule (they are test code).

use std::sync::Arc;

use super::{
    CallState, InviteeState, JoinError, LiveCall, LiveInvitee, Locks, PresenceState, RoomState,
    Slot, SlotState,
};
use crate::wire::calls::CallKind;
use crate::wire::webrtc::PeerInfo;
use crate::wire::{CallId, UserRef};
use crate::wire::{PeerId, RoomId, UserId};

fn peer(id: &str) -> PeerInfo {
    PeerInfo {
        peer_id: PeerId::from(id),
        user_id: UserId::new(format!("u-{id}")),
        username: id.to_owned(),
    }
}

fn room(name: &str) -> RoomId {
    match RoomId::parse(name) {
        Ok(r) => r,
        Err(e) => panic!("bad test room {name}: {e}"),
    }
}

/// Join/leave, roster order, the cap (also under 50 concurrent joins),
/// re-joins, sharing, and cleanup of emptied rooms.
pub async fn rooms<R: RoomState + 'static>(make: impl Fn() -> Arc<R>) {
    let rooms = make();
    let r = room("r");
    let (a, b, c) = (peer("a"), peer("b"), peer("c"));
    let j = rooms.join(&r, a.clone(), 2).await.expect("join a");
    assert_eq!((j.others, j.new), (vec![], true));
    assert_eq!(
        rooms.rooms_of(&a.peer_id).await.expect("rooms of"),
        vec![r.clone()]
    );
    assert!(
        rooms
            .rooms_of(&b.peer_id)
            .await
            .expect("rooms of")
            .is_empty()
    );
    let j = rooms.join(&r, b.clone(), 2).await.expect("join b");
    assert_eq!(j.others, vec![a.clone()], "the roster lists earlier peers");
    let again = rooms.join(&r, b.clone(), 2).await.expect("rejoin b");
    assert!(!again.new, "a re-join is not new");
    assert_eq!(again.others, vec![a.clone()]);
    assert!(matches!(
        rooms.join(&r, c.clone(), 2).await,
        Err(JoinError::Full(2))
    ));
    assert!(
        rooms
            .share_room(&a.peer_id, &b.peer_id)
            .await
            .expect("share")
    );
    assert!(
        !rooms
            .share_room(&a.peer_id, &c.peer_id)
            .await
            .expect("share")
    );
    let left = rooms
        .leave(&r, &a.peer_id)
        .await
        .expect("leave")
        .expect("a was in r");
    assert_eq!((left.peer, left.rest), (a.clone(), vec![b.clone()]));
    assert!(
        !rooms
            .share_room(&a.peer_id, &b.peer_id)
            .await
            .expect("share")
    );
    assert!(rooms.leave(&r, &a.peer_id).await.expect("leave").is_none());
    let other = room("other");
    rooms.join(&other, b.clone(), 2).await.expect("join other");
    let all = rooms.leave_all(&b.peer_id).await.expect("leave all");
    assert_eq!(all.len(), 2, "left both rooms");
    assert_eq!(
        rooms.room_count().await.expect("count"),
        0,
        "emptied rooms vanish"
    );
    assert!(rooms.members(&r).await.expect("members").is_empty());
    assert!(matches!(
        rooms.join(&r, a.clone(), 0).await,
        Err(JoinError::Full(0))
    ));

    // A replaced peer keeps its place; the newcomer takes its rooms.
    let rooms = make();
    let r = room("swap");
    let d = peer("d");
    rooms.join(&r, a.clone(), 2).await.expect("join a");
    rooms.join(&r, b.clone(), 2).await.expect("join b");
    let others = rooms
        .replace(&r, &a.peer_id, d.clone())
        .await
        .expect("replace");
    assert_eq!(others, Some(vec![b.clone()]));
    assert_eq!(
        rooms.members(&r).await.expect("members"),
        vec![d.clone(), b.clone()],
        "same place, same count"
    );
    assert!(rooms.rooms_of(&a.peer_id).await.expect("rooms").is_empty());
    assert_eq!(
        rooms.rooms_of(&d.peer_id).await.expect("rooms"),
        vec![r.clone()]
    );
    assert!(
        rooms
            .share_room(&d.peer_id, &b.peer_id)
            .await
            .expect("share")
    );
    assert_eq!(
        rooms
            .replace(&r, &a.peer_id, c.clone())
            .await
            .expect("replace"),
        None,
        "a is gone"
    );
    assert_eq!(
        rooms
            .replace(&r, &d.peer_id, b.clone())
            .await
            .expect("replace"),
        Some(vec![]),
        "replacing by a member just removes"
    );
    assert_eq!(rooms.members(&r).await.expect("members"), vec![b.clone()]);

    // The cap holds under concurrent joins.
    let rooms = make();
    let r = room("crowded");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let rooms = rooms.clone();
            let r = r.clone();
            tokio::spawn(async move { rooms.join(&r, peer(&format!("p{i}")), 5).await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            ok += 1;
        }
    }
    assert_eq!(ok, 5, "exactly the cap got in");
    assert_eq!(rooms.members(&r).await.expect("members").len(), 5);
}

/// Sockets per user, transitions announced once each, idempotent removal.
pub async fn presence<P: PresenceState + 'static>(make: impl Fn() -> Arc<P>) {
    let p = make();
    let u = UserId::from("u1");
    assert_eq!(
        p.transition(&u).await.expect("t"),
        None,
        "unknown user: no change"
    );
    p.add(&u, "s1").await.expect("add");
    p.add(&u, "s2").await.expect("add");
    p.add(&u, "s2").await.expect("add twice");
    assert_eq!(p.sockets(&u).await.expect("n"), 2);
    assert_eq!(
        p.transition(&u).await.expect("t"),
        Some(true),
        "came online"
    );
    assert_eq!(p.transition(&u).await.expect("t"), None, "announced once");
    p.remove(&u, "s1").await.expect("remove");
    assert_eq!(p.transition(&u).await.expect("t"), None, "still online");
    p.remove(&u, "s2").await.expect("remove");
    p.remove(&u, "s2").await.expect("remove twice");
    assert_eq!(
        p.transition(&u).await.expect("t"),
        Some(false),
        "went offline"
    );
    assert_eq!(p.sockets(&u).await.expect("n"), 0);
    // Offline again before the online was ever announced: no change at all.
    p.add(&u, "s3").await.expect("add");
    p.remove(&u, "s3").await.expect("remove");
    assert_eq!(p.transition(&u).await.expect("t"), None);
}

/// One key is serialized, other keys are not blocked, a dropped waiter and
/// a panicking holder release the key.
pub async fn locks(locks: Arc<dyn Locks>) {
    use std::sync::Mutex;
    let order = Arc::new(Mutex::new(Vec::new()));
    let g = locks.lock("a").await.expect("lock a");
    let (l2, o2) = (locks.clone(), order.clone());
    let waiter = tokio::spawn(async move {
        let _g = l2.lock("a").await.expect("lock a again");
        o2.lock().map(|mut v| v.push(2)).ok();
    });
    drop(locks.lock("b").await.expect("another key is free"));
    tokio::task::yield_now().await;
    order.lock().map(|mut v| v.push(1)).ok();
    drop(g);
    waiter.await.expect("waiter");
    assert_eq!(*order.lock().expect("order"), vec![1, 2]);

    // A waiter whose future is dropped does not keep the key.
    let g = locks.lock("c").await.expect("lock c");
    let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), locks.lock("c")).await;
    assert!(waiting.is_err(), "c is held");
    drop(g);
    let again = tokio::time::timeout(std::time::Duration::from_secs(5), locks.lock("c")).await;
    assert!(again.is_ok(), "c is free after the dropped waiter");

    // A holder that panics releases the key.
    let l3 = locks.clone();
    let panicked = tokio::spawn(async move {
        let _g = l3.lock("d").await.expect("lock d");
        panic!("holder panics");
    })
    .await;
    assert!(panicked.is_err());
    let after = tokio::time::timeout(std::time::Duration::from_secs(5), locks.lock("d")).await;
    assert!(after.is_ok(), "d is free after a panicking holder");
}

/// Calls are stored and replaced by id and forgotten on removal;
/// engagements are per user, idempotent, and independent per call.
pub async fn calls<C: CallState + 'static>(make: impl Fn() -> Arc<C>) {
    let calls = make();
    let id = CallId::from("c1");
    let user = |id: &str| UserRef {
        id: UserId::from(id),
        username: id.to_owned(),
    };
    let mut call = LiveCall {
        id: id.clone(),
        room: RoomId::of_call(&id),
        kind: CallKind::Video,
        caller: user("a"),
        caller_present: true,
        invitees: vec![LiveInvitee {
            user: user("b"),
            state: InviteeState::Ringing,
        }],
        started_at: "2026-01-01T00:00:00.000Z".into(),
        answered_at: None,
        cancelled: false,
    };
    assert_eq!(calls.get(&id).await.expect("get"), None);
    calls.put(&call).await.expect("put");
    assert_eq!(calls.get(&id).await.expect("get"), Some(call.clone()));
    call.invitees[0].state = InviteeState::Joined;
    calls.put(&call).await.expect("replace");
    assert_eq!(
        calls
            .get(&id)
            .await
            .expect("get")
            .map(|c| c.invitees[0].state),
        Some(InviteeState::Joined)
    );
    calls.remove(&id).await.expect("remove");
    assert_eq!(calls.get(&id).await.expect("get"), None);

    let (a, c2) = (UserId::from("a"), CallId::from("c2"));
    assert!(calls.engaged(&a).await.expect("engaged").is_empty());
    calls.engage(&a, &id).await.expect("engage");
    calls.engage(&a, &id).await.expect("engage twice");
    calls.engage(&a, &c2).await.expect("engage other");
    let mut got = calls.engaged(&a).await.expect("engaged");
    got.sort();
    assert_eq!(got, vec![id.clone(), c2.clone()]);
    calls.release(&a, &id).await.expect("release");
    assert_eq!(calls.engaged(&a).await.expect("engaged"), vec![c2.clone()]);
    calls.release(&a, &c2).await.expect("release");
    calls.release(&a, &c2).await.expect("release again");
    assert!(calls.engaged(&a).await.expect("engaged").is_empty());
    assert!(
        calls
            .engaged(&UserId::from("b"))
            .await
            .expect("engaged")
            .is_empty()
    );
}

/// Tokens are single-use and bound to their user; one token per peer and
/// room; aliases follow chains of replacements; a gone peer leaves nothing.
pub async fn slots<S: SlotState + 'static>(make: impl Fn() -> Arc<S>) {
    let s = make();
    let (r1, r2) = (room("r1"), room("r2"));
    let (a, b, c) = (PeerId::from("a"), PeerId::from("b"), PeerId::from("c"));
    let (alice, mallory) = (UserId::from("alice"), UserId::from("mallory"));
    let slot = |room: &RoomId, peer: &PeerId| Slot {
        room: room.clone(),
        user: alice.clone(),
        peer: peer.clone(),
    };
    s.put("t1", slot(&r1, &a)).await.expect("put");
    s.put("t2", slot(&r2, &a)).await.expect("put");
    let mut mine = s.of_peer(&a).await.expect("of peer");
    mine.sort();
    assert_eq!(mine, vec!["t1".to_owned(), "t2".to_owned()]);
    assert_eq!(s.peek("t1").await.expect("peek"), Some(slot(&r1, &a)));
    assert_eq!(
        s.take("t1", &mallory).await.expect("take"),
        None,
        "a foreign user takes nothing"
    );
    assert_eq!(
        s.take("t1", &alice).await.expect("take"),
        Some(slot(&r1, &a))
    );
    assert_eq!(
        s.take("t1", &alice).await.expect("take"),
        None,
        "single use"
    );
    assert_eq!(s.of_peer(&a).await.expect("of peer"), vec!["t2".to_owned()]);
    s.put("t3", slot(&r2, &a)).await.expect("put again");
    assert_eq!(s.peek("t2").await.expect("peek"), None, "replaced by t3");
    assert!(s.forget(&r2, &a).await.expect("forget"));
    assert!(!s.forget(&r2, &a).await.expect("forget"));
    assert!(s.of_peer(&a).await.expect("of peer").is_empty());

    assert_eq!(s.resolve(&a).await.expect("resolve"), None);
    s.alias(&a, &b).await.expect("alias");
    s.alias(&b, &c).await.expect("alias");
    assert_eq!(
        s.resolve(&a).await.expect("resolve"),
        Some(c.clone()),
        "chain"
    );
    assert_eq!(s.resolve(&b).await.expect("resolve"), Some(c.clone()));
    s.put("t4", slot(&r1, &c)).await.expect("put");
    s.forget_peer(&c).await.expect("forget peer");
    assert_eq!(s.resolve(&a).await.expect("resolve"), None);
    assert_eq!(s.resolve(&b).await.expect("resolve"), None);
    assert_eq!(s.peek("t4").await.expect("peek"), None);
}

/// `make(rate)` gives fresh buckets with that rate. Checks: a bucket holds
/// `burst` tokens, then refuses with the time to the next token (and a
/// refusal spends nothing); keys are apart; tokens come back at the rate;
/// concurrent takers never get more than the bucket holds.
pub async fn buckets(make: impl Fn(super::BucketRate) -> Arc<dyn super::Buckets>) {
    use super::BucketRate;
    use std::time::Duration;
    // 3 a minute: a token every 20 s, a bucket of 3.
    let b = make(BucketRate::new(3, Duration::from_secs(60), 3));
    for i in 0..3 {
        assert_eq!(b.take("a").await.expect("take"), None, "token {i} of a");
    }
    for _ in 0..2 {
        let wait = b.take("a").await.expect("take").expect("a is empty");
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "next token of a in {wait:?}"
        );
    }
    assert_eq!(
        b.take("b").await.expect("take"),
        None,
        "b is another bucket"
    );

    // 20 a second, a bucket of 2: a token every 50 ms.
    let b = make(BucketRate::new(20, Duration::from_secs(1), 2));
    assert_eq!(b.take("r").await.expect("take"), None);
    assert_eq!(b.take("r").await.expect("take"), None);
    let wait = b.take("r").await.expect("take").expect("r is empty");
    assert!(wait <= Duration::from_millis(50), "next token in {wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(30)).await;
    assert_eq!(b.take("r").await.expect("take"), None, "a token came back");

    // 40 takers at once on a bucket of 5.
    let b = make(BucketRate::new(5, Duration::from_secs(3600), 5));
    let takers: Vec<_> = (0..40)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.take("c").await })
        })
        .collect();
    let mut got = 0;
    for t in takers {
        if t.await.expect("taker").expect("take").is_none() {
            got += 1;
        }
    }
    assert_eq!(got, 5, "tokens taken by 40 concurrent takers");
}
