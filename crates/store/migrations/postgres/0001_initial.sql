-- callwire store, schema version 1 (PostgreSQL).
--
-- The same logical schema as ../sqlite/0001_initial.sql, so one set of
-- queries serves both backends. Every text column uses the "C" collation:
-- ids and the fixed-width RFC 3339 timestamps ("2024-05-01T12:00:00.000000Z")
-- then sort and compare byte by byte, exactly as in SQLite, whatever locale
-- the database was created with. Integers are BIGINT (Rust i64), booleans
-- BOOLEAN. Seeds nothing: the engine creates the "default" account itself.

CREATE TABLE accounts (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    display_name        TEXT COLLATE "C",
    sip_user            TEXT COLLATE "C" NOT NULL,
    domain              TEXT COLLATE "C" NOT NULL,
    registrar           TEXT COLLATE "C",
    secondary_registrar TEXT COLLATE "C",
    outbound_proxy      TEXT COLLATE "C",
    auth_user           TEXT COLLATE "C",
    password            TEXT COLLATE "C",
    transport           TEXT COLLATE "C" NOT NULL,
    expires             BIGINT  NOT NULL DEFAULT 3600,
    auto_answer         BOOLEAN NOT NULL DEFAULT FALSE,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    max_calls           BIGINT,
    created_at          TEXT COLLATE "C" NOT NULL,
    updated_at          TEXT COLLATE "C" NOT NULL
);

CREATE TABLE call_records (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account     TEXT COLLATE "C" NOT NULL,
    direction   TEXT COLLATE "C" NOT NULL,
    from_uri    TEXT COLLATE "C" NOT NULL,
    to_uri      TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL,
    sip_status  BIGINT,
    sip_reason  TEXT COLLATE "C",
    call_id     TEXT COLLATE "C",
    created_at  TEXT COLLATE "C" NOT NULL,
    answered_at TEXT COLLATE "C",
    ended_at    TEXT COLLATE "C"
);

-- Listing and pruning walk records newest first.
CREATE INDEX call_records_created_at ON call_records (created_at, id);

CREATE TABLE meta (
    key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
