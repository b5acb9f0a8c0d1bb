//! A minimal Socket.IO v5 / Engine.IO v4 websocket client for Rust tests.
//! (The official `socket.io-client` suite lives in `tests/compat/`.)

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// One namespace connection.
pub struct Client {
    ns: String,
    out: mpsc::UnboundedSender<String>,
    events: mpsc::UnboundedReceiver<(String, Value)>,
    acks: mpsc::UnboundedReceiver<(u64, Value)>,
    next_ack: u64,
    /// Socket id in the namespace.
    pub sid: String,
    pending: Vec<(String, Value)>,
}

/// Connection outcome.
pub enum Connect {
    /// Connected.
    Ok(Client),
    /// `connect_error` with this message.
    Refused(String),
}

/// Connect to `ns` at `base` with an optional auth payload and extra headers.
pub async fn connect(
    base: &str,
    ns: &str,
    auth: Option<Value>,
    headers: &[(&str, &str)],
) -> Connect {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().expect("request");
    for (k, v) in headers {
        req.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header"),
            v.parse().expect("value"),
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connect");
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let (conn_tx, mut conn_rx) = mpsc::unbounded_channel::<Result<String, String>>();
    let prefix = if ns == "/" {
        String::new()
    } else {
        format!("{ns},")
    };
    tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if sink.send(Message::text(m)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let out = out_tx.clone();
    let p = prefix.clone();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Text(t) = msg else { continue };
            let t = t.as_str();
            if t.starts_with('0') {
                let connect = match &auth {
                    Some(a) => format!("40{p}{a}"),
                    None => format!("40{p}"),
                };
                let _ = out.send(connect);
            } else if t == "2" {
                let _ = out.send("3".into());
            } else if let Some(rest) = t.strip_prefix("40") {
                let body = rest.strip_prefix(p.as_str()).unwrap_or(rest);
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                let _ = conn_tx.send(Ok(v["sid"].as_str().unwrap_or_default().to_owned()));
            } else if let Some(rest) = t.strip_prefix("44") {
                let body = rest.strip_prefix(p.as_str()).unwrap_or(rest);
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                let _ = conn_tx.send(Err(v["message"].as_str().unwrap_or_default().to_owned()));
            } else if let Some(rest) = t.strip_prefix("42") {
                let body = rest.strip_prefix(p.as_str()).unwrap_or(rest);
                if let Ok(Value::Array(mut a)) = serde_json::from_str::<Value>(body)
                    && !a.is_empty()
                {
                    let name = a.remove(0).as_str().unwrap_or_default().to_owned();
                    let _ = ev_tx.send((name, a.into_iter().next().unwrap_or(Value::Null)));
                }
            } else if let Some(rest) = t.strip_prefix("43") {
                let body = rest.strip_prefix(p.as_str()).unwrap_or(rest);
                let digits: String = body.chars().take_while(|c| c.is_ascii_digit()).collect();
                let id = digits.parse().unwrap_or(0);
                if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(&body[digits.len()..]) {
                    let _ = ack_tx.send((id, a.into_iter().next().unwrap_or(Value::Null)));
                }
            }
        }
    });
    match tokio::time::timeout(Duration::from_secs(5), conn_rx.recv()).await {
        Ok(Some(Ok(sid))) => Connect::Ok(Client {
            ns: prefix,
            out: out_tx,
            events: ev_rx,
            acks: ack_rx,
            next_ack: 0,
            sid,
            pending: Vec::new(),
        }),
        Ok(Some(Err(m))) => Connect::Refused(m),
        _ => panic!("no connect answer within 5 s"),
    }
}

/// Connect and panic unless accepted.
pub async fn connect_ok(base: &str, ns: &str, token: &str) -> Client {
    match connect(base, ns, Some(json!({ "token": token })), &[]).await {
        Connect::Ok(c) => c,
        Connect::Refused(m) => panic!("refused: {m}"),
    }
}

impl Client {
    /// Emit without ack.
    pub fn emit(&self, event: &str, data: Value) {
        let _ = self
            .out
            .send(format!("42{}{}", self.ns, json!([event, data])));
    }

    /// Emit and wait for the ack (5 s).
    pub async fn call(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let _ = self
            .out
            .send(format!("42{}{id}{}", self.ns, json!([event, data])));
        let wait = async {
            while let Some((got, v)) = self.acks.recv().await {
                if got == id {
                    return v;
                }
            }
            panic!("connection closed before ack");
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("no ack for {event} within 5 s"))
    }

    /// Wait (5 s) for the next `event`, keeping other events for later.
    pub async fn recv(&mut self, event: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|(n, _)| n == event) {
            return self.pending.remove(i).1;
        }
        let wait = async {
            while let Some((name, v)) = self.events.recv().await {
                if name == event {
                    return v;
                }
                self.pending.push((name, v));
            }
            panic!("connection closed while waiting for {event}");
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("no {event} within 5 s"))
    }

    /// All events received so far named `event` (without waiting).
    pub fn drain(&mut self, event: &str) -> Vec<Value> {
        while let Ok(e) = self.events.try_recv() {
            self.pending.push(e);
        }
        let (hit, keep): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|(n, _)| n == event);
        self.pending = keep;
        hit.into_iter().map(|(_, v)| v).collect()
    }

    /// Everything received so far and not yet consumed, in arrival order
    /// (without waiting).
    pub fn drain_all(&mut self) -> Vec<(String, Value)> {
        while let Ok(e) = self.events.try_recv() {
            self.pending.push(e);
        }
        std::mem::take(&mut self.pending)
    }

    /// Close the connection.
    pub fn close(self) {
        let _ = self.out.send(format!("41{}", self.ns));
    }
}

/// Named hash map of clients, handy in tests.
pub type Clients = HashMap<String, Client>;
