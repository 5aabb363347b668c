-- callwire store, schema version 3 (PostgreSQL): the event log.
--
-- Same as ../sqlite/0003_events.sql. One ordered stream per node: `seq` is
-- assigned by the engine, strictly increasing (a plain BIGINT key, no
-- identity or sequence); `data` is the affected object's full view as JSON
-- text. Events are pruned by count and age (the engine's retention settings).

CREATE TABLE events (
    seq     BIGINT NOT NULL PRIMARY KEY,
    id      TEXT COLLATE "C" NOT NULL,
    type    TEXT COLLATE "C" NOT NULL,
    at      TEXT COLLATE "C" NOT NULL,
    account TEXT COLLATE "C",
    call_id TEXT COLLATE "C",
    data    TEXT COLLATE "C" NOT NULL
);

CREATE INDEX events_at ON events (at);
