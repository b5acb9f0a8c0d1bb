//! The store suite (`ports::store_conformance`) against both databases:
//! SQLite in memory and a real PostgreSQL server ([`crate::postgres`]); and
//! the whole app on PostgreSQL, through HTTP and Socket.IO.

use serde_json::json;
use switchboard::store::{Backend, Db};

use crate::helpers::spawn_app_with;
use crate::sio::connect_ok;

#[tokio::test]
async fn sqlite_passes_the_store_suite() {
    let db = Db::connect("sqlite::memory:").await.expect("sqlite");
    assert_eq!(db.backend(), Backend::Sqlite);
    switchboard::ports::store_conformance::store(&db).await;
}

#[tokio::test]
async fn postgres_passes_the_store_suite() {
    let url = crate::postgres::database().await;
    let db = Db::connect(&url).await.expect("postgres");
    assert_eq!(db.backend(), Backend::Postgres);
    switchboard::ports::store_conformance::store(&db).await;
    // Migrations are idempotent: a second node opening it changes nothing.
    let again = Db::connect(&url).await.expect("reopen");
    again.ping().await.expect("ping");
}

#[tokio::test]
async fn the_app_runs_on_postgres() {
    let url = crate::postgres::database().await;
    let app = spawn_app_with(|c| c.database_url = url.clone()).await;
    let (ta, alice) = app.register("alice").await;
    let (tb, bob) = app.register("bobby").await;
    let mut a = connect_ok(&app.base, "/", &ta).await;
    let mut b = connect_ok(&app.base, "/", &tb).await;
    let (status, todo) = app
        .request(
            &ta,
            reqwest::Method::POST,
            "/todos",
            Some(json!({"title": "on postgres"})),
        )
        .await;
    assert_eq!(status, 201, "{todo}");
    assert_eq!(a.recv("todo:created").await["title"], "on postgres");
    let (status, chat) = app
        .request(
            &ta,
            reqwest::Method::POST,
            "/chats",
            Some(json!({"participantIds": [bob["id"]]})),
        )
        .await;
    assert_eq!(status, 201, "{chat}");
    let chat_id = chat["id"].as_str().expect("chat id").to_owned();
    for c in [&mut a, &mut b] {
        let ack = c.call("chat:join", json!({"chatId": chat_id})).await;
        assert_eq!(ack["success"], true, "{ack}");
    }
    let sent = a
        .call(
            "message:send",
            json!({"chatId": chat_id, "text": "hello from postgres"}),
        )
        .await;
    assert_eq!(sent["success"], true, "{sent}");
    assert_eq!(b.recv("message:new").await["text"], "hello from postgres");
    let (status, list) = app.request(&tb, reqwest::Method::GET, "/chats", None).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["unreadCount"], 1, "{list}");
    assert_eq!(list[0]["lastMessage"]["text"], "hello from postgres");
    let _ = alice;
    app.stop().await;
}
