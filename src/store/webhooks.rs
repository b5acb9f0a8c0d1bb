//! The webhook outbox: deliveries waiting for their receiver, oldest first
//! within each ordering key.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::ports::{HookQueue, QueuedHook};

#[derive(FromRow)]
struct Row {
    seq: i64,
    id: String,
    url: String,
    ordering_key: String,
    body: String,
    created_ms: i64,
    attempts: i64,
}

impl From<Row> for QueuedHook {
    fn from(r: Row) -> Self {
        QueuedHook {
            id: r.id,
            url: r.url,
            key: r.ordering_key,
            body: r.body,
            created_ms: r.created_ms,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
        }
    }
}

#[async_trait]
impl HookQueue for Db {
    async fn push(&self, hooks: &[QueuedHook]) -> Result<(), StoreError> {
        let sql = self.sql(
            "INSERT INTO webhook_outbox \
             (id, url, ordering_key, body, created_ms, attempts, next_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5) ON CONFLICT (id, url) DO NOTHING",
        );
        on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            for h in hooks {
                sqlx::query(&sql)
                    .bind(&h.id)
                    .bind(&h.url)
                    .bind(&h.key)
                    .bind(&h.body)
                    .bind(h.created_ms)
                    .bind(i64::from(h.attempts))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    async fn waiting(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox")
            .fetch_one(p)
            .await)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn claim(
        &self,
        url: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedHook>, StoreError> {
        // The outer `next_ms <= ?2` is checked again on a row another
        // claim changed meanwhile (PostgreSQL), so two claims never both
        // take it; PostgreSQL also skips rows another claim holds locked.
        let lock = match self.backend() {
            super::Backend::Sqlite => "",
            super::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = self
            .sql(&format!(
                "UPDATE webhook_outbox SET next_ms = ?3 \
                 WHERE next_ms <= ?2 AND seq IN ( \
                   SELECT o.seq FROM webhook_outbox o \
                   WHERE o.url = ?1 AND o.next_ms <= ?2 \
                     AND o.seq = (SELECT MIN(f.seq) FROM webhook_outbox f \
                                  WHERE f.url = o.url AND f.ordering_key = o.ordering_key) \
                   ORDER BY o.seq LIMIT ?4{lock}) \
                 RETURNING seq, id, url, ordering_key, body, created_ms, attempts"
            ))
            .into_owned();
        let mut rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(url)
            .bind(now_ms)
            .bind(lease_until_ms)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await)?;
        rows.sort_by_key(|r| r.seq);
        Ok(rows.into_iter().map(QueuedHook::from).collect())
    }

    async fn next_due(&self, url: &str) -> Result<Option<i64>, StoreError> {
        // Only the head of each key can be sent; a later event of a key
        // waits for the head however early it would be due itself.
        let sql = self.sql(
            "SELECT MIN(o.next_ms) FROM webhook_outbox o \
             WHERE o.url = ?1 \
               AND o.seq = (SELECT MIN(f.seq) FROM webhook_outbox f \
                            WHERE f.url = o.url AND f.ordering_key = o.ordering_key)",
        );
        Ok(on_pool!(self, p => sqlx::query_scalar(&sql)
            .bind(url)
            .fetch_one(p)
            .await)?)
    }

    async fn remove(&self, id: &str, url: &str) -> Result<(), StoreError> {
        let sql = self.sql("DELETE FROM webhook_outbox WHERE id = ?1 AND url = ?2");
        on_pool!(self, p => sqlx::query(&sql)
            .bind(id)
            .bind(url)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    async fn retry(
        &self,
        id: &str,
        url: &str,
        attempts: u32,
        next_ms: i64,
    ) -> Result<(), StoreError> {
        let sql = self.sql(
            "UPDATE webhook_outbox SET attempts = ?3, next_ms = ?4 WHERE id = ?1 AND url = ?2",
        );
        on_pool!(self, p => sqlx::query(&sql)
            .bind(id)
            .bind(url)
            .bind(i64::from(attempts))
            .bind(next_ms)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
