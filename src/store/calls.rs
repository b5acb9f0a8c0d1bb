//! The call log: one row per call and one per invitee. A call's row is
//! written when it is invited and rewritten as it changes; a user sees the
//! calls they placed or were invited to.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Db, StoreError};
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
        let mut tx = self.pool().begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO calls (id, caller_id, kind, started_at, answered_at, ended_at, \
             duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET answered_at = excluded.answered_at, \
             ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, \
             outcome = excluded.outcome RETURNING seq",
        )
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
            sqlx::query(
                "INSERT INTO call_invitees (call_seq, user_id, position, outcome) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (call_seq, user_id) \
                 DO UPDATE SET outcome = excluded.outcome",
            )
            .bind(seq)
            .bind(v.id.as_str())
            .bind(position as i64)
            .bind(v.outcome.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
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
            Some(id) => Some(
                sqlx::query_scalar::<_, i64>(&format!(
                    "SELECT c.seq FROM calls c WHERE c.id = ?2 AND {TOOK_PART}"
                ))
                .bind(user.as_str())
                .bind(id.as_str())
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?,
            ),
        };
        let rows = sqlx::query_as::<_, CallRow>(&format!(
            "SELECT c.seq, c.id, c.kind, c.caller_id, u.username AS caller_name, c.started_at, \
             c.answered_at, c.ended_at, c.duration_ms, c.outcome \
             FROM calls c JOIN users u ON u.id = c.caller_id \
             WHERE {TOOK_PART} AND (?2 IS NULL OR c.seq < ?2) \
             ORDER BY c.seq DESC LIMIT ?3"
        ))
        .bind(user.as_str())
        .bind(before_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let seqs = serde_json::to_string(&rows.iter().map(|r| r.seq).collect::<Vec<_>>())
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let invitees = sqlx::query_as::<_, InviteeRow>(
            "SELECT i.call_seq, i.user_id, u.username, i.outcome FROM call_invitees i \
             JOIN users u ON u.id = i.user_id \
             WHERE i.call_seq IN (SELECT value FROM json_each(?)) \
             ORDER BY i.call_seq, i.position",
        )
        .bind(seqs)
        .fetch_all(self.pool())
        .await?;
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
