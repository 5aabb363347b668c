-- callwire store, schema version 4: DTMF configurations and triggers.
--
-- A configuration holds named DTMF sequences (JSON text); a trigger binds a
-- configuration to an account. A call on the account that receives one of
-- the sequences emits an event with its name.

CREATE TABLE dtmf_configurations (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    sequences  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE dtmf_triggers (
    id               TEXT NOT NULL PRIMARY KEY,
    configuration_id TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
