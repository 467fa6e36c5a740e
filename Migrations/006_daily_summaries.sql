-- kmsindex schema, version 6: daily summaries, so that listings and totals read thousands of
-- rows instead of every event.
--
-- * activity_daily: events counted per UTC day and every column the query filters and groups
--   by (account, region, key, key as requested, operation, error code, caller, trail, whether
--   they deliver a log file and, for deliveries, the account and region the file logs, from its
--   name). Absent ids are 0 and absent texts '' so that a row is found again
--   by its primary key when more events of the same kind arrive.
-- * object_daily: events that name an S3 location, per day, location and the same filter
--   columns, with writes and reads counted.
-- * summary_state: the highest events.id counted. The writer adds the events above it in the
--   transaction that inserts them; prune and merge recount the days they change.
-- Days are whole UTC days since 1970-01-01 (floor of event_time / 86,400,000).
-- No secondary index: on a WITHOUT ROWID table each would repeat the whole primary key, as
-- large as the table; a listing reads the summaries whole, a fraction of the events.

CREATE TABLE activity_daily (
    day                   INTEGER NOT NULL,
    recipient_account_sid INTEGER NOT NULL,
    region_sid            INTEGER NOT NULL,
    key_id                INTEGER NOT NULL,
    requested_key_sid     INTEGER NOT NULL,
    event_name_sid        INTEGER NOT NULL,
    error_code_sid        INTEGER NOT NULL,
    principal_id          INTEGER NOT NULL,
    trail_id              INTEGER NOT NULL,
    delivered             INTEGER NOT NULL,      -- 1: log-file deliveries (GenerateDataKey naming a trail and an object)
    log_account           TEXT NOT NULL,         -- deliveries: the account the log file logs
    log_region            TEXT NOT NULL,         -- deliveries: the region the log file logs
    events                INTEGER NOT NULL,
    first_time            INTEGER NOT NULL,      -- milliseconds, as events.event_time
    last_time             INTEGER NOT NULL,
    PRIMARY KEY (day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid,
                 error_code_sid, principal_id, trail_id, delivered, log_account, log_region)
) WITHOUT ROWID;

CREATE TABLE object_daily (
    object_id             INTEGER NOT NULL,
    day                   INTEGER NOT NULL,
    recipient_account_sid INTEGER NOT NULL,
    region_sid            INTEGER NOT NULL,
    key_id                INTEGER NOT NULL,
    requested_key_sid     INTEGER NOT NULL,
    trail_id              INTEGER NOT NULL,
    failed                INTEGER NOT NULL,      -- 1: these events failed (an error code)
    events                INTEGER NOT NULL,
    writes                INTEGER NOT NULL,      -- GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt
    reads                 INTEGER NOT NULL,      -- Decrypt
    first_time            INTEGER NOT NULL,
    last_time             INTEGER NOT NULL,
    PRIMARY KEY (object_id, day, recipient_account_sid, region_sid, key_id, requested_key_sid, trail_id, failed)
) WITHOUT ROWID;

CREATE TABLE summary_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL
);

-- cloudtrail_log_account(key) and cloudtrail_log_region(key) are functions kmsindex adds to its
-- connections: the account and region in a log file's name, NULL when the name has none.
INSERT INTO activity_daily
SELECT day, account, region, key, requested, name, error, principal, trail, delivered,
       CASE WHEN delivered THEN coalesce(cloudtrail_log_account(file), (SELECT text FROM strings WHERE id = account), '')
            ELSE '' END,
       CASE WHEN delivered THEN coalesce(cloudtrail_log_region(file), (SELECT text FROM strings WHERE id = region), '')
            ELSE '' END,
       count(*), min(event_time), max(event_time)
FROM (
    SELECT e.event_time / 86400000 - (e.event_time % 86400000 < 0) AS day,
           coalesce(e.recipient_account_sid, 0) AS account, coalesce(e.region_sid, 0) AS region,
           coalesce(e.key_id, 0) AS key, coalesce(e.requested_key_sid, 0) AS requested,
           e.event_name_sid AS name, coalesce(e.error_code_sid, 0) AS error,
           coalesce(e.principal_id, 0) AS principal, coalesce(e.trail_id, 0) AS trail,
           e.event_time,
           coalesce(e.trail_id IS NOT NULL AND o.kind = 'object'
                    AND e.event_name_sid = (SELECT id FROM strings WHERE text = 'GenerateDataKey'), 0) AS delivered,
           o.key AS file
    FROM events e LEFT JOIN s3_objects o ON o.id = e.object_id
    WHERE 1
)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

INSERT INTO object_daily
SELECT e.object_id, e.event_time / 86400000 - (e.event_time % 86400000 < 0),
       coalesce(e.recipient_account_sid, 0), coalesce(e.region_sid, 0), coalesce(e.key_id, 0),
       coalesce(e.requested_key_sid, 0), coalesce(e.trail_id, 0), e.error_code_sid IS NOT NULL,
       count(*),
       count(CASE WHEN e.event_name_sid IN (SELECT id FROM strings WHERE text IN
             ('GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'Encrypt')) THEN 1 END),
       count(CASE WHEN e.event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt') THEN 1 END),
       min(e.event_time), max(e.event_time)
FROM events e WHERE e.object_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO summary_state (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM events;

-- Lifecycle calls of a key (key management, anything not read-only) are few among its events.
CREATE INDEX events_key_changes ON events(key_id) WHERE read_only IS NOT 1;
