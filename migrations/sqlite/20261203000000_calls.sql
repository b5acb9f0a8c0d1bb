-- The call log. `seq` is the order calls started in: it sorts the log
-- (most recent first) and pages it (`before`).
CREATE TABLE IF NOT EXISTS calls (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    caller_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('audio', 'video')),
    started_at  TEXT NOT NULL,
    answered_at TEXT,
    ended_at    TEXT,
    duration_ms INTEGER,
    outcome     TEXT NOT NULL
        CHECK (outcome IN ('answered', 'missed', 'declined', 'cancelled', 'busy'))
);
CREATE INDEX IF NOT EXISTS idx_calls_caller ON calls (caller_id, seq);

CREATE TABLE IF NOT EXISTS call_invitees (
    call_seq INTEGER NOT NULL REFERENCES calls(seq) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    outcome  TEXT NOT NULL
        CHECK (outcome IN ('answered', 'missed', 'declined', 'cancelled', 'busy')),
    PRIMARY KEY (call_seq, user_id)
);
-- The calls a user was invited to.
CREATE INDEX IF NOT EXISTS idx_call_invitees_user ON call_invitees (user_id, call_seq);
