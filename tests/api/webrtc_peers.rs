//! Real WebRTC through Switchboard: webrtc-rs peers (examples/peer.rs) signal
//! through `/webrtc` of an in-process server, connect peer to peer on
//! loopback and exchange data-channel messages.
//!
//! Call setup figures (room join to data channel open) are printed as
//! `call_setup_ms=…`; run with `--nocapture` to see them.

use std::time::Duration;

use crate::webrtc_support::{
    Observer, Peer, PeerEvent, assert_loopback_candidates, got, ms, options, summary,
};

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_connect_and_exchange_messages_both_ways() {
    let app = crate::helpers::spawn_app().await;
    let (alice, _) = app.register("alice").await;
    let (bob, _) = app.register("bob").await;

    let mut obs = Observer::default();
    let mut a = Peer::join(options(&app.base, &alice, "room-1", "hello from alice"))
        .await
        .expect("alice joins");
    obs.attach(0, &mut a);
    let mut b = Peer::join(options(&app.base, &bob, "room-1", "hello from bob"))
        .await
        .expect("bob joins");
    obs.attach(1, &mut b);

    obs.wait_for("messages and echoes both ways", LIMIT, |log| {
        got(log, 0, "hello from bob")
            && got(log, 0, "echo:hello from alice")
            && got(log, 1, "hello from alice")
            && got(log, 1, "echo:hello from bob")
    })
    .await;

    // Bob joined second, so Bob offered and Alice answered.
    let joined_b = obs.log.iter().find_map(|(i, ev)| match ev {
        PeerEvent::Joined { peers, .. } if *i == 1 => Some(peers.clone()),
        _ => None,
    });
    assert_eq!(joined_b, Some(vec![a.peer_id.clone()]), "{}", obs.dump());
    let opens: Vec<(usize, bool)> = obs
        .log
        .iter()
        .filter_map(|(i, ev)| match ev {
            PeerEvent::ChannelOpen { offerer, .. } => Some((*i, *offerer)),
            _ => None,
        })
        .collect();
    assert!(
        opens.contains(&(1, true)) && opens.contains(&(0, false)),
        "{opens:?}"
    );

    // Candidates went both ways through the server and all stay on loopback.
    let n = assert_loopback_candidates(&obs, false);
    assert!(
        obs.candidates()
            .iter()
            .any(|(i, local, _)| *i == 0 && !local)
    );
    assert!(
        obs.candidates()
            .iter()
            .any(|(i, local, _)| *i == 1 && !local)
    );
    assert!(obs.errors().is_empty(), "errors: {:?}", obs.errors());

    // Messages sent after the handshake arrive too, in order.
    for k in 0..5 {
        assert_eq!(b.send_all(&format!("bob #{k}")).await, 1);
    }
    obs.wait_for("five more messages", LIMIT, |log| got(log, 0, "bob #4"))
        .await;
    let seq: Vec<String> = obs
        .messages(0)
        .into_iter()
        .filter(|m| m.starts_with("bob #"))
        .collect();
    assert_eq!(seq, ["bob #0", "bob #1", "bob #2", "bob #3", "bob #4"]);

    let setup = obs.offerer_setups(1)[0];
    println!(
        "webrtc host candidates on loopback: {n} candidates; call_setup_ms={}",
        ms(setup)
    );

    // Alice leaves: Bob hears about it.
    a.close().await;
    let a_id = a.peer_id.clone();
    obs.wait_for("peer:left at bob", LIMIT, |log| {
        log.iter().any(|(i, ev)| {
            *i == 1 && matches!(ev, PeerEvent::PeerLeft { remote, reason } if *remote == a_id && reason == "left")
        })
    })
    .await;
    b.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomer_offers_to_every_peer_in_the_room() {
    let app = crate::helpers::spawn_app().await;
    let mut obs = Observer::default();
    let mut peers = Vec::new();
    for (i, name) in ["carol", "dave", "erin"].into_iter().enumerate() {
        let (token, _) = app.register(name).await;
        let mut p = Peer::join(options(
            &app.base,
            &token,
            "mesh",
            &format!("hi from {name}"),
        ))
        .await
        .expect("join");
        obs.attach(i, &mut p);
        peers.push(p);
    }
    let names = ["carol", "dave", "erin"];
    let count = |log: &[(usize, PeerEvent)], i: usize, text: &str| {
        log.iter()
            .filter(|(j, ev)| {
                *j == i && matches!(ev, PeerEvent::Message { text: t, .. } if t == text)
            })
            .count()
    };
    obs.wait_for("every pair connected both ways", LIMIT, |log| {
        names.iter().enumerate().all(|(i, me)| {
            count(log, i, &format!("echo:hi from {me}")) == 2
                && names
                    .iter()
                    .filter(|other| *other != me)
                    .all(|other| got(log, i, &format!("hi from {other}")))
        })
    })
    .await;
    // Each party gets its own greeting echoed once per remote peer.
    for (i, me) in ["carol", "dave", "erin"].into_iter().enumerate() {
        let echoes = obs
            .messages(i)
            .iter()
            .filter(|m| **m == format!("echo:hi from {me}"))
            .count();
        assert_eq!(echoes, 2, "{me}\n{}", obs.dump());
    }
    // Carol was first (offered to nobody); erin offered to both others.
    assert_eq!(obs.offerer_setups(0).len(), 0);
    assert_eq!(obs.offerer_setups(1).len(), 1);
    assert_eq!(obs.offerer_setups(2).len(), 2);
    assert_loopback_candidates(&obs, false);
    assert!(obs.errors().is_empty(), "errors: {:?}", obs.errors());
    for p in &peers {
        p.close().await;
    }
    app.stop().await;
}

/// Not a speed assertion: sets up ten calls in a row and prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_setup_time_over_ten_calls() {
    let app = crate::helpers::spawn_app().await;
    let (alice, _) = app.register("alice").await;
    let (bob, _) = app.register("bob").await;
    let mut setups = Vec::new();
    for k in 0..10 {
        let room = format!("bench-{k}");
        let mut obs = Observer::default();
        let mut a = Peer::join(options(&app.base, &alice, &room, "ping"))
            .await
            .expect("join");
        obs.attach(0, &mut a);
        let mut b = Peer::join(options(&app.base, &bob, &room, "pong"))
            .await
            .expect("join");
        obs.attach(1, &mut b);
        obs.wait_for("both channels open", LIMIT, |log| {
            got(log, 0, "echo:ping") && got(log, 1, "echo:pong")
        })
        .await;
        setups.push(obs.offerer_setups(1)[0]);
        a.close().await;
        b.close().await;
    }
    println!(
        "call_setup_ms (host candidates, loopback, debug build): {}",
        summary(setups.clone())
    );
    for s in setups {
        println!("call_setup_ms={}", ms(s));
    }
    app.stop().await;
}

