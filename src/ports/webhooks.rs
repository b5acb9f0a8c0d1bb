//! Webhooks: the domain [`Notifier::notify`]s what happened, without waiting
//! (delivery must never delay signalling); the outbox queues each event per
//! receiver in a [`HookQueue`] (the database, so a restart loses nothing
//! queued) and delivers it from there.

use async_trait::async_trait;

use super::StoreError;
use crate::wire::webhooks::Hook;

/// Where the domain reports events; returns at once.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Queue `hook` for every receiver (dropped with a warning when the
    /// queue is full).
    fn notify(&self, hook: Hook);
}

/// No receivers configured: events go nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Notifier for NoHooks {
    fn notify(&self, _: Hook) {}
}

/// One event waiting for one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedHook {
    /// The event id (the same for every receiver and retry).
    pub id: String,
    /// The receiver.
    pub url: String,
    /// Events of one key go out in order ([`Hook::ordering_key`]).
    pub key: String,
    /// The JSON body, as signed and sent.
    pub body: String,
    /// When the event happened, unix milliseconds.
    pub created_ms: i64,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// The persisted queue of deliveries.
#[async_trait]
pub trait HookQueue: Send + Sync + std::fmt::Debug {
    /// Append, in order (due at once).
    async fn push(&self, hooks: &[QueuedHook]) -> Result<(), StoreError>;
    /// How many deliveries wait.
    async fn waiting(&self) -> Result<u64, StoreError>;
    /// Claim, for `url`, the oldest waiting delivery of each key that is due
    /// at `now_ms`, oldest first, at most `limit`: each is leased until
    /// `lease_until_ms` (nobody else claims it meanwhile, so with several
    /// nodes on one database each event is sent once; a node that dies
    /// mid-delivery lets the lease run out and another one sends it).
    async fn claim(
        &self,
        url: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedHook>, StoreError>;
    /// When the next delivery for `url` can go (unix ms): the earliest due
    /// time of the oldest waiting delivery of each key.
    async fn next_due(&self, url: &str) -> Result<Option<i64>, StoreError>;
    /// Delivered (or given up): forget it.
    async fn remove(&self, id: &str, url: &str) -> Result<(), StoreError>;
    /// Failed: try again at `next_ms`.
    async fn retry(
        &self,
        id: &str,
        url: &str,
        attempts: u32,
        next_ms: i64,
    ) -> Result<(), StoreError>;
}
