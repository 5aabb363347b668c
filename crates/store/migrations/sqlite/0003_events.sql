-- callwire store, schema version 3: the event log.
--
-- One ordered stream per node: `seq` is assigned by the engine, strictly
-- increasing; `data` is the affected object's full view as JSON text. Events
-- are pruned by count and age (the engine's retention settings).

CREATE TABLE events (
    seq     BIGINT NOT NULL PRIMARY KEY,
    id      TEXT   NOT NULL,
    type    TEXT   NOT NULL,
    at      TEXT   NOT NULL,
    account TEXT,
    call_id TEXT,
    data    TEXT   NOT NULL
);

CREATE INDEX events_at ON events (at);
