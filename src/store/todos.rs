//! Todos: rows scoped to their owner. Every query takes the owner's id, so
//! another user's todo is simply not found.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Backend, Db, StoreError, is_foreign_key_violation, on_pool};
use crate::ports::TodoStore;
use crate::wire::{Priority, Todo, TodoId, UserId};

#[derive(FromRow)]
struct TodoRow {
    id: String,
    title: String,
    description: String,
    completed: bool,
    priority: String,
    due_date: Option<String>,
    user_id: String,
    created_at: String,
    updated_at: String,
}

impl From<TodoRow> for Todo {
    fn from(r: TodoRow) -> Self {
        Todo {
            id: TodoId::new(r.id),
            title: r.title,
            description: r.description,
            completed: r.completed,
            // Only the three names are ever written (a CHECK would say so).
            priority: Priority::parse(&r.priority).unwrap_or_default(),
            due_date: r.due_date,
            user_id: UserId::new(r.user_id),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str =
    "id, title, description, completed, priority, due_date, user_id, created_at, updated_at";

#[async_trait]
impl TodoStore for Db {
    async fn list_todos(&self, owner: &UserId) -> Result<Vec<Todo>, StoreError> {
        // Newest first; ties (same millisecond) by insertion order.
        let tie = match self.backend() {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "seq",
        };
        let sql = self
            .sql(&format!(
                "SELECT {COLUMNS} FROM todos WHERE user_id = ? ORDER BY created_at DESC, {tie} DESC"
            ))
            .into_owned();
        let rows = on_pool!(self, p => sqlx::query_as::<_, TodoRow>(&sql)
            .bind(owner.as_str())
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn todo(&self, owner: &UserId, id: &TodoId) -> Result<Option<Todo>, StoreError> {
        let sql = self
            .sql(&format!(
                "SELECT {COLUMNS} FROM todos WHERE id = ? AND user_id = ?"
            ))
            .into_owned();
        let row = on_pool!(self, p => sqlx::query_as::<_, TodoRow>(&sql)
            .bind(id.as_str())
            .bind(owner.as_str())
            .fetch_optional(p)
            .await)?;
        Ok(row.map(Into::into))
    }

    async fn insert_todo(&self, todo: &Todo) -> Result<(), StoreError> {
        let sql = self
            .sql(&format!(
                "INSERT INTO todos ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .into_owned();
        let res = on_pool!(self, p => sqlx::query(&sql)
            .bind(todo.id.as_str())
            .bind(&todo.title)
            .bind(&todo.description)
            .bind(todo.completed)
            .bind(todo.priority.as_str())
            .bind(&todo.due_date)
            .bind(todo.user_id.as_str())
            .bind(&todo.created_at)
            .bind(&todo.updated_at)
            .execute(p)
            .await
            .map(|_| ()));
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn update_todo(&self, todo: &Todo) -> Result<(), StoreError> {
        let sql = self.sql(
            "UPDATE todos SET title = ?, description = ?, completed = ?, priority = ?, \
             due_date = ?, updated_at = ? WHERE id = ? AND user_id = ?",
        );
        let affected = on_pool!(self, p => sqlx::query(&sql)
            .bind(&todo.title)
            .bind(&todo.description)
            .bind(todo.completed)
            .bind(todo.priority.as_str())
            .bind(&todo.due_date)
            .bind(&todo.updated_at)
            .bind(todo.id.as_str())
            .bind(todo.user_id.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_todo(&self, owner: &UserId, id: &TodoId) -> Result<(), StoreError> {
        let sql = self.sql("DELETE FROM todos WHERE id = ? AND user_id = ?");
        let affected = on_pool!(self, p => sqlx::query(&sql)
            .bind(id.as_str())
            .bind(owner.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
