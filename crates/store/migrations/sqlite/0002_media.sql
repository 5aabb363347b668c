-- callwire store, schema version 2: media.
--
-- Accounts get their codec priority list and DTMF send method; call records
-- keep the codec and the media statistics (JSON text the engine writes); and
-- recordings are listed here while their WAV files live in the data directory.

ALTER TABLE accounts ADD COLUMN codecs TEXT;
ALTER TABLE accounts ADD COLUMN dtmf_mode TEXT;

ALTER TABLE call_records ADD COLUMN codec TEXT;
ALTER TABLE call_records ADD COLUMN media_stats TEXT;

CREATE TABLE recordings (
    id          TEXT   NOT NULL PRIMARY KEY,
    call_id     TEXT   NOT NULL,
    account     TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    mode        TEXT   NOT NULL,
    file        TEXT   NOT NULL,
    sample_rate BIGINT NOT NULL,
    channels    BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    started_at  TEXT   NOT NULL,
    ended_at    TEXT
);

-- Listing walks recordings newest first, optionally for one call.
CREATE INDEX recordings_started_at ON recordings (started_at, id);
CREATE INDEX recordings_call_id ON recordings (call_id);
