//! One worker per receiver URL: post the oldest waiting event of each
//! ordering key, signed; remove it on a 2xx, retry it later otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rand::Rng as _;
use tokio::sync::Notify;

use super::HookConfig;
use super::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::ports::{HookQueue, QueuedHook};

/// Deliveries in flight per receiver at most (each of a different key).
const IN_FLIGHT: u32 = 32;
/// How long an idle worker sleeps before it looks again anyway.
const IDLE: Duration = Duration::from_secs(1);

/// The HTTP client all workers share.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("switchboard-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What one receiver's worker needs.
pub struct Worker {
    /// The receiver.
    pub url: String,
    /// Policy and secret.
    pub config: Arc<HookConfig>,
    /// The persisted queue.
    pub queue: Arc<dyn HookQueue>,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// Rung when new events are queued.
    pub wake: Arc<Notify>,
    /// Deliveries waiting, over all receivers.
    pub queued: Arc<AtomicI64>,
}

/// A receiver URL as logged: scheme, host, port and path (a query or
/// credentials in it may be secret).
pub fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "<invalid url>".to_owned(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The delay before attempt `attempts + 1`: doubling from the first
/// backoff, capped, with up to 20 % jitter so retries do not bunch up.
pub fn backoff(config: &HookConfig, attempts: u32) -> Duration {
    let base = config
        .first_backoff
        .saturating_mul(1u32 << attempts.min(20))
        .min(config.max_backoff);
    let jitter = rand::thread_rng().gen_range(0.0..0.2);
    base.mul_f64(1.0 + jitter)
}

/// Deliver to `w.url` until the process ends.
pub async fn run(w: Worker) {
    loop {
        let now = now_ms();
        // Leased for longer than an attempt can take.
        let lease = now + i64::try_from((w.config.timeout * 2).as_millis()).unwrap_or(i64::MAX / 2);
        let due = match w.queue.claim(&w.url, now, lease, IN_FLIGHT).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(url = %shown(&w.url), error = %e, "webhook queue unreadable");
                tokio::time::sleep(IDLE).await;
                continue;
            }
        };
        if due.is_empty() {
            let next = w.queue.next_due(&w.url).await.ok().flatten();
            let wait = next.map_or(IDLE, |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(IDLE)
            });
            tokio::select! {
                _ = w.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        let mut sends = tokio::task::JoinSet::new();
        for hook in due {
            let client = w.client.clone();
            let url = w.url.clone();
            let secret = w.config.secret.clone();
            sends.spawn(async move {
                let outcome = post(&client, &url, &secret, &hook).await;
                (hook, outcome)
            });
        }
        while let Some(done) = sends.join_next().await {
            let Ok((hook, outcome)) = done else { continue };
            settle(&w, &hook, outcome).await;
        }
    }
}

async fn settle(w: &Worker, hook: &QueuedHook, outcome: Result<(), String>) {
    let now = now_ms();
    let give_up = now - hook.created_ms
        > i64::try_from(w.config.give_up_after.as_millis()).unwrap_or(i64::MAX);
    let result = match &outcome {
        Ok(()) => {
            metrics::counter!("switchboard_webhooks_delivered_total").increment(1);
            metrics::histogram!("switchboard_webhook_delivery_seconds").record(
                Duration::from_millis(u64::try_from(now - hook.created_ms).unwrap_or(0))
                    .as_secs_f64(),
            );
            w.queue.remove(&hook.id, &hook.url).await
        }
        Err(why) if give_up => {
            metrics::counter!("switchboard_webhooks_dropped_total").increment(1);
            tracing::warn!(url = %shown(&hook.url), event_id = %hook.id, attempts = hook.attempts + 1, error = %why, "webhook given up");
            w.queue.remove(&hook.id, &hook.url).await
        }
        Err(why) => {
            metrics::counter!("switchboard_webhooks_failed_total").increment(1);
            let delay = backoff(&w.config, hook.attempts);
            tracing::debug!(url = %shown(&hook.url), event_id = %hook.id, attempts = hook.attempts + 1, error = %why, retry_in_ms = delay.as_millis() as u64, "webhook failed");
            let next = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            if let Err(e) = w
                .queue
                .retry(&hook.id, &hook.url, hook.attempts + 1, next)
                .await
            {
                tracing::warn!(error = %e, "webhook retry not stored");
            }
            return;
        }
    };
    match result {
        Ok(()) => {
            w.queued.fetch_sub(1, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(error = %e, "webhook not removed from the queue"),
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    hook: &QueuedHook,
) -> Result<(), String> {
    let ts = chrono::Utc::now().timestamp();
    let signature = sign(secret, ts, hook.body.as_bytes());
    let res = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(hook.body.clone())
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", res.status()))
    }
}
