-- kmsindex schema, version 11: reads of S3 objects from S3 data events.
--
-- With S3 Bucket Keys, KMS sees one bucket-level Decrypt for many reads, and with SSE-S3 it
-- sees none: a trail that records S3 data events for the bucket has every GetObject, with the
-- caller's own source address and the bytes sent. Kept by `ingest --s3-reads` (see README),
-- keyed to the same s3_objects and principals as the KMS events. The daily summaries and
-- rollups count KMS events only.

CREATE TABLE s3_reads (
    id                    INTEGER PRIMARY KEY,
    event_time            INTEGER NOT NULL,   -- ms since 1970-01-01 UTC
    event_uid             BLOB NOT NULL,      -- eventID: 16 bytes for a UUID, else text
    event_name_sid        INTEGER NOT NULL,   -- GetObject, SelectObjectContent, CopyObject, UploadPartCopy
    region_sid            INTEGER,
    recipient_account_sid INTEGER,
    principal_id          INTEGER,
    object_id             INTEGER NOT NULL,   -- the object read (for a copy: its source)
    source_ip             ANY,                -- IPv4 as an integer, else text
    user_agent_id         INTEGER,
    error_code_sid        INTEGER,
    error_message         TEXT,
    bytes                 INTEGER,            -- additionalEventData.bytesTransferredOut
    source_file_id        INTEGER,
    UNIQUE (event_time, event_uid)
);
CREATE INDEX s3_reads_object ON s3_reads(object_id);
CREATE INDEX s3_reads_principal ON s3_reads(principal_id);

-- `--s3-reads auto`: the files that hold reads of buckets not known to matter yet, one row per
-- file and bucket, until the end of the run decides (whatever the order files were read in):
-- the files of the buckets that count are read again for those reads, the rest is dropped.
-- Empty between runs, unless a run was killed: the next one decides for them.
CREATE TABLE s3_reads_staged (
    id             INTEGER PRIMARY KEY,
    bucket         TEXT NOT NULL,
    source_file_id INTEGER NOT NULL,
    UNIQUE (bucket, source_file_id)
);

-- Reads of objects from both sources, as text: KMS Decrypts naming an object, and S3 reads.
CREATE VIEW object_reads_all AS
SELECT 'kms' AS source, event_time, event_time_ms, event_name, event_id, principal_arn, principal_type, role_arn,
       session_name, error_code, source_ip, user_agent, object_arn, object_id, principal_id, NULL AS bytes
FROM kms_events WHERE event_name = 'Decrypt' AND object_id IS NOT NULL
UNION ALL
SELECT 's3', strftime('%Y-%m-%dT%H:%M:%SZ', r.event_time / 1000, 'unixepoch'), r.event_time,
       (SELECT text FROM strings WHERE id = r.event_name_sid),
       CASE WHEN typeof(r.event_uid) = 'blob' AND length(r.event_uid) = 16 THEN lower(
           substr(hex(r.event_uid), 1, 8) || '-' || substr(hex(r.event_uid), 9, 4) || '-' || substr(hex(r.event_uid), 13, 4)
           || '-' || substr(hex(r.event_uid), 17, 4) || '-' || substr(hex(r.event_uid), 21)) ELSE CAST(r.event_uid AS TEXT) END,
       p.arn, p.type, p.role_arn, p.session_name, (SELECT text FROM strings WHERE id = r.error_code_sid),
       CASE WHEN typeof(r.source_ip) = 'integer' THEN (r.source_ip >> 24) || '.' || ((r.source_ip >> 16) & 255) || '.'
            || ((r.source_ip >> 8) & 255) || '.' || (r.source_ip & 255) ELSE r.source_ip END,
       (SELECT text FROM user_agents WHERE id = r.user_agent_id),
       (SELECT b.arn || '/' || o.key FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = r.object_id),
       r.object_id, r.principal_id, r.bytes
FROM s3_reads r LEFT JOIN principals p ON p.id = r.principal_id;
