-- callwire store, schema version 2 (PostgreSQL): media.
--
-- Same as ../sqlite/0002_media.sql. Accounts get their codec priority list
-- and DTMF send method; call records keep the codec and the media statistics
-- (JSON text the engine writes); and recordings are listed here while their
-- WAV files live in the data directory.

ALTER TABLE accounts ADD COLUMN codecs TEXT COLLATE "C";
ALTER TABLE accounts ADD COLUMN dtmf_mode TEXT COLLATE "C";

ALTER TABLE call_records ADD COLUMN codec TEXT COLLATE "C";
ALTER TABLE call_records ADD COLUMN media_stats TEXT COLLATE "C";

CREATE TABLE recordings (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    call_id     TEXT COLLATE "C" NOT NULL,
    account     TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    mode        TEXT COLLATE "C" NOT NULL,
    file        TEXT COLLATE "C" NOT NULL,
    sample_rate BIGINT NOT NULL,
    channels    BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    started_at  TEXT COLLATE "C" NOT NULL,
    ended_at    TEXT COLLATE "C"
);

-- Listing walks recordings newest first, optionally for one call.
CREATE INDEX recordings_started_at ON recordings (started_at, id);
CREATE INDEX recordings_call_id ON recordings (call_id);
