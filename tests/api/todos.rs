//! `/todos` over HTTP and the `todo:*` events on `/`: owner isolation, every
//! socket of the owner, event order, validation, restart survival.

use crate::helpers::{spawn_app, spawn_app_with, sync};
use crate::sio::{Client, connect_ok};
use reqwest::Method;
use serde_json::{Value, json};

/// `todo:*` events received so far, in order, as (name, payload).
async fn todo_events(c: &mut Client) -> Vec<(String, Value)> {
    sync(c).await;
    c.drain_all()
        .into_iter()
        .filter(|(n, _)| n.starts_with("todo:"))
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn crud_events_reach_every_owner_socket_in_order_and_no_one_else() {
    let app = spawn_app().await;
    let (ta, alice) = app.register("alice").await;
    let (tm, _) = app.register("mallory").await;
    let mut a1 = connect_ok(&app.base, "/", &ta).await;
    let mut a2 = connect_ok(&app.base, "/", &ta).await;
    let mut m = connect_ok(&app.base, "/", &tm).await;

    let (st, todo) = app.request(
        &ta,
        Method::POST,
        "/todos",
        Some(json!({"title": "  Write tests  ", "description": "d", "dueDate": "2025-10-01T02:00:00+02:00"})),
    )
    .await;
    assert_eq!(st, 201, "{todo}");
    assert_eq!(todo["title"], "Write tests");
    assert_eq!(todo["description"], "d");
    assert_eq!(todo["completed"], false);
    assert_eq!(todo["priority"], "medium");
    assert_eq!(todo["dueDate"], "2025-10-01T00:00:00.000Z");
    assert_eq!(todo["userId"], alice["id"]);
    assert_eq!(todo["createdAt"], todo["updatedAt"]);
    let id = todo["id"].as_str().expect("id").to_owned();

    // Complete: updated then completed. Retitle while completed: updated only.
    let (st, done) = app
        .request(
            &ta,
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["completed"], true);
    let (st, renamed) = app
        .request(
            &ta,
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"title": "renamed", "priority": "high", "dueDate": null})),
        )
        .await;
    assert_eq!(st, 200, "{renamed}");
    assert_eq!(renamed["dueDate"], Value::Null);
    assert_eq!(renamed["priority"], "high");
    assert_eq!(renamed["completed"], true);
    // Reopen and complete again: a second false -> true completion.
    app.request(
        &ta,
        Method::PATCH,
        &format!("/todos/{id}"),
        Some(json!({"completed": false})),
    )
    .await;
    let (_, again) = app
        .request(
            &ta,
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
        )
        .await;
    let (st, _) = app
        .request(&ta, Method::DELETE, &format!("/todos/{id}"), None)
        .await;
    assert_eq!(st, 204);

    let expected = [
        "todo:created",
        "todo:updated",
        "todo:completed",
        "todo:updated",
        "todo:updated",
        "todo:updated",
        "todo:completed",
        "todo:deleted",
    ];
    for c in [&mut a1, &mut a2] {
        let ev = todo_events(c).await;
        assert_eq!(names(&ev), expected, "events on one of alice's sockets");
        assert_eq!(ev[0].1, todo);
        assert_eq!(ev[1].1, done);
        assert_eq!(ev[2].1, done);
        assert_eq!(ev[3].1, renamed);
        assert_eq!(ev[6].1, again);
        assert_eq!(ev[7].1, json!({"id": id}));
    }
    assert!(
        todo_events(&mut m).await.is_empty(),
        "mallory saw alice's todo events"
    );

    let (st, gone) = app
        .request(&ta, Method::GET, &format!("/todos/{id}"), None)
        .await;
    assert_eq!((st, gone["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn another_users_todo_is_404_and_stays_untouched() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let (tm, _) = app.register("mallory").await;
    let mut a = connect_ok(&app.base, "/", &ta).await;
    let mut m = connect_ok(&app.base, "/", &tm).await;
    let (_, todo) = app
        .request(
            &ta,
            Method::POST,
            "/todos",
            Some(json!({"title": "private"})),
        )
        .await;
    let path = format!("/todos/{}", todo["id"].as_str().expect("id"));

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"completed": true}))),
        (Method::DELETE, None),
    ] {
        let (st, err) = app.request(&tm, method.clone(), &path, body).await;
        assert_eq!(st, 404, "{method} by mallory: {err}");
    }
    let (_, list) = app.request(&tm, Method::GET, "/todos", None).await;
    assert_eq!(list, json!([]));
    let (st, still) = app.request(&ta, Method::GET, &path, None).await;
    assert_eq!(st, 200);
    assert_eq!(still, todo, "mallory's requests changed nothing");
    let (_, list) = app.request(&ta, Method::GET, "/todos", None).await;
    assert_eq!(list, json!([todo]));

    assert_eq!(names(&todo_events(&mut a).await), ["todo:created"]);
    assert!(todo_events(&mut m).await.is_empty());
}

