-- kmsindex schema, version 13: a compact ledger of source files.
--
-- With CloudTrail's own cadence (up to 288 small files a day per account and region, a few
-- KMS events each) the ledger was the largest part of an index: each row held its absolute
-- path twice (the row and its UNIQUE index), the content's SHA-256 as hex twice (the row and
-- an index no query searches), its outcome and the time it was read as text. Now:
-- * ledger_dirs: each folder once;
-- * ledger_files: a file's name in its folder, found by its folder and a 64-bit hash of its
--   whole path (FNV-1a of the UTF-8 bytes, as principal identities are hashed); the SHA-256 as 32 bytes,
--   the outcome as a number (0 ingested, 1 skipped, 2 failed), the time read as seconds.
-- * source_files: a view with the columns and values the table had, for SQL that reads it.
-- Ids are kept: events.source_file_id and s3_reads.source_file_id name ledger_files rows.

-- The rename points the REFERENCES of events at ledger_files (SQLite rewrites them).
ALTER TABLE source_files RENAME TO ledger_files;
-- kms_events reads the path: made again below, over the view.
DROP VIEW kms_events;

CREATE TABLE ledger_dirs (
    id   INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE                    -- a folder, as read, without the last '/'
);

CREATE TABLE ledger_files_compact (
    id                 INTEGER PRIMARY KEY,      -- events.source_file_id
    dir_id             INTEGER REFERENCES ledger_dirs(id), -- NULL when the path holds no '/'
    name               TEXT NOT NULL,            -- the path after its last '/'
    path_hash          INTEGER NOT NULL,         -- FNV-1a of the whole path's UTF-8 bytes
    size               INTEGER NOT NULL,         -- bytes on disk when read
    mtime_ns           INTEGER NOT NULL,         -- modification time, ns since 1970, when read
    outcome            INTEGER NOT NULL CHECK (outcome IN (0, 1, 2)), -- ingested, skipped, failed
    reason             TEXT,                     -- why skipped or failed; malformed-record note when ingested
    records            INTEGER NOT NULL DEFAULT 0, -- records in the file
    kms_events         INTEGER NOT NULL DEFAULT 0, -- KMS records in the file
    events_added       INTEGER NOT NULL DEFAULT 0, -- KMS events new to the index from this file
    malformed_records  INTEGER NOT NULL DEFAULT 0, -- KMS records rejected (see reason)
    uncompressed_bytes INTEGER,                  -- content size after gunzip
    read_at            INTEGER NOT NULL,         -- when it was read, seconds since 1970 (UTC)
    content_sha256     BLOB                      -- SHA-256 of the decompressed content, 32 bytes
);

-- The folder and name of a path, its hash and the SHA-256's bytes come from functions of
-- kmsindex (ledger_dir, ledger_name, ledger_path_hash, sha256_bytes), the same code the writer uses.
INSERT INTO ledger_dirs (path)
SELECT DISTINCT ledger_dir(path) FROM ledger_files WHERE ledger_dir(path) IS NOT NULL;

INSERT INTO ledger_files_compact (id, dir_id, name, path_hash, size, mtime_ns, outcome, reason, records, kms_events,
                          events_added, malformed_records, uncompressed_bytes, read_at, content_sha256)
SELECT f.id, (SELECT d.id FROM ledger_dirs d WHERE d.path = ledger_dir(f.path)), ledger_name(f.path),
       ledger_path_hash(f.path), f.size, f.mtime_ns,
       CASE f.outcome WHEN 'ingested' THEN 0 WHEN 'skipped' THEN 1 ELSE 2 END,
       f.reason, f.records, f.kms_events, f.events_added, f.malformed_records, f.uncompressed_bytes,
       coalesce(CAST(strftime('%s', f.read_at) AS INTEGER), 0), sha256_bytes(f.content_sha256)
FROM ledger_files f;

DROP TABLE ledger_files;
-- Legacy mode: the new table takes the name without SQLite rewriting views and references,
-- which name ledger_files already.
PRAGMA legacy_alter_table = ON;
ALTER TABLE ledger_files_compact RENAME TO ledger_files;
PRAGMA legacy_alter_table = OFF;

-- By folder first: a day's new files go to a few places of the index, not one page each.
CREATE INDEX ledger_files_path ON ledger_files(dir_id, path_hash);
-- stats counts files by outcome; nearly all are ingested.
CREATE INDEX ledger_files_outcome ON ledger_files(outcome);

CREATE VIEW source_files AS
SELECT f.id,
       coalesce(d.path || '/', '') || f.name AS path,
       f.size, f.mtime_ns,
       CASE f.outcome WHEN 0 THEN 'ingested' WHEN 1 THEN 'skipped' ELSE 'failed' END AS outcome,
       f.reason, f.records, f.kms_events, f.events_added, f.malformed_records, f.uncompressed_bytes,
       strftime('%Y-%m-%dT%H:%M:%SZ', f.read_at, 'unixepoch') AS read_at,
       CASE WHEN f.content_sha256 IS NOT NULL THEN lower(hex(f.content_sha256)) END AS content_sha256
FROM ledger_files f LEFT JOIN ledger_dirs d ON d.id = f.dir_id;

-- As schema 4 made it.
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
