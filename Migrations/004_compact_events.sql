-- kmsindex schema, version 4: compact events (about a third of the bytes per event).
--
-- * events.event_time is an integer: milliseconds since 1970-01-01 UTC. It sorts fractional
--   seconds correctly and takes 6 bytes instead of 20 in the row and in every index.
-- * Short strings that repeat (operation names, regions, account ids, event types, error codes,
--   keys as requested) are stored once in `strings`; events columns ending in `_sid` name them.
-- * An IPv4 source address is stored as an integer; anything else (IPv6, a service name) as text.
-- * eventIDs live in `event_uids`, keyed by (event_time, event_uid): one B-tree both finds
--   duplicates and orders events in time.
-- * S3 locations are (bucket, key) with buckets stored once; the object ARN is rebuilt.
-- * Context values are stored once in `context_values`; finding the events of one value scans
--   event_context (no index on value: it cost as much as the pairs themselves).
-- The readable views keep their names and columns; kms_events gains event_time_ms, and
-- s3_locations shows S3 locations as the old s3_objects table did.
-- Existing rows are converted in place.

DROP VIEW encryption_context;
DROP VIEW object_reads;
DROP VIEW kms_events;

CREATE TABLE strings (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
INSERT INTO strings (text)
SELECT v FROM (
    SELECT event_name AS v FROM events UNION SELECT aws_region FROM events
    UNION SELECT recipient_account_id FROM events UNION SELECT requested_key FROM events
    UNION SELECT error_code FROM events UNION SELECT event_type FROM events)
WHERE v IS NOT NULL;

-- Buckets named by aws:s3:arn, by their ARN (which carries the partition).
CREATE TABLE s3_buckets (
    id   INTEGER PRIMARY KEY,
    arn  TEXT NOT NULL UNIQUE,                   -- 'arn:aws:s3:::NAME'
    name TEXT NOT NULL
);
INSERT INTO s3_buckets (arn, name)
SELECT DISTINCT CASE WHEN kind = 'bucket' THEN arn ELSE substr(arn, 1, length(arn) - length(key) - 1) END, bucket
FROM s3_objects WHERE kind != 'unparsed' ORDER BY 1;

-- arn = bucket ARN || '/' || key; a bucket has no key; an unparsed ARN is kept whole in key.
-- key_hash is key_hash(key), a function kmsindex adds to its connections (32-bit FNV-1a of the
-- UTF-8 bytes, signed): its index finds a key in one step, whatever keys have in common.
CREATE TABLE s3_objects_v4 (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('object', 'prefix', 'bucket', 'unparsed')),
    bucket_id INTEGER REFERENCES s3_buckets(id),
    key       TEXT,
    key_hash  INTEGER
);
INSERT INTO s3_objects_v4 (id, kind, bucket_id, key, key_hash)
SELECT o.id, o.kind, b.id, k.key, key_hash(k.key)
FROM s3_objects o
JOIN (SELECT id, CASE WHEN kind = 'unparsed' THEN arn ELSE key END AS key FROM s3_objects) k ON k.id = o.id
LEFT JOIN s3_buckets b ON o.kind != 'unparsed'
    AND b.arn = CASE WHEN o.kind = 'bucket' THEN o.arn ELSE substr(o.arn, 1, length(o.arn) - length(o.key) - 1) END
ORDER BY o.id;

CREATE TABLE context_values (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);
INSERT INTO context_values (value) SELECT DISTINCT value FROM event_context ORDER BY value;

CREATE TABLE event_uids (
    event_time INTEGER NOT NULL,                 -- events.event_time
    event_uid  BLOB NOT NULL,                    -- eventID: 16 bytes when a UUID, else its text
    event_id   INTEGER NOT NULL,                 -- events.id
    PRIMARY KEY (event_time, event_uid)
) WITHOUT ROWID;

