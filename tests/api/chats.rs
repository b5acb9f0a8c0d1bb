//! `/chats` over HTTP and the chat events on `/`: membership, exactly-once
//! delivery to every participant socket, per-chat order under concurrent
//! senders, unread counts, history paging, typing, presence, malformed
//! payloads, restart survival.

use std::collections::HashSet;
use std::time::Duration;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, sync};
use crate::sio::{Client, connect_ok};
use reqwest::Method;
use serde_json::{Value, json};

/// Events named `name` received so far (after a sync round trip).
async fn got(c: &mut Client, name: &str) -> Vec<Value> {
    sync(c).await;
    c.drain(name)
}

async fn create_chat(app: &TestApp, token: &str, others: &[&Value]) -> Value {
    let ids: Vec<&Value> = others.iter().map(|u| &u["id"]).collect();
    let (st, chat) = app
        .request(
            token,
            Method::POST,
            "/chats",
            Some(json!({"participantIds": ids})),
        )
        .await;
    assert_eq!(st, 201, "{chat}");
    chat
}

/// A chat list with the participants' `online` flags taken out.
fn without_presence(mut list: Value) -> Value {
    for chat in list.as_array_mut().into_iter().flatten() {
        for p in chat["participants"].as_array_mut().into_iter().flatten() {
            p.as_object_mut().map(|o| o.remove("online"));
        }
    }
    list
}

fn chat_in<'a>(list: &'a Value, id: &Value) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|c| &c["id"] == id))
        .expect("chat in list")
}

#[tokio::test]
async fn create_chat_validates_and_notifies_participants_only() {
    let app = spawn_app().await;
    let (ta, alice) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let (tc, _) = app.register("carol").await;
    let mut a = connect_ok(&app.base, "/", &ta).await;
    let mut b = connect_ok(&app.base, "/", &tb).await;
    let mut c = connect_ok(&app.base, "/", &tc).await;

    let ghost = uuid::Uuid::new_v4().to_string();
    for (body, hint) in [
        (
            json!({"participantIds": [bob["id"], ghost]}),
            ghost.as_str(),
        ),
        (json!({"participantIds": "bob"}), "participantIds"),
        (json!({}), "participantIds"),
        (
            json!({"participantIds": [bob["id"]], "name": "n".repeat(101)}),
            "name",
        ),
    ] {
        let (st, err) = app
            .request(&ta, Method::POST, "/chats", Some(body.clone()))
            .await;
        assert_eq!(st, 400, "{body} -> {err}");
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(msg.contains(hint), "{body}: {msg:?} should mention {hint}");
    }
    let (_, none) = app.request(&ta, Method::GET, "/chats", None).await;
    assert_eq!(none, json!([]), "refused requests created nothing");

    // The creator is added, duplicates collapse, the name is kept.
    let (st, chat) = app
        .request(
            &ta,
            Method::POST,
            "/chats",
            Some(json!({"participantIds": [bob["id"], bob["id"]], "name": "Team"})),
        )
        .await;
    assert_eq!(st, 201, "{chat}");
    assert_eq!(chat["name"], "Team");
    // The participants as users, each with their presence.
    let members: Vec<Value> = chat["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| {
            assert!(p["online"].is_boolean(), "{p}");
            let mut u = p.clone();
            u.as_object_mut().map(|o| o.remove("online"));
            u
        })
        .collect();
    assert_eq!(members, vec![alice.clone(), bob.clone()]);
    assert_eq!(chat["lastMessage"], Value::Null);
    assert_eq!(chat["unreadCount"], 0);

    assert_eq!(got(&mut a, "chat:created").await, vec![chat.clone()]);
    assert_eq!(got(&mut b, "chat:created").await, vec![chat.clone()]);
    assert!(
        got(&mut c, "chat:created").await.is_empty(),
        "carol is not in the chat"
    );

    // Outsiders: 404 everywhere, and "Access denied" on the socket.
    let id = chat["id"].as_str().expect("id");
    let (st, _) = app
        .request(&tc, Method::GET, &format!("/chats/{id}/messages"), None)
        .await;
    assert_eq!(st, 404);
    let (st, _) = app
        .request(&tc, Method::POST, &format!("/chats/{id}/read"), None)
        .await;
    assert_eq!(st, 404);
    let (_, list) = app.request(&tc, Method::GET, "/chats", None).await;
    assert_eq!(list, json!([]));
    assert_eq!(
        c.call("chat:join", json!({"chatId": id})).await,
        json!({"success": false, "error": "Access denied"})
    );
    assert_eq!(
        a.call("chat:join", json!({"chatId": id})).await,
        json!({"success": true, "message": format!("Joined chat {id}")})
    );
    assert_eq!(
        a.call("chat:leave", json!({"chatId": id})).await,
        json!({"success": true, "message": format!("Left chat {id}")})
    );
}

