-- Webhook deliveries waiting for their receiver: one row per event and
-- receiver, delivered in `seq` order within (url, ordering_key).
CREATE TABLE IF NOT EXISTS webhook_outbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT   NOT NULL,
    url          TEXT   NOT NULL,
    ordering_key TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    created_ms   BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_ms      BIGINT NOT NULL,
    UNIQUE (id, url)
);
CREATE INDEX IF NOT EXISTS webhook_outbox_key ON webhook_outbox (url, ordering_key, seq);
