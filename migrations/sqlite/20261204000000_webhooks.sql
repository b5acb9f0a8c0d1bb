-- Webhook deliveries waiting for their receiver: one row per event and
-- receiver, delivered in `seq` order within (url, ordering_key).
CREATE TABLE webhook_outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    ordering_key TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_ms      INTEGER NOT NULL,
    UNIQUE (id, url)
);
CREATE INDEX webhook_outbox_key ON webhook_outbox (url, ordering_key, seq);