#[tokio::test]
async fn a_message_reaches_every_participant_socket_exactly_once() {
    let app = spawn_app().await;
    let (ta, alice) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let (tc, _) = app.register("carol").await;
    let chat = create_chat(&app, &ta, &[&bob]).await;
    let id = chat["id"].as_str().expect("id").to_owned();

    let mut a_in = connect_ok(&app.base, "/", &ta).await;
    let mut a_out = connect_ok(&app.base, "/", &ta).await;
    let mut b_in = connect_ok(&app.base, "/", &tb).await;
    let mut b_out = connect_ok(&app.base, "/", &tb).await;
    let mut c = connect_ok(&app.base, "/", &tc).await;
    for s in [&mut a_in, &mut b_in] {
        assert_eq!(
            s.call("chat:join", json!({"chatId": id})).await["success"],
            true
        );
    }

    let ack = a_in
        .call(
            "message:send",
            json!({"chatId": id, "text": "  Привет, Bob  "}),
        )
        .await;
    assert_eq!(ack["success"], true, "{ack}");
    let msg = ack["message"].clone();
    assert_eq!(msg["chatId"], id.as_str());
    assert_eq!(
        msg["sender"],
        json!({"id": alice["id"], "username": "alice"})
    );
    assert_eq!(msg["text"], "Привет, Bob", "stored trimmed");
    assert_eq!(msg["type"], "text");

    // Stored before the ack.
    let (_, history) = app
        .request(
            &tb,
            Method::GET,
            &format!("/chats/{id}/messages?limit=50"),
            None,
        )
        .await;
    assert_eq!(history, json!([msg]));

    for s in [&mut a_in, &mut a_out, &mut b_in, &mut b_out] {
        assert_eq!(
            got(s, "message:new").await,
            vec![msg.clone()],
            "exactly one copy"
        );
    }
    assert!(got(&mut c, "message:new").await.is_empty());

    // Unread counts: the others +1, the sender unchanged; read resets.
    let (_, bl) = app.request(&tb, Method::GET, "/chats", None).await;
    assert_eq!(chat_in(&bl, &chat["id"])["unreadCount"], 1);
    assert_eq!(chat_in(&bl, &chat["id"])["lastMessage"], msg);
    let (_, al) = app.request(&ta, Method::GET, "/chats", None).await;
    assert_eq!(chat_in(&al, &chat["id"])["unreadCount"], 0);
    b_out
        .call("message:send", json!({"chatId": id, "text": "hi"}))
        .await;
    b_out
        .call("message:send", json!({"chatId": id, "text": "there"}))
        .await;
    let (_, al) = app.request(&ta, Method::GET, "/chats", None).await;
    assert_eq!(chat_in(&al, &chat["id"])["unreadCount"], 2);
    assert_eq!(chat_in(&al, &chat["id"])["lastMessage"]["text"], "there");
    let (st, _) = app
        .request(&ta, Method::POST, &format!("/chats/{id}/read"), None)
        .await;
    assert_eq!(st, 204);
    let (_, al) = app.request(&ta, Method::GET, "/chats", None).await;
    assert_eq!(chat_in(&al, &chat["id"])["unreadCount"], 0);
    let (_, bl) = app.request(&tb, Method::GET, "/chats", None).await;
    assert_eq!(
        chat_in(&bl, &chat["id"])["unreadCount"],
        1,
        "bob's own messages do not count"
    );

    // An outsider's message is refused and delivered nowhere.
    let denied = c
        .call("message:send", json!({"chatId": id, "text": "sneaky"}))
        .await;
    assert_eq!(denied, json!({"success": false, "error": "Access denied"}));
    let (_, history) = app
        .request(&ta, Method::GET, &format!("/chats/{id}/messages"), None)
        .await;
    assert_eq!(history.as_array().map(Vec::len), Some(3));
    assert_eq!(
        got(&mut a_out, "message:new").await.len(),
        2,
        "only bob's two messages"
    );
}

