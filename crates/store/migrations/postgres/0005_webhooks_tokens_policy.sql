-- callwire store, schema version 5 (PostgreSQL): webhooks, API tokens,
-- account call policy.
--
-- Same as ../sqlite/0005_webhooks_tokens_policy.sql, with the conventions of
-- 0001: text columns in the "C" collation, integers BIGINT (SQLite's INTEGER
-- is 64-bit; the store reads every integer as i64).
--
-- A webhook delivers the event log from its own cursor (`delivered_seq`, the
-- last seq it finished with), so order and at-least-once delivery survive a
-- crash. Deliveries that exhausted their retries are parked in
-- `webhook_deliveries` until redelivered or deleted with the webhook.
-- API tokens are stored as SHA-256 hashes of the token, never the token.
-- An account's call policy is JSON text the engine reads.

ALTER TABLE accounts ADD COLUMN policy TEXT COLLATE "C";

CREATE TABLE webhooks (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    url           TEXT COLLATE "C" NOT NULL,
    types         TEXT COLLATE "C" NOT NULL,
    secret        TEXT COLLATE "C" NOT NULL,
    enabled       BOOLEAN NOT NULL,
    description   TEXT COLLATE "C",
    delivered_seq BIGINT  NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    webhook_id   TEXT COLLATE "C" NOT NULL,
    event_seq    BIGINT NOT NULL,
    event_id     TEXT COLLATE "C" NOT NULL,
    event_type   TEXT COLLATE "C" NOT NULL,
    payload      TEXT COLLATE "C" NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,
    attempts     BIGINT NOT NULL,
    last_status  BIGINT,
    last_error   TEXT COLLATE "C",
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL
);

CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, event_seq);

CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    scopes       TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL
);
