//! The call log: one row per call and one per invitee. A call's row is
//! written when it is invited and rewritten as it changes; a user sees the
//! calls they placed or were invited to.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Db, StoreError, on_pool, placeholders};
use crate::ports::CallLog;
use crate::wire::calls::{CallKind, CallOutcome, CallRecord, LoggedInvitee};
use crate::wire::{CallId, UserId, UserRef};

#[derive(FromRow)]
struct CallRow {
    seq: i64,
    id: String,
    kind: String,
    caller_id: String,
    caller_name: String,
    started_at: String,
    answered_at: Option<String>,
    ended_at: Option<String>,
    duration_ms: Option<i64>,
    outcome: String,
}

#[derive(FromRow)]
struct InviteeRow {
    call_seq: i64,
    user_id: String,
    username: String,
    outcome: String,
}

// Only the names of the CHECK constraints are ever stored.
fn outcome(s: &str) -> CallOutcome {
    CallOutcome::parse(s).unwrap_or(CallOutcome::Missed)
}

fn kind(s: &str) -> CallKind {
    if s == "audio" {
        CallKind::Audio
    } else {
        CallKind::Video
    }
}

/// Calls `?1` took part in: as caller, or invited.
const TOOK_PART: &str = "(c.caller_id = ?1 OR EXISTS (SELECT 1 FROM call_invitees i \
     WHERE i.call_seq = c.seq AND i.user_id = ?1))";

#[async_trait]
impl CallLog for Db {
    async fn save_call(&self, call: &CallRecord) -> Result<(), StoreError> {
        let call_sql = self.sql(
            "INSERT INTO calls (id, caller_id, kind, started_at, answered_at, ended_at, \
             duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET answered_at = excluded.answered_at, \
             ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, \
             outcome = excluded.outcome RETURNING seq",
        );
        let invitee_sql = self.sql(
            "INSERT INTO call_invitees (call_seq, user_id, position, outcome) \
             VALUES (?, ?, ?, ?) ON CONFLICT (call_seq, user_id) \
             DO UPDATE SET outcome = excluded.outcome",
        );
        on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let seq: i64 = sqlx::query_scalar(&call_sql)
                .bind(call.id.as_str())
                .bind(call.caller.id.as_str())
                .bind(call.kind.as_str())
                .bind(&call.started_at)
                .bind(&call.answered_at)
                .bind(&call.ended_at)
                .bind(call.duration_ms)
                .bind(call.outcome.as_str())
                .fetch_one(&mut *tx)
                .await?;
            for (position, v) in call.invitees.iter().enumerate() {
                sqlx::query(&invitee_sql)
                    .bind(seq)
                    .bind(v.id.as_str())
                    .bind(position as i64)
                    .bind(v.outcome.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    async fn calls_of(
        &self,
        user: &UserId,
        limit: i64,
        before: Option<&CallId>,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let before_seq = match before {
            None => None,
            Some(id) => {
                let sql = self
                    .sql(&format!(
                        "SELECT c.seq FROM calls c WHERE c.id = ?2 AND {TOOK_PART}"
                    ))
                    .into_owned();
                let seq = on_pool!(self, p => sqlx::query_scalar::<_, i64>(&sql)
                    .bind(user.as_str())
                    .bind(id.as_str())
                    .fetch_optional(p)
                    .await)?;
                Some(seq.ok_or(StoreError::NotFound)?)
            }
        };
        let sql = self
            .sql(&format!(
                "SELECT c.seq, c.id, c.kind, c.caller_id, u.username AS caller_name, c.started_at, \
             c.answered_at, c.ended_at, c.duration_ms, c.outcome \
             FROM calls c JOIN users u ON u.id = c.caller_id \
             WHERE {TOOK_PART} AND (?2 IS NULL OR c.seq < ?2) \
             ORDER BY c.seq DESC LIMIT ?3"
            ))
            .into_owned();
        let rows = on_pool!(self, p => sqlx::query_as::<_, CallRow>(&sql)
            .bind(user.as_str())
            .bind(before_seq)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let sql = self
            .sql(&format!(
                "SELECT i.call_seq, i.user_id, u.username, i.outcome FROM call_invitees i \
                 JOIN users u ON u.id = i.user_id \
                 WHERE i.call_seq IN ({}) \
                 ORDER BY i.call_seq, i.position",
                placeholders(rows.len())
            ))
            .into_owned();
        let invitees = on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, InviteeRow>(&sql);
            for r in &rows {
                q = q.bind(r.seq);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| CallRecord {
                invitees: invitees
                    .iter()
                    .filter(|i| i.call_seq == r.seq)
                    .map(|i| LoggedInvitee {
                        id: UserId::new(i.user_id.clone()),
                        username: i.username.clone(),
                        outcome: outcome(&i.outcome),
                    })
                    .collect(),
                id: CallId::new(r.id),
                kind: kind(&r.kind),
                caller: UserRef {
                    id: UserId::new(r.caller_id),
                    username: r.caller_name,
                },
                started_at: r.started_at,
                answered_at: r.answered_at,
                ended_at: r.ended_at,
                duration_ms: r.duration_ms,
                outcome: outcome(&r.outcome),
            })
            .collect())
    }
}