/// A file database in a fresh temp dir: `(dir, url)`.
fn temp_db(tag: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("switchboard-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    (dir, url)
}

// A file database (a pool of connections, unlike `:memory:`) on a
// multi-threaded runtime, so concurrent sends really overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_every_socket_sees_one_chat_in_storage_order() {
    const PER_SENDER: usize = 40;
    let (dir, url) = temp_db("order");
    let app = spawn_app_with(move |c| c.database_url = url).await;
    let (ta, _) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let (tc, carol) = app.register("carol").await;
    let chat = create_chat(&app, &ta, &[&bob, &carol]).await;
    let id = chat["id"].as_str().expect("id").to_owned();

    // One listening socket per user (not in the chat room) plus one sender each.
    let mut listeners = Vec::new();
    for t in [&ta, &tb, &tc] {
        listeners.push(connect_ok(&app.base, "/", t).await);
    }
    let mut senders = Vec::new();
    for t in [&ta, &tb, &tc] {
        senders.push(connect_ok(&app.base, "/", t).await);
    }
    // Fire everything without waiting for acks: three concurrent streams.
    let mut tasks = Vec::new();
    for (n, mut s) in senders.into_iter().enumerate() {
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_SENDER {
                s.emit(
                    "message:send",
                    json!({"chatId": id, "text": format!("{n}-{i}")}),
                );
                if i % 8 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            // Hold the socket open until every message was handled.
            let ack = s.call("join", Value::Null).await;
            assert!(ack["user"].is_object());
            s
        }));
    }
    let mut senders = Vec::new();
    for t in tasks {
        senders.push(t.await.expect("sender task"));
    }

    let total = 3 * PER_SENDER;
    let mut seen: Vec<Vec<String>> = Vec::new();
    for l in listeners.iter_mut().chain(senders.iter_mut()) {
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        for _ in 0..total {
            let m = l.recv("message:new").await;
            ids.push(m["id"].as_str().expect("id").to_owned());
            texts.push(m["text"].as_str().expect("text").to_owned());
        }
        assert!(got(l, "message:new").await.is_empty(), "no extra copies");
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            total,
            "no duplicates"
        );
        // Each sender's own order is kept.
        for n in 0..3 {
            let mine: Vec<&String> = texts
                .iter()
                .filter(|t| t.starts_with(&format!("{n}-")))
                .collect();
            let want: Vec<String> = (0..PER_SENDER).map(|i| format!("{n}-{i}")).collect();
            assert_eq!(mine, want.iter().collect::<Vec<_>>(), "sender {n} order");
        }
        seen.push(ids);
    }
    let first_difference = |a: &[String], b: &[String]| a.iter().zip(b).position(|(x, y)| x != y);
    for (n, other) in seen.iter().enumerate().skip(1) {
        assert_eq!(
            first_difference(other, &seen[0]),
            None,
            "socket {n} saw another order than socket 0"
        );
    }
    // ... which is the storage order.
    let (_, history) = app
        .request(
            &ta,
            Method::GET,
            &format!("/chats/{id}/messages?limit=100"),
            None,
        )
        .await;
    let stored: Vec<String> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(stored.len(), 100);
    assert_eq!(
        first_difference(&stored, &seen[0][total - 100..]),
        None,
        "delivery order differs from storage order"
    );
    let (_, bl) = app.request(&tb, Method::GET, "/chats", None).await;
    assert_eq!(
        chat_in(&bl, &chat["id"])["unreadCount"],
        2 * PER_SENDER as u64
    );
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn history_pages_oldest_first_and_chats_sort_by_activity() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let (_, bob) = app.register("bobby").await;
    let (_, carol) = app.register("carol").await;
    let first = create_chat(&app, &ta, &[&bob]).await;
    let second = create_chat(&app, &ta, &[&carol]).await;
    let (_, list) = app.request(&ta, Method::GET, "/chats", None).await;
    let order: Vec<&Value> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(order, [&second["id"], &first["id"]], "newest chat first");

    let mut a = connect_ok(&app.base, "/", &ta).await;
    let id = first["id"].as_str().expect("id");
    let mut ids = Vec::new();
    for i in 0..5 {
        let ack = a
            .call(
                "message:send",
                json!({"chatId": id, "text": format!("m{i}")}),
            )
            .await;
        ids.push(ack["message"]["id"].as_str().expect("id").to_owned());
    }
    let (_, list) = app.request(&ta, Method::GET, "/chats", None).await;
    assert_eq!(
        list[0]["id"], first["id"],
        "a message moves the chat to the top"
    );

    let texts = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (_, all) = app
        .request(&ta, Method::GET, &format!("/chats/{id}/messages"), None)
        .await;
    assert_eq!(texts(&all), ["m0", "m1", "m2", "m3", "m4"]);
    let (_, last2) = app
        .request(
            &ta,
            Method::GET,
            &format!("/chats/{id}/messages?limit=2"),
            None,
        )
        .await;
    assert_eq!(texts(&last2), ["m3", "m4"]);
    let (_, page) = app
        .request(
            &ta,
            Method::GET,
            &format!("/chats/{id}/messages?limit=2&before={}", ids[3]),
            None,
        )
        .await;
    assert_eq!(texts(&page), ["m1", "m2"]);
    let (_, page) = app
        .request(
            &ta,
            Method::GET,
            &format!("/chats/{id}/messages?limit=2&before={}", ids[0]),
            None,
        )
        .await;
    assert_eq!(page, json!([]));

    let other_chat_msg = {
        let sid = second["id"].as_str().expect("id");
        a.call("message:send", json!({"chatId": sid, "text": "elsewhere"}))
            .await["message"]["id"]
            .clone()
    };
    for q in [
        "limit=0".to_owned(),
        "limit=101".to_owned(),
        "limit=ten".to_owned(),
        format!("before={}", uuid::Uuid::new_v4()),
        format!("before={}", other_chat_msg.as_str().unwrap_or_default()),
    ] {
        let (st, err) = app
            .request(&ta, Method::GET, &format!("/chats/{id}/messages?{q}"), None)
            .await;
        assert_eq!(st, 400, "{q} -> {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn typing_goes_to_the_other_participants_only() {
    let app = spawn_app().await;
    let (ta, alice) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let (tc, _) = app.register("carol").await;
    let chat = create_chat(&app, &ta, &[&bob]).await;
    let id = chat["id"].as_str().expect("id");
    let mut a1 = connect_ok(&app.base, "/", &ta).await;
    let mut a2 = connect_ok(&app.base, "/", &ta).await;
    let mut b1 = connect_ok(&app.base, "/", &tb).await;
    let mut b2 = connect_ok(&app.base, "/", &tb).await;
    let mut c = connect_ok(&app.base, "/", &tc).await;

    a1.emit("typing", json!({"chatId": id, "isTyping": true}));
    let want = json!({"chatId": id, "userId": alice["id"], "username": "alice", "isTyping": true});
    assert_eq!(b1.recv("typing").await, want);
    assert_eq!(b2.recv("typing").await, want);
    for s in [&mut a1, &mut a2, &mut c] {
        assert!(
            got(s, "typing").await.is_empty(),
            "no typing for the sender's sockets or outsiders"
        );
    }
    // An outsider's typing is refused.
    let denied = c
        .call("typing", json!({"chatId": id, "isTyping": true}))
        .await;
    assert_eq!(denied["success"], false);
    assert!(got(&mut b1, "typing").await.is_empty());
}

#[tokio::test]
async fn presence_changes_on_first_connect_and_last_disconnect_only() {
    let app = spawn_app().await;
    let (td, dave) = app.register("davey").await;
    let (te, erin) = app.register("erinn").await;
    let (to, _) = app.register("outsider").await;
    create_chat(&app, &td, &[&erin]).await;
    let mut d = connect_ok(&app.base, "/", &td).await;
    let mut o = connect_ok(&app.base, "/", &to).await;
    let erin_id = erin["id"].as_str().expect("id");

    let e1 = connect_ok(&app.base, "/", &te).await;
    assert_eq!(
        d.recv("presence:update").await,
        json!({"userId": erin_id, "online": true})
    );
    let mut e2 = connect_ok(&app.base, "/", &te).await;
    sync(&mut e2).await;
    // Erin saw dave come online? No: dave connected before erin, erin's
    // sockets only hear about changes after they connect.
    assert!(got(&mut e2, "presence:update").await.is_empty());

    e1.close();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.presence_sockets(erin_id).await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server never saw e1 go"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sync(&mut e2).await;
    assert!(
        got(&mut d, "presence:update").await.is_empty(),
        "erin is still online"
    );
    assert!(app.is_online(erin_id).await);

    e2.close();
    assert_eq!(
        d.recv("presence:update").await,
        json!({"userId": erin_id, "online": false})
    );
    assert!(!app.is_online(erin_id).await);
    // Dave going offline is announced to erin's next socket? Erin is offline:
    // nothing to deliver. The outsider never hears anything.
    assert!(got(&mut o, "presence:update").await.is_empty());

    // Dave's departure reaches erin once she is back.
    let mut e3 = connect_ok(&app.base, "/", &te).await;
    assert_eq!(
        d.recv("presence:update").await,
        json!({"userId": erin_id, "online": true})
    );
    d.close();
    assert_eq!(
        e3.recv("presence:update").await,
        json!({"userId": dave["id"], "online": false})
    );
}

#[tokio::test]
async fn malformed_payloads_are_answered_and_the_connection_stays_up() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let (_, bob) = app.register("bobby").await;
    let chat = create_chat(&app, &ta, &[&bob]).await;
    let id = chat["id"].as_str().expect("id");
    let mut a = connect_ok(&app.base, "/", &ta).await;

    for (event, payload) in [
        ("message:send", json!({"chatId": 5, "text": "x"})),
        ("message:send", json!({"chatId": id})),
        ("message:send", json!("just text")),
        ("message:send", json!({"chatId": id, "text": "   "})),
        (
            "message:send",
            json!({"chatId": id, "text": "x".repeat(4001)}),
        ),
        ("message:send", Value::Null),
        ("chat:join", json!({})),
        ("chat:join", json!("chat-id")),
        ("chat:leave", json!({"chatId": []})),
        ("typing", json!({"chatId": id, "isTyping": "yes"})),
    ] {
        let res = a.call(event, payload.clone()).await;
        assert_eq!(res["success"], false, "{event} {payload} -> {res}");
        let err = res["error"].as_str().unwrap_or_default();
        assert!(
            err.starts_with("invalid payload: "),
            "{event} {payload} -> {res}"
        );
    }
    // Without an ack: an `error` event.
    a.emit("typing", json!({"chatId": 42, "isTyping": "yes"}));
    let err = a.recv("error").await;
    assert!(
        err["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid payload: ")),
        "{err}"
    );
    assert!(err["message"].is_string(), "{err}");
    a.emit("message:send", json!({"chatId": id, "text": 7}));
    assert!(a.recv("error").await["error"].is_string());

    // Nothing was stored; the connection still works; 4000 characters are fine.
    let (_, history) = app
        .request(&ta, Method::GET, &format!("/chats/{id}/messages"), None)
        .await;
    assert_eq!(history, json!([]));
    let ok = a
        .call(
            "message:send",
            json!({"chatId": id, "text": "y".repeat(4000)}),
        )
        .await;
    assert_eq!(ok["success"], true, "{ok}");
    // A chat that does not exist is "Access denied", not an error.
    let res = a
        .call(
            "chat:join",
            json!({"chatId": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(res, json!({"success": false, "error": "Access denied"}));
}

#[tokio::test]
async fn chats_messages_and_unread_counts_survive_a_restart() {
    let (dir, url) = temp_db("restart");

    let u = url.clone();
    let app = spawn_app_with(move |c| c.database_url = u).await;
    let (ta, _) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let chat = create_chat(&app, &ta, &[&bob]).await;
    let id = chat["id"].as_str().expect("id").to_owned();
    let mut a = connect_ok(&app.base, "/", &ta).await;
    for i in 0..3 {
        let ack = a
            .call(
                "message:send",
                json!({"chatId": id, "text": format!("m{i}")}),
            )
            .await;
        assert_eq!(ack["success"], true);
    }
    let (_, chats_a) = app.request(&ta, Method::GET, "/chats", None).await;
    let (_, chats_b) = app.request(&tb, Method::GET, "/chats", None).await;
    let (_, history) = app
        .request(&tb, Method::GET, &format!("/chats/{id}/messages"), None)
        .await;
    assert_eq!(chats_b[0]["unreadCount"], 3);
    a.close();
    let secret = app.secret.clone();
    app.stop().await;

    let u = url.clone();
    let app = spawn_app_with(move |c| {
        c.database_url = u;
        c.secret.jwt_secret = Some(secret);
    })
    .await;
    // Presence is live state: who is online differs after the restart.
    assert_eq!(
        without_presence(app.request(&ta, Method::GET, "/chats", None).await.1),
        without_presence(chats_a)
    );
    assert_eq!(
        without_presence(app.request(&tb, Method::GET, "/chats", None).await.1),
        without_presence(chats_b)
    );
    assert_eq!(
        app.request(&tb, Method::GET, &format!("/chats/{id}/messages"), None)
            .await
            .1,
        history
    );
    // And it keeps working: a new message lands after the old ones.
    let mut b = connect_ok(&app.base, "/", &tb).await;
    let ack = b
        .call("message:send", json!({"chatId": id, "text": "after"}))
        .await;
    assert_eq!(ack["success"], true);
    let (_, history) = app
        .request(&ta, Method::GET, &format!("/chats/{id}/messages"), None)
        .await;
    let texts: Vec<&str> = history
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2", "after"]);
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `presence:list` names the contacts online now, and only contacts;
/// `GET /chats` and `chat:created` mark each participant's presence.
#[tokio::test]
async fn presence_snapshot_lists_online_contacts_only() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let (tc, carol) = app.register("carol").await;
    let (_, dave) = app.register("dave1").await;
    let (te, erin) = app.register("erin1").await;
    // Carol shares no chat with alice; dave is in one but offline.
    create_chat(&app, &ta, &[&bob, &dave]).await;
    create_chat(&app, &tc, &[&erin]).await;
    let mut a = connect_ok(&app.base, "/", &ta).await;
    let _b = connect_ok(&app.base, "/", &tb).await;
    let _c = connect_ok(&app.base, "/", &tc).await;
    let _e = connect_ok(&app.base, "/", &te).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !app.is_online(bob["id"].as_str().unwrap_or_default()).await {
        assert!(std::time::Instant::now() < deadline, "bob never online");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let snap = a.call("presence:list", Value::Null).await;
    assert_eq!(snap["success"], true, "{snap}");
    assert_eq!(
        snap["online"],
        json!([bob["id"]]),
        "contacts online, nobody else"
    );

    let (_, list) = app.request(&ta, Method::GET, "/chats", None).await;
    let members = &list[0]["participants"];
    let online = |u: &Value| {
        members
            .as_array()
            .and_then(|m| m.iter().find(|p| p["id"] == u["id"]))
            .map(|p| p["online"].clone())
    };
    assert_eq!(online(&bob), Some(json!(true)));
    assert_eq!(online(&dave), Some(json!(false)));

    // A new chat tells its participants who is online in it.
    let chat = create_chat(&app, &ta, &[&carol]).await;
    let created = a.recv("chat:created").await;
    assert_eq!(created["id"], chat["id"]);
    let carol_in = created["participants"]
        .as_array()
        .and_then(|m| m.iter().find(|p| p["id"] == carol["id"]))
        .map(|p| p["online"].clone());
    assert_eq!(carol_in, Some(json!(true)));
    // Now carol is a contact: she appears in the snapshot.
    let snap = a.call("presence:list", Value::Null).await;
    let mut got: Vec<String> = snap["online"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    got.sort();
    let mut want = vec![
        bob["id"].as_str().unwrap_or_default().to_owned(),
        carol["id"].as_str().unwrap_or_default().to_owned(),
    ];
    want.sort();
    assert_eq!(got, want);
}
