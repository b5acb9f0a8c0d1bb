//! The database implementation of the store ports ([`crate::ports::store`]),
//! over SQLite (the embedded default, `sqlite://file.db` or
//! `sqlite::memory:`) or PostgreSQL (`postgres://…`, shared by every node of
//! a cluster). Each backend has its own migrations (`migrations/sqlite`,
//! `migrations/postgres`: the same tables, each in its own dialect), applied
//! at start.
//!
//! The queries are written once, in SQLite's dialect with `?` or `?N`
//! placeholders; [`Db::sql`] turns them into PostgreSQL's `$N` when needed,
//! and the few statements that differ (case-insensitive search, the chat
//! activity counter, todo order) pick their text by [`Backend`]. Each table's
//! queries live in its own file; [`on_pool!`] runs one on whichever pool is
//! open.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub mod calls;
pub mod chats;
pub mod todos;
pub mod users;
pub mod webhooks;

pub use crate::ports::StoreError;

/// The database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Connecting failed (bad URL, unwritable file).
    #[error("cannot open the database: {0}")]
    Connect(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// Which database a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (one node).
    Sqlite,
    /// PostgreSQL (shared by a cluster).
    Postgres,
}

/// The open pool.
#[derive(Clone, Debug)]
pub enum Pool {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Run `$body` with `$p` bound to the open pool (each arm is compiled for
/// its own database type).
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match $db.pool() {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A handle on the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// Open the database at `url` and apply migrations: `postgres://…`
    /// (or `postgresql://…`) selects PostgreSQL, anything else SQLite
    /// (created if needed; `sqlite::memory:` is a private in-memory one).
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::connect_postgres(url).await;
        }
        Self::connect_sqlite(url).await
    }

    async fn connect_postgres(url: &str) -> Result<Self, OpenError> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    async fn connect_sqlite(url: &str) -> Result<Self, OpenError> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let opts = if memory {
            opts
        } else {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        // An in-memory database lives in one connection: keep exactly one, forever.
        let pool = if memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        }
        .connect_with(opts)
        .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// `sql` (SQLite dialect, `?` or `?N` placeholders) for this backend.
    pub(crate) fn sql<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        match self.backend() {
            Backend::Sqlite => Cow::Borrowed(sql),
            Backend::Postgres => Cow::Owned(numbered(sql)),
        }
    }

    /// One round trip to the database (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Close every connection (flushes SQLite's WAL on shutdown).
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }
}

/// `?, ?, …` (`n` of them) for an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `?` -> `$1`, `$2`, … in order; `?N` -> `$N`. (The queries hold no `?`
/// inside string literals.)
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        out.push('$');
        if chars.peek().is_some_and(char::is_ascii_digit) {
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                out.push(d);
                chars.next();
            }
        } else {
            next += 1;
            out.push_str(&next.to_string());
        }
    }
    out
}

pub(crate) use crate::wire::now;

/// True when the error is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True when the error is a FOREIGN KEY constraint violation.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            super::numbered("SELECT a FROM t WHERE b = ? AND c = ? LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 LIMIT $3"
        );
        assert_eq!(
            super::numbered("WHERE x LIKE ?1 OR y LIKE ?1 LIMIT ?2"),
            "WHERE x LIKE $1 OR y LIKE $1 LIMIT $2"
        );
    }
}
