//! The tests' Socket.IO client: the project's one client (`sio-client`)
//! with a channel of events, waits with a deadline, and test-friendly
//! panics. (The official `socket.io-client` suite lives in `tests/compat/`.)

use std::time::Duration;

use serde_json::{Value, json};
use sio_client::{Event, Target};
use tokio::sync::mpsc;

/// How long a test waits for an answer.
const WAIT: Duration = Duration::from_secs(5);

/// One namespace connection.
pub struct Client {
    inner: sio_client::Client,
    events: mpsc::UnboundedReceiver<Event>,
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
    let mut target = Target::from_url(base, ns).expect("target");
    for (k, v) in headers {
        target = target.header(k, v);
    }
    match sio_client::connect_channel(&target, Some(auth.unwrap_or(Value::Null))).await {
        Ok((inner, events)) => Connect::Ok(Client {
            sid: inner.sid.clone(),
            inner,
            events,
            pending: Vec::new(),
        }),
        Err(sio_client::ConnErr::Rejected(m)) => Connect::Refused(m),
        Err(e) => panic!("no connect answer: {e}"),
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
        self.inner.emit(event, &data);
    }

    /// Emit asking for an ack; the receiver gets it (queued in call order).
    pub fn emit_ack(&self, event: &str, data: Value) -> tokio::sync::oneshot::Receiver<Value> {
        match self.inner.emit_ack(event, &data) {
            Ok(rx) => rx,
            Err(e) => panic!("{event}: {e}"),
        }
    }

    /// False once the connection has ended.
    pub fn is_alive(&self) -> bool {
        self.inner.is_alive()
    }

    /// Wait until the server ends the connection (events keep arriving
    /// meanwhile and are kept).
    pub async fn closed(&mut self) {
        while let Some(e) = self.events.recv().await {
            self.pending.push((e.name, e.data));
        }
    }

    /// Emit and wait for the ack (5 s).
    pub async fn call(&mut self, event: &str, data: Value) -> Value {
        match self.inner.call(event, &data, WAIT).await {
            Ok(v) => v,
            Err(e) => panic!("{event}: {e}"),
        }
    }

    /// Wait (5 s) for the next `event`, keeping other events for later.
    pub async fn recv(&mut self, event: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|(n, _)| n == event) {
            return self.pending.remove(i).1;
        }
        let wait = async {
            while let Some(e) = self.events.recv().await {
                if e.name == event {
                    return e.data;
                }
                self.pending.push((e.name, e.data));
            }
            panic!("connection closed while waiting for {event}");
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .unwrap_or_else(|_| panic!("no {event} within 5 s"))
    }

    fn take_arrived(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            self.pending.push((e.name, e.data));
        }
    }

    /// All events received so far named `event` (without waiting).
    pub fn drain(&mut self, event: &str) -> Vec<Value> {
        self.take_arrived();
        let (hit, keep): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|(n, _)| n == event);
        self.pending = keep;
        hit.into_iter().map(|(_, v)| v).collect()
    }

    /// Everything received so far and not yet consumed, in arrival order
    /// (without waiting).
    pub fn drain_all(&mut self) -> Vec<(String, Value)> {
        self.take_arrived();
        std::mem::take(&mut self.pending)
    }

    /// Leave the namespace and close the connection.
    pub fn close(self) {
        self.inner.close();
    }

    /// Lose the connection without leaving the namespace (a network blip).
    pub fn drop_connection(self) {
        self.inner.drop_connection();
    }
}
