-- callwire store, schema version 4 (PostgreSQL): DTMF configurations and
-- triggers.
--
-- Same as ../sqlite/0004_dtmf.sql. A configuration holds named DTMF
-- sequences (JSON text); a trigger binds a configuration to an account. A
-- call on the account that receives one of the sequences emits an event with
-- its name.

CREATE TABLE dtmf_configurations (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    sequences  TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE dtmf_triggers (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    configuration_id TEXT COLLATE "C" NOT NULL,
    account_id       TEXT COLLATE "C" NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL
);
