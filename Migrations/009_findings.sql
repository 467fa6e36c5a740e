-- kmsindex schema, version 9: what `kmsindex findings` needs.
--
-- * event_grantees: CreateGrant's granteePrincipal, which events do not hold: a grant to a
--   principal of another account than the key's is a finding. Kept by ingest, merge and prune
--   like event_context; events indexed before this migration have none.
--
-- The tables below keep what `findings` remembers between its runs. None of it is derived
-- from events, and merge copies none of it: it describes this index's own reports, not the logs.
--
-- * findings_state: the watermark, the highest events.id a run without --since has reported
--   on. It starts at the events already indexed when this migration runs, so the first run
--   after an upgrade reports what the next ingest adds, not all of history; a new index starts
--   at 0 and its first run reports everything.
-- * findings_reported: the id of every finding reported, so that a finding met again in a later
--   window (a delivery gap that lasts two nights, a digest file still unaccounted) is printed once.
-- * findings_silenced: findings not to report, by kind and optionally principal and subject
--   ('' matches any).

CREATE TABLE event_grantees (
    event_id INTEGER PRIMARY KEY,                -- events.id
    grantee  TEXT NOT NULL
);

CREATE TABLE findings_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL,
    reported_at   TEXT
);

CREATE TABLE findings_reported (
    finding_id  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    reported_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE findings_silenced (
    kind      TEXT NOT NULL,
    principal TEXT NOT NULL DEFAULT '',
    subject   TEXT NOT NULL DEFAULT '',
    added_at  TEXT NOT NULL,
    PRIMARY KEY (kind, principal, subject)
) WITHOUT ROWID;

INSERT INTO findings_state (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM events;
