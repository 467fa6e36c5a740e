-- kmsindex schema, version 44: times before 1970 with a fraction of a second written right.
--
-- `kms_events` and `object_reads_all` wrote `event_time` from SQLite's `/` and `%`, which round
-- toward zero: a call at 1969-12-31T23:59:59.500Z (a time a log may hold, CloudTrail's or not)
-- came out as `1970-01-01T00:00:00.-5Z`, the day after its own. The seconds and the fraction
-- are now taken by flooring, the same for every later time. The views are otherwise as
-- migrations 033 and 039 made them.

DROP VIEW object_reads_all;
DROP VIEW kms_events;

CREATE VIEW kms_events AS
SELECT
    e.id,
    (SELECT CASE WHEN typeof(u.event_uid) = 'blob' AND length(u.event_uid) = 16 THEN
                lower(substr(hex(u.event_uid), 1, 8) || '-' || substr(hex(u.event_uid), 9, 4) || '-' ||
                      substr(hex(u.event_uid), 13, 4) || '-' || substr(hex(u.event_uid), 17, 4) || '-' ||
                      substr(hex(u.event_uid), 21, 12))
            ELSE CAST(u.event_uid AS TEXT) END
     FROM event_uids u WHERE u.event_time = e.event_time AND u.event_id = e.id) AS event_id,
    strftime('%Y-%m-%dT%H:%M:%S', (e.event_time - (e.event_time % 1000 + 1000) % 1000) / 1000, 'unixepoch') ||
        CASE WHEN e.event_time % 1000 = 0 THEN 'Z'
             ELSE rtrim('.' || printf('%03d', (e.event_time % 1000 + 1000) % 1000), '0') || 'Z' END AS event_time,
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
    (SELECT on_behalf_of_user_id FROM principals WHERE id = e.principal_id) AS on_behalf_of_user_id,
    (SELECT identity_store_arn FROM principals WHERE id = e.principal_id) AS identity_store_arn,
    (SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key)
     FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = e.object_id) AS object_arn,
    (SELECT kind FROM s3_objects WHERE id = e.object_id) AS object_kind,
    (SELECT b.name FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = e.object_id) AS bucket,
    (SELECT key FROM s3_objects WHERE id = e.object_id AND bucket_id IS NOT NULL) AS object_key,
    (SELECT arn FROM trails WHERE id = e.trail_id) AS trail_arn,
    CASE WHEN typeof(e.source_ip) = 'integer' THEN
        (e.source_ip >> 24) || '.' || ((e.source_ip >> 16) & 255) || '.' ||
        ((e.source_ip >> 8) & 255) || '.' || (e.source_ip & 255)
    WHEN e.source_sid IS NOT NULL THEN (SELECT text FROM strings WHERE id = e.source_sid)
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

CREATE VIEW object_reads_all AS
SELECT 'kms' AS source, event_time, event_time_ms, event_name, event_id, principal_arn, principal_type, role_arn,
       session_name, error_code, source_ip, user_agent, object_arn, object_id, principal_id, NULL AS bytes,
       on_behalf_of_user_id, identity_store_arn
FROM kms_events WHERE event_name = 'Decrypt' AND object_id IS NOT NULL
UNION ALL
SELECT 's3',
       strftime('%Y-%m-%dT%H:%M:%S', (r.event_time - (r.event_time % 1000 + 1000) % 1000) / 1000, 'unixepoch') ||
           CASE WHEN r.event_time % 1000 = 0 THEN 'Z'
                ELSE rtrim('.' || printf('%03d', (r.event_time % 1000 + 1000) % 1000), '0') || 'Z' END,
       r.event_time,
       (SELECT text FROM strings WHERE id = r.event_name_sid),
       CASE WHEN typeof(r.event_uid) = 'blob' AND length(r.event_uid) = 16 THEN lower(
           substr(hex(r.event_uid), 1, 8) || '-' || substr(hex(r.event_uid), 9, 4) || '-' || substr(hex(r.event_uid), 13, 4)
           || '-' || substr(hex(r.event_uid), 17, 4) || '-' || substr(hex(r.event_uid), 21)) ELSE CAST(r.event_uid AS TEXT) END,
       p.arn, p.type, p.role_arn, p.session_name, (SELECT text FROM strings WHERE id = r.error_code_sid),
       CASE WHEN typeof(r.source_ip) = 'integer' THEN (r.source_ip >> 24) || '.' || ((r.source_ip >> 16) & 255) || '.'
            || ((r.source_ip >> 8) & 255) || '.' || (r.source_ip & 255) ELSE r.source_ip END,
       (SELECT text FROM user_agents WHERE id = r.user_agent_id),
       (SELECT b.arn || '/' || o.key FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = r.object_id),
       r.object_id, r.principal_id, r.bytes, p.on_behalf_of_user_id, p.identity_store_arn
FROM s3_reads r LEFT JOIN principals p ON p.id = r.principal_id;
