-- kmsindex schema, version 43: `s3_read_events`, the S3 reads (`s3_reads`) with their values
-- written out, as `kms_events` shows the KMS events.
--
-- `object_reads_all` shows an S3 read beside the Decrypts with the columns the two have in
-- common; this view has every column of the read. `kmsindex export` writes it as the table
-- `s3_reads`, so that an engine's who-read lists the reads only S3 data events recorded (S3
-- Bucket Keys, SSE-S3). Each value is a lookup by id, as in `kms_events`: a filter on
-- `event_time_ms` uses the reads' (event_time, event_uid) index.

CREATE VIEW s3_read_events AS
SELECT
    r.id,
    CASE WHEN typeof(r.event_uid) = 'blob' AND length(r.event_uid) = 16 THEN
        lower(substr(hex(r.event_uid), 1, 8) || '-' || substr(hex(r.event_uid), 9, 4) || '-' ||
              substr(hex(r.event_uid), 13, 4) || '-' || substr(hex(r.event_uid), 17, 4) || '-' ||
              substr(hex(r.event_uid), 21, 12))
    ELSE CAST(r.event_uid AS TEXT) END AS event_id,
    strftime('%Y-%m-%dT%H:%M:%S', (r.event_time - (r.event_time % 1000 + 1000) % 1000) / 1000, 'unixepoch') ||
        CASE WHEN r.event_time % 1000 = 0 THEN 'Z'
             ELSE rtrim('.' || printf('%03d', (r.event_time % 1000 + 1000) % 1000), '0') || 'Z' END AS event_time,
    r.event_time AS event_time_ms,
    (SELECT text FROM strings WHERE id = r.event_name_sid) AS event_name,
    (SELECT text FROM strings WHERE id = r.region_sid) AS aws_region,
    (SELECT text FROM strings WHERE id = r.recipient_account_sid) AS recipient_account_id,
    (SELECT type FROM principals WHERE id = r.principal_id) AS principal_type,
    (SELECT arn FROM principals WHERE id = r.principal_id) AS principal_arn,
    (SELECT account_id FROM principals WHERE id = r.principal_id) AS principal_account_id,
    (SELECT role_arn FROM principals WHERE id = r.principal_id) AS role_arn,
    (SELECT session_name FROM principals WHERE id = r.principal_id) AS session_name,
    (SELECT user_name FROM principals WHERE id = r.principal_id) AS user_name,
    (SELECT invoked_by FROM principals WHERE id = r.principal_id) AS invoked_by,
    (SELECT access_key_id FROM principals WHERE id = r.principal_id) AS access_key_id,
    (SELECT on_behalf_of_user_id FROM principals WHERE id = r.principal_id) AS on_behalf_of_user_id,
    (SELECT identity_store_arn FROM principals WHERE id = r.principal_id) AS identity_store_arn,
    (SELECT b.arn || '/' || o.key FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = r.object_id)
        AS object_arn,
    (SELECT b.name FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = r.object_id) AS bucket,
    (SELECT key FROM s3_objects WHERE id = r.object_id AND bucket_id IS NOT NULL) AS object_key,
    CASE WHEN typeof(r.source_ip) = 'integer' THEN
        (r.source_ip >> 24) || '.' || ((r.source_ip >> 16) & 255) || '.' ||
        ((r.source_ip >> 8) & 255) || '.' || (r.source_ip & 255)
    ELSE r.source_ip END AS source_ip,
    (SELECT text FROM user_agents WHERE id = r.user_agent_id) AS user_agent,
    (SELECT text FROM strings WHERE id = r.error_code_sid) AS error_code,
    r.error_message,
    r.bytes,
    CASE WHEN typeof(r.shared_event_uid) = 'blob' AND length(r.shared_event_uid) = 16 THEN
        lower(substr(hex(r.shared_event_uid), 1, 8) || '-' || substr(hex(r.shared_event_uid), 9, 4) || '-' ||
              substr(hex(r.shared_event_uid), 13, 4) || '-' || substr(hex(r.shared_event_uid), 17, 4) || '-' ||
              substr(hex(r.shared_event_uid), 21, 12))
    ELSE CAST(r.shared_event_uid AS TEXT) END AS shared_event_id,
    (SELECT path FROM source_files WHERE id = r.source_file_id) AS source_file,
    r.object_id,
    r.principal_id
FROM s3_reads r;
