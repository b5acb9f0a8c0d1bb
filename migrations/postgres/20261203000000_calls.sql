-- The call log. `seq` is the order calls started in.
CREATE TABLE IF NOT EXISTS calls (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    caller_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('audio', 'video')),
    started_at  TEXT NOT NULL,
    answered_at TEXT,
    ended_at    TEXT,
    duration_ms BIGINT,
    outcome     TEXT NOT NULL
        CHECK (outcome IN ('answered', 'missed', 'declined', 'cancelled', 'busy'))
);
CREATE INDEX IF NOT EXISTS idx_calls_caller ON calls (caller_id, seq);

CREATE TABLE IF NOT EXISTS call_invitees (
    call_seq BIGINT NOT NULL REFERENCES calls(seq) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    outcome  TEXT NOT NULL
        CHECK (outcome IN ('answered', 'missed', 'declined', 'cancelled', 'busy')),
    PRIMARY KEY (call_seq, user_id)
);
CREATE INDEX IF NOT EXISTS idx_call_invitees_user ON call_invitees (user_id, call_seq);