#[tokio::test]
async fn invalid_input_is_400_with_a_clear_message_and_changes_nothing() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let mut a = connect_ok(&app.base, "/", &ta).await;
    let long = "x".repeat(201);
    for (body, hint) in [
        (json!({}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": long}), "title"),
        (json!({"title": 5}), "title"),
        (json!({"title": "t", "priority": "urgent"}), "urgent"),
        (json!({"title": "t", "dueDate": "tomorrow"}), "dueDate"),
        (json!({"title": "t", "dueDate": "2025-10-01"}), "dueDate"),
        (
            json!({"title": "t", "description": "d".repeat(10_001)}),
            "description",
        ),
    ] {
        let (st, err) = app
            .request(&ta, Method::POST, "/todos", Some(body.clone()))
            .await;
        assert_eq!(st, 400, "{body} -> {err}");
        assert_eq!(err["error"], "bad_request");
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(hint),
            "{body}: message {msg:?} should mention {hint}"
        );
    }
    let (_, todo) = app
        .request(
            &ta,
            Method::POST,
            "/todos",
            Some(json!({"title": "ok", "priority": "low"})),
        )
        .await;
    let path = format!("/todos/{}", todo["id"].as_str().expect("id"));
    for (body, hint) in [
        (json!({"title": null}), "title"),
        (json!({"completed": "yes"}), "completed"),
        (json!({"completed": null}), "completed"),
        (json!({"priority": "none"}), "none"),
        (json!({"dueDate": "soon"}), "dueDate"),
        // One bad field spoils the whole patch.
        (json!({"title": "new", "dueDate": "soon"}), "dueDate"),
    ] {
        let (st, err) = app
            .request(&ta, Method::PATCH, &path, Some(body.clone()))
            .await;
        assert_eq!(st, 400, "{body} -> {err}");
        let msg = err["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(hint),
            "{body}: message {msg:?} should mention {hint}"
        );
    }
    let (_, now) = app.request(&ta, Method::GET, &path, None).await;
    assert_eq!(now, todo, "rejected patches changed nothing");
    let (_, list) = app.request(&ta, Method::GET, "/todos", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(
        names(&todo_events(&mut a).await),
        ["todo:created"],
        "only the valid request emitted"
    );

    // No token: 401.
    let res = app
        .http()
        .get(format!("{}/todos", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_token_for_a_vanished_user_cannot_create_todos() {
    let app = spawn_app().await;
    let ghost = app
        .state
        .tokens
        .issue(
            &uuid::Uuid::new_v4().to_string(),
            "ghost",
            "ghost@example.com",
            None,
        )
        .expect("token");
    let (st, err) = app
        .request(
            &ghost,
            Method::POST,
            "/todos",
            Some(json!({"title": "boo"})),
        )
        .await;
    assert_eq!(st, 401, "{err}");
}

#[tokio::test]
async fn todos_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("switchboard-todos-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());

    let u = url.clone();
    let app = spawn_app_with(move |c| c.database_url = u).await;
    let (ta, _) = app.register("alice").await;
    let mut made = Vec::new();
    for (i, title) in ["one", "two", "three"].iter().enumerate() {
        let (st, t) = app
            .request(
                &ta,
                Method::POST,
                "/todos",
                Some(json!({"title": title, "priority": "high"})),
            )
            .await;
        assert_eq!(st, 201);
        if i == 1 {
            let path = format!("/todos/{}", t["id"].as_str().expect("id"));
            let (_, t) = app
                .request(&ta, Method::PATCH, &path, Some(json!({"completed": true})))
                .await;
            made.push(t);
        } else {
            made.push(t);
        }
    }
    let (_, before) = app.request(&ta, Method::GET, "/todos", None).await;
    made.reverse(); // newest first
    assert_eq!(before, json!(made));
    let secret = app.secret.clone();
    app.stop().await;

    let u = url.clone();
    let app = spawn_app_with(move |c| {
        c.database_url = u;
        c.secret.jwt_secret = Some(secret);
    })
    .await;
    let (_, after) = app.request(&ta, Method::GET, "/todos", None).await;
    assert_eq!(after, before, "todos after restart");
    // And the account too: log in again.
    let res = app
        .http()
        .post(format!("{}/auth/login", app.base))
        .json(&json!({"email": "alice@example.com", "password": "correct horse"}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