/// `peer --answer` and `peer --call`: a webrtc-rs peer answers an
/// invitation, the caller joins the call's room once accepted, the data
/// channel carries messages both ways, and the caller hanging up ends the
/// call for the other side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_peer_calls_another_that_answers() {
    let app = crate::helpers::spawn_app().await;
    let (alice, _) = app.register("alice").await;
    let (bob, bob_user) = app.register("bob").await;
    let bob_id = bob_user["id"].as_str().expect("id").to_owned();

    let answering = tokio::spawn({
        let opts = options(&app.base, &bob, "unused", "hello from bob");
        async move { Peer::answer(opts).await }
    });
    // Bob's socket must be connected before he can be rung: wait for it.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while app.webrtc_devices(&bob_id).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut a = Peer::call(
        options(&app.base, &alice, "unused", "hello from alice"),
        std::slice::from_ref(&bob_id),
        "audio",
    )
    .await
    .expect("alice calls");
    let mut b = answering.await.expect("task").expect("bob answers");
    assert_eq!(a.call_id(), b.call_id());
    let room = format!("call:{}", a.call_id().unwrap_or_default());

    let mut obs = Observer::default();
    obs.attach(0, &mut a);
    obs.attach(1, &mut b);
    obs.wait_for("messages and echoes both ways", LIMIT, |log| {
        got(log, 0, "echo:hello from alice") && got(log, 1, "echo:hello from bob")
    })
    .await;
    assert_eq!(app.room_size(&room).await, 2);
    assert_loopback_candidates(&obs, false);

    a.close().await;
    obs.wait_for("bob hears the hang-up", LIMIT, |log| {
        log.iter().any(|(i, ev)| {
            *i == 1 && matches!(ev, PeerEvent::CallEnded { reason, .. } if reason == "hangup")
        })
    })
    .await;
    b.close().await;
    let (_, log) = app
        .request(&bob, reqwest::Method::GET, "/calls", None)
        .await;
    assert_eq!(log[0]["outcome"], "answered");
    assert!(log[0]["endedAt"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_signalling_drops_resumes_and_its_data_channel_carries_on() {
    let app = crate::helpers::spawn_app().await;
    let (alice, _) = app.register("alice").await;
    let (bob, _) = app.register("bob").await;
    let mut obs = Observer::default();
    let mut a = Peer::join(options(&app.base, &alice, "blip", "hi from alice"))
        .await
        .expect("alice joins");
    obs.attach(0, &mut a);
    let mut b = Peer::join(options(&app.base, &bob, "blip", "hi from bob"))
        .await
        .expect("bob joins");
    obs.attach(1, &mut b);
    obs.wait_for("the channel both ways", LIMIT, |log| {
        got(log, 0, "echo:hi from alice") && got(log, 1, "echo:hi from bob")
    })
    .await;

    // Bob's signalling socket drops; he reconnects and takes his slot back.
    b.drop_signalling();
    let old = b.peer_id.clone();
    obs.wait_for("bob resumed, alice told", LIMIT, |log| {
        let resumed = log.iter().any(|(i, ev)| {
            *i == 1 && matches!(ev, PeerEvent::Resumed { previous, .. } if *previous == old)
        });
        let told = log.iter().any(|(i, ev)| {
            *i == 0 && matches!(ev, PeerEvent::PeerResumed { previous, .. } if *previous == old)
        });
        resumed && told
    })
    .await;
    let away = obs
        .log
        .iter()
        .any(|(i, ev)| *i == 0 && matches!(ev, PeerEvent::PeerAway { remote } if *remote == old));
    assert!(away, "alice saw bob away first\n{}", obs.dump());
    let took = obs.log.iter().find_map(|(i, ev)| match ev {
        PeerEvent::Resumed { took, .. } if *i == 1 => Some(*took),
        _ => None,
    });

    // The same data channel still works both ways, and nobody left.
    assert_eq!(b.send_all("after the blip").await, 1);
    assert_eq!(a.send_all("welcome back").await, 1);
    obs.wait_for("messages after the resume", LIMIT, |log| {
        got(log, 0, "after the blip")
            && got(log, 1, "echo:after the blip")
            && got(log, 1, "welcome back")
    })
    .await;
    let left = obs
        .log
        .iter()
        .any(|(_, ev)| matches!(ev, PeerEvent::PeerLeft { .. } | PeerEvent::Disconnected));
    assert!(!left, "nobody left\n{}", obs.dump());
    assert_eq!(app.room_size("blip").await, 2);
    println!(
        "resume: signalling drop -> slot back in {} (data channel never closed)",
        took.map(ms).unwrap_or_default()
    );
    a.close().await;
    b.close().await;
    app.stop().await;
}
