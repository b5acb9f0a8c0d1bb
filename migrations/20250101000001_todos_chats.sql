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
-- A user's todos, newest first.
CREATE INDEX IF NOT EXISTS idx_todos_user_created ON todos (user_id, created_at DESC);

-- Chats and their participants.
CREATE TABLE IF NOT EXISTS chats (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT,
    created_by       TEXT NOT NULL REFERENCES users(id),
    created_at       TEXT NOT NULL,
    last_activity_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS chat_participants (
    chat_id      TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    unread_count INTEGER NOT NULL DEFAULT 0,
    joined_at    TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
-- A user's chats (joined with chats.last_activity_at for ordering).
CREATE INDEX IF NOT EXISTS idx_chat_participants_user ON chat_participants (user_id, chat_id);
CREATE INDEX IF NOT EXISTS idx_chats_activity ON chats (last_activity_at DESC);

-- Messages; `seq` gives a strict per-database order for paging.
CREATE TABLE IF NOT EXISTS messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    sender_id  TEXT NOT NULL REFERENCES users(id),
    text       TEXT NOT NULL,
    type       TEXT NOT NULL DEFAULT 'text',
    created_at TEXT NOT NULL
);
-- A chat's messages by time.
CREATE INDEX IF NOT EXISTS idx_messages_chat_seq ON messages (chat_id, seq);