CREATE TABLE events_v4 (
    id                    INTEGER PRIMARY KEY,
    event_time            INTEGER NOT NULL,      -- milliseconds since 1970-01-01 UTC
    event_name_sid        INTEGER NOT NULL REFERENCES strings(id),
    region_sid            INTEGER REFERENCES strings(id),
    recipient_account_sid INTEGER REFERENCES strings(id),
    key_id                INTEGER REFERENCES kms_keys(id),
    source_key_id         INTEGER REFERENCES kms_keys(id), -- ReEncrypt's source key
    requested_key_sid     INTEGER REFERENCES strings(id),  -- keyId as written, when not the key ARN
    principal_id          INTEGER REFERENCES principals(id),
    object_id             INTEGER REFERENCES s3_objects(id), -- aws:s3:arn of encryptionContext
    trail_id              INTEGER REFERENCES trails(id),     -- aws:cloudtrail:arn of encryptionContext
    source_ip,                                   -- IPv4 as an integer, else text (no type: kept as is)
    user_agent_id         INTEGER REFERENCES user_agents(id),
    error_code_sid        INTEGER REFERENCES strings(id),    -- NULL when the call succeeded
    error_message         TEXT,
    request_uid           BLOB,                  -- requestID, stored like event_uid
    shared_event_uid      BLOB,                  -- sharedEventID, stored like event_uid
    read_only             INTEGER,
    event_type_sid        INTEGER REFERENCES strings(id),
    source_file_id        INTEGER NOT NULL REFERENCES source_files(id)
);

WITH converted AS (
    SELECT e.*, CAST(round((julianday(e.event_time) - 2440587.5) * 86400000.0) AS INTEGER) AS ms,
           substr(e.source_ip, 1, instr(e.source_ip, '.') - 1) AS ip1,
           substr(e.source_ip, instr(e.source_ip, '.') + 1) AS ip_rest1
    FROM events e
), ip2 AS (
    SELECT *, substr(ip_rest1, 1, instr(ip_rest1, '.') - 1) AS ip2,
              substr(ip_rest1, instr(ip_rest1, '.') + 1) AS ip_rest2
    FROM converted
), ip3 AS (
    SELECT *, substr(ip_rest2, 1, instr(ip_rest2, '.') - 1) AS ip3,
              substr(ip_rest2, instr(ip_rest2, '.') + 1) AS ip4
    FROM ip2
), packed AS (
    SELECT *, CAST(ip1 AS INTEGER) * 16777216 + CAST(ip2 AS INTEGER) * 65536
              + CAST(ip3 AS INTEGER) * 256 + CAST(ip4 AS INTEGER) AS ip
    FROM ip3
)
INSERT INTO events_v4 (id, event_time, event_name_sid, region_sid, recipient_account_sid, key_id,
                       source_key_id, requested_key_sid, principal_id, object_id, trail_id, source_ip,
                       user_agent_id, error_code_sid, error_message, request_uid, shared_event_uid,
                       read_only, event_type_sid, source_file_id)
SELECT id, ms,
       (SELECT id FROM strings WHERE text = event_name),
       (SELECT id FROM strings WHERE text = aws_region),
       (SELECT id FROM strings WHERE text = recipient_account_id),
       key_id, source_key_id,
       (SELECT id FROM strings WHERE text = requested_key),
       principal_id, object_id, trail_id,
       -- Packed only when the integer prints back as the same text.
       CASE WHEN ip BETWEEN 0 AND 4294967295
                 AND ((ip >> 24) || '.' || ((ip >> 16) & 255) || '.' || ((ip >> 8) & 255) || '.' || (ip & 255)) = source_ip
            THEN ip ELSE source_ip END,
       user_agent_id,
       (SELECT id FROM strings WHERE text = error_code),
       error_message, request_uid, shared_event_id, read_only,
       (SELECT id FROM strings WHERE text = event_type),
       source_file_id
FROM packed ORDER BY id;

INSERT INTO event_uids (event_time, event_uid, event_id)
SELECT n.event_time, o.event_uid, o.id FROM events o JOIN events_v4 n ON n.id = o.id;

