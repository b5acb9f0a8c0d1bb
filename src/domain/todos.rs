//! Todo service: owner-scoped CRUD with validation. Every change is
//! published to every socket of the owner (room `user-<id>` on `/`) and to
//! no one else. Changes of one owner are serialized, so events reach the
//! owner's sockets in the order the changes were stored.

use std::sync::Arc;

use crate::ports::{Locks, Publisher, StoreError, TodoStore};
use crate::wire::app::{AppEvent, TodoDeleted};
use crate::wire::http::{NewTodo, TodoPatch};
use crate::wire::{Todo, TodoId, UserId, now};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// Why a todo operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TodoError {
    /// Bad input; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// No such todo for this owner.
    #[error("todo not found")]
    NotFound,
    /// The caller's account does not exist (any more).
    #[error("unknown user")]
    UnknownUser,
    /// The database or the lock backend failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for TodoError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => TodoError::NotFound,
            other => TodoError::Internal(other.to_string()),
        }
    }
}

impl From<crate::ports::StateError> for TodoError {
    fn from(e: crate::ports::StateError) -> Self {
        TodoError::Internal(e.to_string())
    }
}

/// Owner-scoped todos that publish their changes.
#[derive(Clone, Debug)]
pub struct TodoService {
    store: Arc<dyn TodoStore>,
    publisher: Arc<dyn Publisher>,
    locks: Arc<dyn Locks>,
}

fn title(raw: &str) -> Result<String, TodoError> {
    let t = raw.trim();
    let n = t.chars().count();
    if n == 0 || n > MAX_TITLE_CHARS {
        return Err(TodoError::Invalid(format!(
            "title must be 1-{MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(t.to_owned())
}

fn description(raw: Option<String>) -> Result<String, TodoError> {
    let d = raw.unwrap_or_default();
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(TodoError::Invalid(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(d)
}

/// Normalize an RFC 3339 date-time to UTC with milliseconds.
fn due_date(raw: Option<String>) -> Result<Option<String>, TodoError> {
    let Some(raw) = raw else { return Ok(None) };
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|d| {
            Some(
                d.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
        })
        .map_err(|_| {
            TodoError::Invalid(
                "dueDate must be an RFC 3339 date-time (e.g. 2025-10-01T00:00:00.000Z) or null"
                    .into(),
            )
        })
}

fn not_null<T>(field: &str, v: Option<T>) -> Result<T, TodoError> {
    v.ok_or_else(|| TodoError::Invalid(format!("{field} cannot be null")))
}

impl TodoService {
    /// A service over `store`, publishing through `publisher`, serializing
    /// each owner's changes with `locks`.
    pub fn new(
        store: Arc<dyn TodoStore>,
        publisher: Arc<dyn Publisher>,
        locks: Arc<dyn Locks>,
    ) -> Self {
        Self {
            store,
            publisher,
            locks,
        }
    }

    fn lock_key(owner: &UserId) -> String {
        format!("todos:{owner}")
    }

    async fn publish(&self, owner: &UserId, event: AppEvent) {
        self.publisher
            .to_users(std::slice::from_ref(owner), &event)
            .await;
    }

    /// The owner's todos, newest first.
    pub async fn list(&self, owner: &UserId) -> Result<Vec<Todo>, TodoError> {
        Ok(self.store.list_todos(owner).await?)
    }

    /// One of the owner's todos.
    pub async fn get(&self, owner: &UserId, id: &TodoId) -> Result<Todo, TodoError> {
        self.store.todo(owner, id).await?.ok_or(TodoError::NotFound)
    }

    /// Create a todo; emits `todo:created` to the owner.
    pub async fn create(&self, owner: &UserId, new: NewTodo) -> Result<Todo, TodoError> {
        let at = now();
        let todo = Todo {
            id: TodoId::new(uuid::Uuid::new_v4().to_string()),
            title: title(&new.title)?,
            description: description(new.description)?,
            completed: false,
            priority: new.priority.unwrap_or_default(),
            due_date: due_date(new.due_date)?,
            user_id: owner.clone(),
            created_at: at.clone(),
            updated_at: at,
        };
        let _turn = self.locks.lock(&Self::lock_key(owner)).await?;
        match self.store.insert_todo(&todo).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(TodoError::UnknownUser),
            Err(e) => return Err(e.into()),
        }
        self.publish(owner, AppEvent::TodoCreated(todo.clone()))
            .await;
        Ok(todo)
    }

    /// Apply `patch`; emits `todo:updated`, then `todo:completed` when
    /// `completed` went from false to true.
    pub async fn update(
        &self,
        owner: &UserId,
        id: &TodoId,
        patch: TodoPatch,
    ) -> Result<Todo, TodoError> {
        // Validate everything before touching anything.
        let new_title = patch
            .title
            .given()
            .map(|t| not_null("title", t).and_then(|t| title(&t)))
            .transpose()?;
        let new_description = patch.description.given().map(description).transpose()?;
        let new_completed = patch
            .completed
            .given()
            .map(|c| not_null("completed", c))
            .transpose()?;
        let new_priority = patch
            .priority
            .given()
            .map(|p| not_null("priority", p))
            .transpose()?;
        let new_due = patch.due_date.given().map(due_date).transpose()?;

        let _turn = self.locks.lock(&Self::lock_key(owner)).await?;
        let mut todo = self.get(owner, id).await?;
        let was_completed = todo.completed;
        if let Some(t) = new_title {
            todo.title = t;
        }
        if let Some(d) = new_description {
            todo.description = d;
        }
        if let Some(c) = new_completed {
            todo.completed = c;
        }
        if let Some(p) = new_priority {
            todo.priority = p;
        }
        if let Some(d) = new_due {
            todo.due_date = d;
        }
        todo.updated_at = now();
        self.store.update_todo(&todo).await?;
        self.publish(owner, AppEvent::TodoUpdated(todo.clone()))
            .await;
        if todo.completed && !was_completed {
            self.publish(owner, AppEvent::TodoCompleted(todo.clone()))
                .await;
        }
        Ok(todo)
    }

    /// Delete a todo; emits `todo:deleted {id}` to the owner.
    pub async fn delete(&self, owner: &UserId, id: &TodoId) -> Result<(), TodoError> {
        let _turn = self.locks.lock(&Self::lock_key(owner)).await?;
        self.store.delete_todo(owner, id).await?;
        self.publish(owner, AppEvent::TodoDeleted(TodoDeleted { id: id.clone() }))
            .await;
        Ok(())
    }
}
