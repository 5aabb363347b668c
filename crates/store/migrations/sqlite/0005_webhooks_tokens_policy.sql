-- callwire store, schema version 5: webhooks, API tokens, account call policy.
--
-- A webhook delivers the event log from its own cursor (`delivered_seq`, the
-- last seq it finished with), so order and at-least-once delivery survive a
-- crash. Deliveries that exhausted their retries are parked in
-- `webhook_deliveries` until redelivered or deleted with the webhook.
-- API tokens are stored as SHA-256 hashes of the token, never the token.
-- An account's call policy is JSON text the engine reads.

ALTER TABLE accounts ADD COLUMN policy TEXT;

CREATE TABLE webhooks (
    id            TEXT    NOT NULL PRIMARY KEY,
    url           TEXT    NOT NULL,
    types         TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL,
    description   TEXT,
    delivered_seq BIGINT  NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           TEXT    NOT NULL PRIMARY KEY,
    webhook_id   TEXT    NOT NULL,
    event_seq    BIGINT  NOT NULL,
    event_id     TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, event_seq);

CREATE TABLE api_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
