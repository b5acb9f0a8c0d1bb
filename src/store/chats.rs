//! Chats: membership queries (the full chat service builds on these).

use super::{Db, StoreError};

impl Db {
    /// True when `user_id` is a participant of `chat_id`.
    pub async fn is_chat_participant(
        &self,
        chat_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM chat_participants WHERE chat_id = ? AND user_id = ?")
                .bind(chat_id)
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }
}
