//! Sessions and limits (the contract's "Sessions and limits (v2)"): token
//! expiry in a live session and `auth:refresh`, the per-socket event rate,
//! the room and socket caps, and `POST /auth/refresh`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::config::Rate;
use switchboard::domain::identity::TokenService;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::sio::{Connect, connect, connect_ok};

/// A token for `user` (json from `register`) valid for `ttl`.
fn token_for(app: &TestApp, user: &Value, ttl: Duration) -> String {
    TokenService::new(&app.secret, Duration::from_secs(3600))
        .issue(
            user["id"].as_str().expect("id"),
            user["username"].as_str().expect("name"),
            user["email"].as_str().expect("email"),
            Some(ttl),
        )
        .expect("token")
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let app = spawn_app().await;
    let (_, alice) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let short = token_for(&app, &alice, Duration::from_secs(2));
    let mut a = connect_ok(&app.base, "/webrtc", &short).await;
    let mut home = connect_ok(&app.base, "/", &short).await;
    let mut b = connect_ok(&app.base, "/webrtc", &tb).await;
    assert_eq!(
        a.call("room:join", json!({"roomId": "r"})).await["success"],
        true
    );
    assert_eq!(
        b.call("room:join", json!({"roomId": "r"})).await["success"],
        true
    );

    // Less than 60 s remain: warned at once, with the token's exp.
    let warned = a.recv("auth:expiring").await;
    let exp = warned["exp"].as_i64().expect("exp");
    assert!(
        (exp - chrono::Utc::now().timestamp()).abs() <= 3,
        "{warned}"
    );
    assert!(home.recv("auth:expiring").await["exp"].as_i64() == Some(exp));

    let expired = a.recv("auth:expired").await;
    assert!(
        expired["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired"))
    );
    home.recv("auth:expired").await;
    let left = b.recv("peer:left").await;
    assert_eq!(left["peerId"], a.sid.as_str());
    assert_eq!(left["reason"], "expired");
    // The socket is gone: the server closed it.
    assert!(
        tokio::time::timeout(Duration::from_secs(5), a.closed())
            .await
            .is_ok(),
        "the expired socket was not disconnected"
    );
}

#[tokio::test]
async fn a_refresh_keeps_the_session_and_another_users_token_is_refused() {
    let app = spawn_app().await;
    let (_, alice) = app.register("alice").await;
    let (_, bob) = app.register("bobby").await;
    let short = token_for(&app, &alice, Duration::from_secs(3));
    let mut a = connect_ok(&app.base, "/webrtc", &short).await;
    let mut home = connect_ok(&app.base, "/", &short).await;
    a.recv("auth:expiring").await;

    let foreign = token_for(&app, &bob, Duration::from_secs(3600));
    let refused = a.call("auth:refresh", json!({"token": foreign})).await;
    assert_eq!(refused["success"], false);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("unauthorized:")),
        "{refused}"
    );
    let bad = a.call("auth:refresh", json!({"token": "garbage"})).await;
    assert!(
        bad["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("unauthorized:"))
    );

    let long = token_for(&app, &alice, Duration::from_secs(3600));
    let ok = a.call("auth:refresh", json!({"token": long})).await;
    assert_eq!(ok["success"], true, "{ok}");
    assert!(
        ok["exp"]
            .as_i64()
            .is_some_and(|e| e > chrono::Utc::now().timestamp() + 3000)
    );
    // `/` keeps its old expiry: it was not refreshed, so it expires.
    home.recv("auth:expired").await;
    // Past the old exp the refreshed socket is still there.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pong = a.call("ping", json!("still here")).await;
    assert_eq!(pong["echo"], "still here");
    assert!(a.drain("auth:expired").is_empty());
}

