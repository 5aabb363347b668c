-- callwire store, schema version 1.
--
-- Kept to portable SQL (SQLite and PostgreSQL): no AUTOINCREMENT, no
-- backend-specific types. Timestamps are TEXT in fixed-width RFC 3339 UTC
-- with microseconds ("2024-05-01T12:00:00.000000Z"), so string order is
-- time order on every backend. Booleans are BOOLEAN (INTEGER 0/1 in SQLite).
-- Seeds nothing: the engine creates the "default" account itself.

CREATE TABLE accounts (
    id                  TEXT    NOT NULL PRIMARY KEY,
    display_name        TEXT,
    sip_user            TEXT    NOT NULL,
    domain              TEXT    NOT NULL,
    registrar           TEXT,
    secondary_registrar TEXT,
    outbound_proxy      TEXT,
    auth_user           TEXT,
    password            TEXT,
    transport           TEXT    NOT NULL,
    expires             BIGINT  NOT NULL DEFAULT 3600,
    auto_answer         BOOLEAN NOT NULL DEFAULT FALSE,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    max_calls           BIGINT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);

CREATE TABLE call_records (
    id          TEXT   NOT NULL PRIMARY KEY,
    account     TEXT   NOT NULL,
    direction   TEXT   NOT NULL,
    from_uri    TEXT   NOT NULL,
    to_uri      TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    sip_status  BIGINT,
    sip_reason  TEXT,
    call_id     TEXT,
    created_at  TEXT   NOT NULL,
    answered_at TEXT,
    ended_at    TEXT
);

-- Listing and pruning walk records newest first.
CREATE INDEX call_records_created_at ON call_records (created_at, id);

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
