//! Test harness: start the real app in-process on port 0 and talk to it as
//! clients do (HTTP with reqwest, Socket.IO with the project's client,
//! [`crate::sio`]).

use std::net::SocketAddr;

use switchboard::wire::{RoomId, UserId};
use switchboard::{App, Config};
use tokio::sync::oneshot;

/// A running server; stops when dropped.
pub struct TestApp {
    /// `127.0.0.1:<port>`.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The JWT secret the server uses.
    pub secret: String,
    /// Shared state (for minting tokens the server accepts).
    pub state: switchboard::AppState,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// Round trip on a `/` socket: everything the server queued for it before
/// has arrived once this returns.
pub async fn sync(c: &mut crate::sio::Client) {
    let ack = c.call("join", serde_json::Value::Null).await;
    assert!(ack["user"]["id"].is_string(), "join ack: {ack}");
}

/// Start the app with defaults (in-memory database, random secret).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Start the app after `tweak` adjusts the configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_node(&format!("test-secret-{}", uuid::Uuid::new_v4()), tweak).await
}

/// Start the app with the JWT secret `secret` (nodes of one cluster share it).
pub async fn spawn_node(secret: &str, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let secret = secret.to_owned();
    let mut config = Config::local(&secret);
    tweak(&mut config);
    let listener = switchboard::app::bind(&config).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = App::build(config).await.expect("build app");
    let state = app.state.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        app.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        secret,
        state,
        stop: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    /// A reqwest client keeping cookies.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// Register a user; returns (token, user json).
    pub async fn register(&self, name: &str) -> (String, serde_json::Value) {
        let res = self
            .http()
            .post(format!("{}/auth/register", self.base))
            .json(&serde_json::json!({
                "email": format!("{name}@example.com"),
                "username": name,
                "password": "correct horse",
            }))
            .send()
            .await
            .expect("register");
        assert_eq!(res.status(), 201, "register {name}");
        let body: serde_json::Value = res.json().await.expect("json");
        (
            body["accessToken"].as_str().expect("token").to_owned(),
            body["user"].clone(),
        )
    }

    /// An authenticated JSON request: (status, body or `Null`).
    pub async fn request(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut r = self
            .http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Peers in the signalling room `room`.
    pub async fn room_size(&self, room: &str) -> usize {
        let room = RoomId::parse(room).expect("room id");
        let rooms = self.state.signalling.rooms();
        rooms.members(&room).await.expect("members").len()
    }

    /// Signalling rooms that exist.
    pub async fn room_count(&self) -> usize {
        let rooms = self.state.signalling.rooms();
        rooms.room_count().await.expect("room count")
    }

    /// `/` sockets counted for presence of `user_id`.
    pub async fn presence_sockets(&self, user_id: &str) -> usize {
        self.state.presence.sockets(&UserId::from(user_id)).await
    }

    /// Whether `user_id` counts as online.
    pub async fn is_online(&self, user_id: &str) -> bool {
        self.state.presence.is_online(&UserId::from(user_id)).await
    }

    /// `/webrtc` sockets of `user_id` (the devices a call rings).
    pub async fn webrtc_devices(&self, user_id: &str) -> usize {
        self.state.calls.devices(&UserId::from(user_id)).await
    }

    /// Stop the server and wait for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
