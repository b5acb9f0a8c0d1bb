//! Bodies of the REST API, and the two error shapes (HTTP and socket).

use serde::{Deserialize, Deserializer, Serialize};
use ts_rs::TS;

use super::models::{Priority, UserSummary};

/// Body of `POST /auth/register`.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
pub struct RegisterBody {
    /// E-mail address.
    pub email: String,
    /// 3-32 characters.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
}

/// Body of `POST /auth/login`.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
pub struct LoginBody {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Answer of register and login.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    /// The JWT (also set as the `access_token` cookie).
    pub access_token: String,
    /// The user.
    pub user: UserSummary,
}

/// Answer of `GET /auth/me`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct MeResponse {
    /// The caller.
    pub user: UserSummary,
}

/// Body of `POST /todos`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "CreateTodo")]
pub struct NewTodo {
    /// Required, 1-200 characters after trimming.
    pub title: String,
    /// Optional, up to 2000 characters.
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
    /// Optional, defaults to `medium`.
    #[serde(default)]
    #[ts(optional)]
    pub priority: Option<Priority>,
    /// RFC 3339 date-time.
    #[serde(default)]
    #[ts(optional)]
    pub due_date: Option<String>,
}

/// Body of `PATCH /todos/:id`: absent fields stay as they are; `dueDate:
/// null` clears the due date.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "UpdateTodo")]
pub struct TodoPatch {
    /// New title.
    #[serde(default)]
    #[ts(optional, as = "Option<String>")]
    pub title: Field<String>,
    /// New description (null clears it).
    #[serde(default)]
    #[ts(optional, as = "Option<String>")]
    pub description: Field<String>,
    /// New completion state.
    #[serde(default)]
    #[ts(optional, as = "Option<bool>")]
    pub completed: Field<bool>,
    /// New priority.
    #[serde(default)]
    #[ts(optional, as = "Option<Priority>")]
    pub priority: Field<Priority>,
    /// New due date (null clears it).
    #[serde(default)]
    #[ts(optional = nullable, as = "Option<String>")]
    pub due_date: Field<String>,
}

/// A field of a partial update: absent (keep), `null`, or a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not in the body: leave it as it is.
    #[default]
    Absent,
    /// Given as `null`.
    Null,
    /// Given a value.
    Value(T),
}

impl<T> Field<T> {
    /// `None` when absent, `Some(None)` for `null`, `Some(Some(v))` for a value.
    pub fn given(self) -> Option<Option<T>> {
        match self {
            Field::Absent => None,
            Field::Null => Some(None),
            Field::Value(v) => Some(Some(v)),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Called only for a present field (absent ones take the default).
        Ok(match Option::<T>::deserialize(d)? {
            None => Field::Null,
            Some(v) => Field::Value(v),
        })
    }
}

/// Body of `POST /chats`.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CreateChat {
    /// The other participants (the creator is always one).
    pub participant_ids: Vec<String>,
    /// Optional name.
    #[serde(default)]
    #[ts(optional)]
    pub name: Option<String>,
}

/// One `RTCIceServer` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS)]
pub struct IceServer {
    /// STUN/TURN URLs.
    pub urls: Vec<String>,
    /// TURN username.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    /// TURN credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

/// Answer of `GET /ice-servers` and of the `ice-servers` event.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "IceServersResponse")]
pub struct IceServers {
    /// Entries for `RTCPeerConnection({iceServers})`.
    pub ice_servers: Vec<IceServer>,
    /// Seconds the TURN credentials stay valid.
    #[ts(type = "number")]
    pub ttl: u64,
}

/// Every HTTP error body: `{error, message}`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(rename = "ApiErrorBody")]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: String,
    /// Human-readable detail.
    pub message: String,
}

/// The `error` event a socket gets for a failed event sent without an ack.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ErrorEvent")]
pub struct ErrorEvent {
    /// Machine-readable code (`invalid_payload`, `peer_not_in_room`, ...).
    pub error: String,
    /// Human-readable detail.
    pub message: String,
    /// With `rate_limited`: milliseconds until an event would pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub retry_after_ms: Option<u64>,
}