CREATE TABLE event_context_v4 (
    event_id INTEGER NOT NULL REFERENCES events(id),
    scope    INTEGER NOT NULL,
    name_id  INTEGER NOT NULL REFERENCES context_names(id),
    value_id INTEGER NOT NULL REFERENCES context_values(id),
    PRIMARY KEY (event_id, scope, name_id)
) WITHOUT ROWID;
INSERT INTO event_context_v4 (event_id, scope, name_id, value_id)
SELECT c.event_id, c.scope, c.name_id, v.id FROM event_context c JOIN context_values v ON v.value = c.value;

DROP TABLE event_context;
DROP TABLE events;
DROP TABLE s3_objects;
ALTER TABLE s3_objects_v4 RENAME TO s3_objects;
ALTER TABLE events_v4 RENAME TO events;
ALTER TABLE event_context_v4 RENAME TO event_context;

-- Finds an object by its key at a fraction of the size of an index of whole keys: look a key up
-- as `key_hash = key_hash(:key) AND key = :key`.
CREATE INDEX s3_objects_key_hash ON s3_objects(key_hash);
-- Rows of one object, principal, key, trail or error come in id order; queries sort by time.
CREATE INDEX events_object ON events(object_id) WHERE object_id IS NOT NULL;
CREATE INDEX events_principal ON events(principal_id);
CREATE INDEX events_key ON events(key_id);
CREATE INDEX events_trail ON events(trail_id) WHERE trail_id IS NOT NULL;
CREATE INDEX events_error ON events(error_code_sid) WHERE error_code_sid IS NOT NULL;

-- Readable views ------------------------------------------------------------------------
-- Every column is a lookup by id, so a query pays only for the columns it reads, and filters on
-- the id columns (object_id, key_id, principal_id, trail_id) use the indexes.

CREATE VIEW kms_events AS
SELECT
    e.id,
    (SELECT CASE WHEN typeof(u.event_uid) = 'blob' AND length(u.event_uid) = 16 THEN
                lower(substr(hex(u.event_uid), 1, 8) || '-' || substr(hex(u.event_uid), 9, 4) || '-' ||
                      substr(hex(u.event_uid), 13, 4) || '-' || substr(hex(u.event_uid), 17, 4) || '-' ||
                      substr(hex(u.event_uid), 21, 12))
            ELSE CAST(u.event_uid AS TEXT) END
     FROM event_uids u WHERE u.event_time = e.event_time AND u.event_id = e.id) AS event_id,
    strftime('%Y-%m-%dT%H:%M:%S', e.event_time / 1000, 'unixepoch') ||
        CASE WHEN e.event_time % 1000 = 0 THEN 'Z'
             ELSE rtrim('.' || printf('%03d', e.event_time % 1000), '0') || 'Z' END AS event_time,
    e.event_time AS event_time_ms,
    (SELECT text FROM strings WHERE id = e.event_name_sid) AS event_name,
    (SELECT text FROM strings WHERE id = e.region_sid) AS aws_region,
    (SELECT text FROM strings WHERE id = e.recipient_account_sid) AS recipient_account_id,
    (SELECT arn FROM kms_keys WHERE id = e.key_id) AS key_arn,
    (SELECT arn FROM kms_keys WHERE id = e.source_key_id) AS source_key_arn,
    (SELECT text FROM strings WHERE id = e.requested_key_sid) AS requested_key,
    (SELECT type FROM principals WHERE id = e.principal_id) AS principal_type,
    (SELECT arn FROM principals WHERE id = e.principal_id) AS principal_arn,
    (SELECT account_id FROM principals WHERE id = e.principal_id) AS principal_account_id,
    (SELECT role_arn FROM principals WHERE id = e.principal_id) AS role_arn,
    (SELECT session_name FROM principals WHERE id = e.principal_id) AS session_name,
    (SELECT user_name FROM principals WHERE id = e.principal_id) AS user_name,
    (SELECT invoked_by FROM principals WHERE id = e.principal_id) AS invoked_by,
    (SELECT access_key_id FROM principals WHERE id = e.principal_id) AS access_key_id,
    (SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key)
     FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = e.object_id) AS object_arn,
    (SELECT kind FROM s3_objects WHERE id = e.object_id) AS object_kind,
    (SELECT b.name FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = e.object_id) AS bucket,
    (SELECT key FROM s3_objects WHERE id = e.object_id AND bucket_id IS NOT NULL) AS object_key,
    (SELECT arn FROM trails WHERE id = e.trail_id) AS trail_arn,
    CASE WHEN typeof(e.source_ip) = 'integer' THEN
        (e.source_ip >> 24) || '.' || ((e.source_ip >> 16) & 255) || '.' ||
        ((e.source_ip >> 8) & 255) || '.' || (e.source_ip & 255)
    ELSE e.source_ip END AS source_ip,
    (SELECT text FROM user_agents WHERE id = e.user_agent_id) AS user_agent,
    (SELECT text FROM strings WHERE id = e.error_code_sid) AS error_code,
    e.error_message,
    CASE WHEN typeof(e.request_uid) = 'blob' AND length(e.request_uid) = 16 THEN
        lower(substr(hex(e.request_uid), 1, 8) || '-' || substr(hex(e.request_uid), 9, 4) || '-' ||
              substr(hex(e.request_uid), 13, 4) || '-' || substr(hex(e.request_uid), 17, 4) || '-' ||
              substr(hex(e.request_uid), 21, 12))
    ELSE CAST(e.request_uid AS TEXT) END AS request_id,
    CASE WHEN typeof(e.shared_event_uid) = 'blob' AND length(e.shared_event_uid) = 16 THEN
        lower(substr(hex(e.shared_event_uid), 1, 8) || '-' || substr(hex(e.shared_event_uid), 9, 4) || '-' ||
              substr(hex(e.shared_event_uid), 13, 4) || '-' || substr(hex(e.shared_event_uid), 17, 4) || '-' ||
              substr(hex(e.shared_event_uid), 21, 12))
    ELSE CAST(e.shared_event_uid AS TEXT) END AS shared_event_id,
    e.read_only,
    (SELECT text FROM strings WHERE id = e.event_type_sid) AS event_type,
    (SELECT path FROM source_files WHERE id = e.source_file_id) AS source_file,
    e.object_id,
    e.key_id,
    e.principal_id,
    e.trail_id
