//! Signed webhooks: the [`Notifier`] implementation.
//!
//! The path of one event:
//!
//! 1. The domain calls [`Outbox::notify`]; it only `try_send`s the event to
//!    a bounded channel, so a slow or dead receiver can never delay
//!    signalling (a full queue drops the event, logged and counted).
//! 2. One writer task takes events off the channel in batches and appends
//!    one row per receiver to the [`HookQueue`] (the database): from here a
//!    restart loses nothing. A graceful shutdown ([`Outbox::flush`]) writes
//!    what is still in the channel first.
//! 3. One [`delivery`] worker per receiver URL posts the oldest waiting
//!    event of each ordering key (per room, per user), signed
//!    ([`signature`]); a 2xx removes it, anything else (or no answer within
//!    the timeout) retries it with exponential backoff for up to an hour.
//!    Later events of the same key wait, so each room's events arrive in
//!    order; different keys go in parallel.

pub mod delivery;
pub mod signature;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::ports::{HookQueue, Notifier, QueuedHook};
use crate::wire::webhooks::{Hook, HookEnvelope};

/// Events waiting between `notify` and the database.
const CHANNEL: usize = 8192;
/// Events written per transaction at most.
const BATCH: usize = 256;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct HookConfig {
    /// Receivers.
    pub urls: Vec<String>,
    /// The HMAC key.
    pub secret: String,
    /// How long a receiver has to answer (`WEBHOOK_TIMEOUT`, 5 s).
    pub timeout: Duration,
    /// Deliveries queued at most, over all receivers (`WEBHOOK_QUEUE_MAX`).
    pub max_queued: u64,
    /// The first retry's delay; each next one doubles, up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest delay between two attempts.
    pub max_backoff: Duration,
    /// An event still undelivered this long after it happened is dropped.
    pub give_up_after: Duration,
}

impl HookConfig {
    /// The contract's policy for `urls` signed with `secret`.
    pub fn new(urls: Vec<String>, secret: String) -> Self {
        Self {
            urls,
            secret,
            timeout: Duration::from_secs(5),
            max_queued: 100_000,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            give_up_after: Duration::from_secs(3600),
        }
    }
}

struct Pending {
    id: String,
    created_ms: i64,
    hook: Hook,
}

enum Msg {
    Event(Box<Pending>),
    /// Write what came before, answer, and stop.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Queues events for webhook receivers and delivers them.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Msg>,
    queued: Arc<AtomicI64>,
}

impl Outbox {
    /// Start the writer and one delivery worker per URL.
    pub async fn start(
        config: HookConfig,
        queue: Arc<dyn HookQueue>,
    ) -> Result<Self, crate::ports::StoreError> {
        let queued = Arc::new(AtomicI64::new(
            i64::try_from(queue.waiting().await?).unwrap_or(i64::MAX),
        ));
        let (tx, rx) = mpsc::channel(CHANNEL);
        let config = Arc::new(config);
        let wakers: Vec<Arc<Notify>> = config
            .urls
            .iter()
            .map(|_| Arc::new(Notify::new()))
            .collect();
        let client = delivery::client(config.timeout);
        for (url, wake) in config.urls.iter().zip(&wakers) {
            tokio::spawn(delivery::run(delivery::Worker {
                url: url.clone(),
                config: config.clone(),
                queue: queue.clone(),
                client: client.clone(),
                wake: wake.clone(),
                queued: queued.clone(),
            }));
        }
        tokio::spawn(write(rx, config, queue, wakers, queued.clone()));
        Ok(Self { tx, queued })
    }

    /// Deliveries waiting now (all receivers).
    pub fn queued(&self) -> i64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Write what is still in the channel to the database (shutdown). Events
    /// notified afterwards are dropped.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl Notifier for Outbox {
    fn notify(&self, hook: Hook) {
        let pending = Pending {
            id: uuid::Uuid::new_v4().to_string(),
            created_ms: chrono::Utc::now().timestamp_millis(),
            hook,
        };
        let kind = pending.hook.kind();
        if self.tx.try_send(Msg::Event(Box::new(pending))).is_err() {
            dropped(kind, "the webhook channel is full or closed");
        }
    }
}

fn dropped(kind: &'static str, why: &str) {
    metrics::counter!("switchboard_webhooks_dropped_total").increment(1);
    tracing::warn!(event = kind, why, "webhook event dropped");
}

async fn write(
    mut rx: mpsc::Receiver<Msg>,
    config: Arc<HookConfig>,
    queue: Arc<dyn HookQueue>,
    wakers: Vec<Arc<Notify>>,
    queued: Arc<AtomicI64>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let mut flushed = None;
        let mut rows = Vec::with_capacity(batch.len() * config.urls.len());
        for msg in batch.drain(..) {
            let p = match msg {
                Msg::Event(p) => p,
                Msg::Flush(done) => {
                    flushed = Some(done);
                    break;
                }
            };
            let room = u64::try_from(queued.load(Ordering::Relaxed)).unwrap_or(0);
            if room + config.urls.len() as u64 > config.max_queued {
                dropped(p.hook.kind(), "the webhook queue is full");
                continue;
            }
            let created_at = chrono::DateTime::from_timestamp_millis(p.created_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let envelope = HookEnvelope {
                id: &p.id,
                kind: p.hook.kind(),
                created_at: &created_at,
                data: &p.hook,
            };
            let Ok(body) = serde_json::to_string(&envelope) else {
                continue;
            };
            let key = p.hook.ordering_key();
            for url in &config.urls {
                rows.push(QueuedHook {
                    id: p.id.clone(),
                    url: url.clone(),
                    key: key.clone(),
                    body: body.clone(),
                    created_ms: p.created_ms,
                    attempts: 0,
                });
            }
            queued.fetch_add(config.urls.len() as i64, Ordering::Relaxed);
        }
        if !rows.is_empty() {
            if let Err(e) = queue.push(&rows).await {
                queued.fetch_sub(rows.len() as i64, Ordering::Relaxed);
                metrics::counter!("switchboard_webhooks_dropped_total")
                    .increment(rows.len() as u64);
                tracing::error!(error = %e, lost = rows.len(), "webhook events not queued");
            }
            for w in &wakers {
                w.notify_one();
            }
        }
        if let Some(done) = flushed {
            rx.close();
            let _ = done.send(());
            return;
        }
    }
}
