-- Todos, owner-scoped. `seq` breaks ties in "newest first" (SQLite uses
-- its rowid for that).
CREATE TABLE IF NOT EXISTS todos (
    seq         BIGSERIAL UNIQUE,
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    completed   BOOLEAN NOT NULL DEFAULT FALSE,
    priority    TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
    due_date    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_todos_user_created ON todos (user_id, created_at, seq);

-- Chats. `activity` comes from a sequence bumped when the chat is created
-- and on every message, so "most recent activity first" has no ties, also
-- with several nodes writing at once.
CREATE SEQUENCE IF NOT EXISTS chat_activity;
CREATE TABLE IF NOT EXISTS chats (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT,
    created_by       TEXT NOT NULL REFERENCES users(id),
    created_at       TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    activity         BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_chats_activity ON chats (activity);

CREATE TABLE IF NOT EXISTS chat_participants (
    chat_id      TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    unread_count BIGINT NOT NULL DEFAULT 0,
    joined_at    TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX IF NOT EXISTS idx_chat_participants_user ON chat_participants (user_id, chat_id);

-- Messages. `seq` is the storage order and pages history (`before`).
CREATE TABLE IF NOT EXISTS messages (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    sender_id  TEXT NOT NULL REFERENCES users(id),
    text       TEXT NOT NULL,
    type       TEXT NOT NULL DEFAULT 'text',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_messages_chat_seq ON messages (chat_id, seq);
