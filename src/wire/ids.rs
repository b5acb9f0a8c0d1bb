//! Id newtypes. Every id on the wire is a string (UUIDs for stored records,
//! socket ids for peers); wrapping them keeps a chat id from being passed
//! where a user id is expected. They serialize as plain strings.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        // A newtype struct serializes as its string.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            /// Wrap an id (no validation: unknown ids are simply not found).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The owned string.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A user (`sub` of the token).
    UserId
);
string_id!(
    /// A chat.
    ChatId
);
string_id!(
    /// A todo.
    TodoId
);
string_id!(
    /// A chat message.
    MessageId
);
string_id!(
    /// A peer in `/webrtc`: its socket id there.
    PeerId
);
string_id!(
    /// A call invitation (a UUID); its signalling room is `call:<id>`.
    CallId
);

/// A signalling room name: 1-128 characters of `[A-Za-z0-9_.:-]`, checked
/// once when parsed ([`RoomId::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, TS)]
#[ts(type = "string")]
pub struct RoomId(String);

impl<'de> Deserialize<'de> for RoomId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A room name outside `[A-Za-z0-9_.:-]{1,128}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("roomId must be 1-128 characters of [A-Za-z0-9_.:-]")]
pub struct InvalidRoomId;

impl RoomId {
    /// Longest room name.
    pub const MAX_LEN: usize = 128;

    /// Check and wrap a room name.
    pub fn parse(raw: &str) -> Result<Self, InvalidRoomId> {
        let ok = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidRoomId)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The room of a call: `call:<callId>`.
    pub fn of_call(call: &CallId) -> Self {
        Self(format!("call:{call}"))
    }

    /// The call this room belongs to, for rooms named `call:<callId>`.
    pub fn call(&self) -> Option<CallId> {
        self.0.strip_prefix("call:").map(CallId::from)
    }

    /// The chat this room belongs to, for rooms named `chat:<chatId>`.
    pub fn chat(&self) -> Option<ChatId> {
        self.0.strip_prefix("chat:").map(ChatId::from)
    }
}

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids() {
        assert!(RoomId::parse("chat:1234-abcd").is_ok());
        assert!(RoomId::parse("a.b_c").is_ok());
        assert_eq!(RoomId::parse(""), Err(InvalidRoomId));
        assert_eq!(RoomId::parse("has space"), Err(InvalidRoomId));
        assert_eq!(RoomId::parse(&"x".repeat(129)), Err(InvalidRoomId));
        assert_eq!(
            RoomId::parse("chat:c1").ok().and_then(|r| r.chat()),
            Some(ChatId::from("c1"))
        );
    }

    #[test]
    fn ids_serialize_as_strings() {
        let id = UserId::from("u1");
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("\"u1\""));
    }
}