FROM events e;

-- S3 locations as they were named: ARN, kind, bucket, key, and the file name of an object.
CREATE VIEW s3_locations AS
SELECT o.id, coalesce(b.arn || '/' || o.key, b.arn, o.key) AS arn, o.kind, b.name AS bucket,
       CASE WHEN o.bucket_id IS NOT NULL THEN o.key END AS key,
       CASE WHEN o.kind = 'object' THEN substr(o.key, length(rtrim(o.key, replace(o.key, '/', ''))) + 1) END AS name
FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id;

-- Every Decrypt that named an S3 location: who read which object, when, with what result.
CREATE VIEW object_reads AS
SELECT * FROM kms_events WHERE event_name = 'Decrypt' AND object_id IS NOT NULL;

-- Every encryption-context pair of every event, including aws:s3:arn and aws:cloudtrail:arn.
CREATE VIEW encryption_context AS
SELECT e.id AS event_row, 'encryptionContext' AS context, 'aws:s3:arn' AS name,
       coalesce(b.arn || '/' || o.key, b.arn, o.key) AS value
FROM events e JOIN s3_objects o ON o.id = e.object_id LEFT JOIN s3_buckets b ON b.id = o.bucket_id
UNION ALL
SELECT e.id, 'encryptionContext', 'aws:cloudtrail:arn', t.arn
FROM events e JOIN trails t ON t.id = e.trail_id
UNION ALL
SELECT c.event_id,
       CASE c.scope WHEN 0 THEN 'encryptionContext' WHEN 1 THEN 'sourceEncryptionContext'
                    ELSE 'destinationEncryptionContext' END,
       n.name, v.value
FROM event_context c JOIN context_names n ON n.id = c.name_id JOIN context_values v ON v.id = c.value_id;
