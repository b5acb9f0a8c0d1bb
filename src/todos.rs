//! Todo service: owner-scoped CRUD with validation. Every change is
//! published to every socket of the owner (room `user-<id>` on `/`) and to
//! no one else. Changes of one owner are serialized, so events reach the
//! owner's sockets in the order the changes were stored.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::locks::KeyedLocks;
use crate::notifier::Notifier;
use crate::realtime::events;
use crate::store::{Db, StoreError, Todo, now};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// Todo priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// low
    Low,
    /// medium (default)
    #[default]
    Medium,
    /// high
    High,
}

impl Priority {
    /// Stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

/// Body of `POST /todos`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTodo {
    /// Required, 1-200 characters after trimming.
    pub title: String,
    /// Optional, up to 2000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Optional, defaults to `medium`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// RFC 3339 date-time or null.
    #[serde(default)]
    pub due_date: Option<String>,
}

/// Body of `PATCH /todos/:id`: absent fields stay as they are; `dueDate:
/// null` clears the due date.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TodoPatch {
    /// New title.
    #[serde(default, deserialize_with = "present")]
    pub title: Option<Option<String>>,
    /// New description (null clears it).
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    /// New completion state.
    #[serde(default, deserialize_with = "present")]
    pub completed: Option<Option<bool>>,
    /// New priority.
    #[serde(default, deserialize_with = "present")]
    pub priority: Option<Option<Priority>>,
    /// New due date (null clears it).
    #[serde(default, deserialize_with = "present")]
    pub due_date: Option<Option<String>>,
}

/// Distinguishes a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

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
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for TodoError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => TodoError::NotFound,
            other => TodoError::Store(other),
        }
    }
}

/// Owner-scoped todos that publish their changes.
#[derive(Clone, Debug)]
pub struct TodoService {
    db: Db,
    notifier: Notifier,
    locks: Arc<KeyedLocks>,
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
    /// A service over `db` publishing through `notifier`.
    pub fn new(db: Db, notifier: Notifier) -> Self {
        Self {
            db,
            notifier,
            locks: Arc::new(KeyedLocks::new()),
        }
    }

    /// The owner's todos, newest first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<Todo>, TodoError> {
        Ok(self.db.list_todos(user_id).await?)
    }

    /// One of the owner's todos.
    pub async fn get(&self, user_id: &str, id: &str) -> Result<Todo, TodoError> {
        self.db.todo(user_id, id).await?.ok_or(TodoError::NotFound)
    }

    /// Create a todo; emits `todo:created` to the owner.
    pub async fn create(&self, user_id: &str, new: NewTodo) -> Result<Todo, TodoError> {
        let at = now();
        let todo = Todo {
            id: uuid::Uuid::new_v4().to_string(),
            title: title(&new.title)?,
            description: description(new.description)?,
            completed: false,
            priority: new.priority.unwrap_or_default().as_str().to_owned(),
            due_date: due_date(new.due_date)?,
            user_id: user_id.to_owned(),
            created_at: at.clone(),
            updated_at: at,
        };
        let _turn = self.locks.lock(user_id).await;
        match self.db.insert_todo(&todo).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(TodoError::UnknownUser),
            Err(e) => return Err(e.into()),
        }
        self.notifier
            .to_user(user_id, events::TODO_CREATED, &todo)
            .await;
        Ok(todo)
    }

    /// Apply `patch`; emits `todo:updated`, then `todo:completed` when
    /// `completed` went from false to true.
    pub async fn update(
        &self,
        user_id: &str,
        id: &str,
        patch: TodoPatch,
    ) -> Result<Todo, TodoError> {
        // Validate everything before touching anything.
        let new_title = patch
            .title
            .map(|t| not_null("title", t).and_then(|t| title(&t)))
            .transpose()?;
        let new_description = patch.description.map(description).transpose()?;
        let new_completed = patch
            .completed
            .map(|c| not_null("completed", c))
            .transpose()?;
        let new_priority = patch
            .priority
            .map(|p| not_null("priority", p))
            .transpose()?;
        let new_due = patch.due_date.map(due_date).transpose()?;

        let _turn = self.locks.lock(user_id).await;
        let mut todo = self.get(user_id, id).await?;
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
            todo.priority = p.as_str().to_owned();
        }
        if let Some(d) = new_due {
            todo.due_date = d;
        }
        todo.updated_at = now();
        self.db.update_todo(&todo).await?;
        self.notifier
            .to_user(user_id, events::TODO_UPDATED, &todo)
            .await;
        if todo.completed && !was_completed {
            self.notifier
                .to_user(user_id, events::TODO_COMPLETED, &todo)
                .await;
        }
        Ok(todo)
    }

    /// Delete a todo; emits `todo:deleted {id}` to the owner.
    pub async fn delete(&self, user_id: &str, id: &str) -> Result<(), TodoError> {
        let _turn = self.locks.lock(user_id).await;
        self.db.delete_todo(user_id, id).await?;
        self.notifier
            .to_user(user_id, events::TODO_DELETED, &json!({ "id": id }))
            .await;
        Ok(())
    }
}
