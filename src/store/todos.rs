//! Todos: rows scoped to their owner. Every query takes the owner's id, so
//! another user's todo is simply not found.

use serde::Serialize;
use sqlx::FromRow;

use super::{Db, StoreError, is_foreign_key_violation};

/// A todo as clients see it.
#[derive(Debug, Clone, Serialize, FromRow, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    /// UUID.
    pub id: String,
    /// Title (1-200 characters).
    pub title: String,
    /// Free text, possibly empty.
    pub description: String,
    /// Done?
    pub completed: bool,
    /// `low`, `medium` or `high`.
    pub priority: String,
    /// RFC 3339 UTC with milliseconds, or null.
    pub due_date: Option<String>,
    /// Owner.
    pub user_id: String,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// RFC 3339 UTC with milliseconds.
    pub updated_at: String,
}

const COLUMNS: &str =
    "id, title, description, completed, priority, due_date, user_id, created_at, updated_at";

impl Db {
    /// The owner's todos, newest first.
    pub async fn list_todos(&self, user_id: &str) -> Result<Vec<Todo>, StoreError> {
        Ok(sqlx::query_as::<_, Todo>(&format!(
            "SELECT {COLUMNS} FROM todos WHERE user_id = ? ORDER BY created_at DESC, rowid DESC"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// One of the owner's todos.
    pub async fn todo(&self, user_id: &str, id: &str) -> Result<Option<Todo>, StoreError> {
        Ok(sqlx::query_as::<_, Todo>(&format!(
            "SELECT {COLUMNS} FROM todos WHERE id = ? AND user_id = ?"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Insert `todo`; `NotFound` when its owner does not exist.
    pub async fn insert_todo(&self, todo: &Todo) -> Result<(), StoreError> {
        let res = sqlx::query(&format!(
            "INSERT INTO todos ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&todo.id)
        .bind(&todo.title)
        .bind(&todo.description)
        .bind(todo.completed)
        .bind(&todo.priority)
        .bind(&todo.due_date)
        .bind(&todo.user_id)
        .bind(&todo.created_at)
        .bind(&todo.updated_at)
        .execute(self.pool())
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Overwrite the mutable fields of `todo` (matched by id and owner);
    /// `NotFound` when no such todo.
    pub async fn update_todo(&self, todo: &Todo) -> Result<(), StoreError> {
        let res = sqlx::query(
            "UPDATE todos SET title = ?, description = ?, completed = ?, priority = ?, \
             due_date = ?, updated_at = ? WHERE id = ? AND user_id = ?",
        )
        .bind(&todo.title)
        .bind(&todo.description)
        .bind(todo.completed)
        .bind(&todo.priority)
        .bind(&todo.due_date)
        .bind(&todo.updated_at)
        .bind(&todo.id)
        .bind(&todo.user_id)
        .execute(self.pool())
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Delete one of the owner's todos; `NotFound` when no such todo.
    pub async fn delete_todo(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        let res = sqlx::query("DELETE FROM todos WHERE id = ? AND user_id = ?")
            .bind(id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