#[tokio::test]
async fn post_auth_refresh_issues_a_new_token_for_a_valid_one() {
    let app = spawn_app().await;
    let (token, user) = app.register("alice").await;
    let (status, body) = app
        .request(&token, Method::POST, "/auth/refresh", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["accessToken"].as_str().expect("token");
    assert_eq!(body["user"]["id"], user["id"]);
    let (status, me) = app.request(fresh, Method::GET, "/auth/me", None).await;
    assert_eq!((status, &me["user"]["id"]), (200, &user["id"]));
    let (status, body) = app
        .request("expired-or-bad", Method::POST, "/auth/refresh", None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
    // The cookie is renewed as well.
    let res = app
        .http()
        .post(format!("{}/auth/refresh", app.base))
        .header("cookie", format!("access_token={token}"))
        .send()
        .await
        .expect("refresh");
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.starts_with("access_token=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn an_event_flood_is_refused_and_a_socket_that_keeps_flooding_is_cut_off() {
    let app = spawn_app_with(|c| c.rate_limit_events = Rate::per_second(20, 10)).await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let mut flood = connect_ok(&app.base, "/webrtc", &ta).await;
    let mut calm = connect_ok(&app.base, "/webrtc", &tb).await;

    // A burst of 50 pings with acks: the bucket (10) passes, the rest wait.
    let mut acks = Vec::new();
    for i in 0..50 {
        acks.push(flood.emit_ack("ping", json!(i)));
    }
    let (mut passed, mut refused) = (0, 0);
    for rx in acks {
        let ack = rx.await.expect("ack");
        if ack["message"] == "pong" {
            passed += 1;
        } else {
            assert_eq!(ack["success"], false, "{ack}");
            assert_eq!(ack["error"], "rate_limited");
            assert!(
                ack["retryAfterMs"].as_u64().is_some_and(|ms| ms <= 100),
                "{ack}"
            );
            refused += 1;
        }
    }
    println!("flood: {passed} passed, {refused} refused of 50");
    assert!((10..=13).contains(&passed), "{passed} passed");
    // Without an ack the refusal is an `error` event.
    flood.emit("ping", json!("no ack"));
    let err = flood.recv("error").await;
    assert_eq!(err["error"], "rate_limited");
    assert!(err["retryAfterMs"].is_u64());
    // Another socket is not limited by it.
    assert_eq!(calm.call("ping", json!(1)).await["message"], "pong");

    // Waiting refills the bucket.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(flood.call("ping", json!("later")).await["message"], "pong");

    // Staying over the limit for 10 s ends the connection.
    let start = Instant::now();
    let cut = async {
        loop {
            for _ in 0..40 {
                flood.emit("ping", Value::Null);
            }
            if !flood.is_alive() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), cut)
        .await
        .expect("the flooding socket was never disconnected");
    let took = start.elapsed();
    println!("flooding socket cut off after {:.1} s", took.as_secs_f64());
    assert!(
        took >= Duration::from_secs(9),
        "cut off too early: {took:?}"
    );
    assert_eq!(calm.call("ping", json!(2)).await["message"], "pong");
}

#[tokio::test]
async fn rooms_per_socket_and_sockets_per_user_are_capped() {
    let app = spawn_app_with(|c| {
        c.max_rooms_per_socket = 3;
        c.max_sockets_per_user = 2;
    })
    .await;
    let (ta, _) = app.register("alice").await;
    let mut a = connect_ok(&app.base, "/webrtc", &ta).await;
    for r in ["r1", "r2", "r3"] {
        assert_eq!(
            a.call("room:join", json!({"roomId": r})).await["success"],
            true
        );
    }
    let over = a.call("room:join", json!({"roomId": "r4"})).await;
    assert_eq!(over["error"], "too_many_rooms", "{over}");
    assert_eq!(app.room_size("r4").await, 0, "nothing changed");
    let again = a.call("room:join", json!({"roomId": "r2"})).await;
    assert_eq!(again["success"], true, "a room it is in already");
    assert_eq!(
        a.call("room:leave", json!({"roomId": "r1"})).await["success"],
        true
    );
    assert_eq!(
        a.call("room:join", json!({"roomId": "r4"})).await["success"],
        true
    );

    let second = connect_ok(&app.base, "/webrtc", &ta).await;
    match connect(&app.base, "/webrtc", Some(json!({"token": ta})), &[]).await {
        Connect::Refused(m) => assert!(m.starts_with("too_many_connections"), "{m}"),
        Connect::Ok(_) => panic!("a third socket was admitted"),
    }
    // Another namespace counts apart, and a closed socket frees its seat.
    let _home = connect_ok(&app.base, "/", &ta).await;
    second.close();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect(&app.base, "/webrtc", Some(json!({"token": ta})), &[]).await {
            Connect::Ok(_) => break,
            Connect::Refused(m) => {
                assert!(Instant::now() < deadline, "seat never freed: {m}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
