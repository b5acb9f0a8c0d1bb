-- Todos, owner-scoped.
CREATE TABLE IF NOT EXISTS todos (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    completed   INTEGER NOT NULL DEFAULT 0,
    priority    TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
    due_date    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
-- A user's todos, newest first: `WHERE user_id = ? ORDER BY created_at DESC, rowid DESC`
-- walks this index backwards (the rowid is its implicit last column).
CREATE INDEX IF NOT EXISTS idx_todos_user_created ON todos (user_id, created_at);

-- Chats. `activity` is a database-wide counter bumped when the chat is
-- created and on every message, so "most recent activity first" has no ties
-- even within one millisecond; `last_activity_at` is the matching time.
CREATE TABLE IF NOT EXISTS chats (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT,
    created_by       TEXT NOT NULL REFERENCES users(id),
    created_at       TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    activity         INTEGER NOT NULL
);
-- Next counter value: MAX(activity) is one index probe.
CREATE INDEX IF NOT EXISTS idx_chats_activity ON chats (activity);

CREATE TABLE IF NOT EXISTS chat_participants (
    chat_id      TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    unread_count INTEGER NOT NULL DEFAULT 0,
    joined_at    TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
-- A user's chats (then sorted by chats.activity; a user has few chats) and the
-- users sharing a chat with someone (presence). The primary key serves a
-- chat's participants.
CREATE INDEX IF NOT EXISTS idx_chat_participants_user ON chat_participants (user_id, chat_id);

-- Messages. `seq` is the storage order: per chat it is the order in which
-- messages were stored and published, and it pages history (`before`).
CREATE TABLE IF NOT EXISTS messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    sender_id  TEXT NOT NULL REFERENCES users(id),
    text       TEXT NOT NULL,
    type       TEXT NOT NULL DEFAULT 'text',
    created_at TEXT NOT NULL
);
-- A chat's messages in order (history pages, the last message of a chat).
CREATE INDEX IF NOT EXISTS idx_messages_chat_seq ON messages (chat_id, seq);
