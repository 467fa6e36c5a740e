-- kmsindex schema, version 39: the S3 reads of `object_reads_all` show their milliseconds.
--
-- The view's S3 half wrote `event_time` to the second while its KMS half (from `kms_events`)
-- writes the milliseconds CloudTrail gave: rows of the two sources sorted by `event_time` came
-- out of order within a second. The S3 half now writes it as `kms_events` does. The view is
-- otherwise as migration 033 made it.

DROP VIEW object_reads_all;

CREATE VIEW object_reads_all AS
SELECT 'kms' AS source, event_time, event_time_ms, event_name, event_id, principal_arn, principal_type, role_arn,
       session_name, error_code, source_ip, user_agent, object_arn, object_id, principal_id, NULL AS bytes,
       on_behalf_of_user_id, identity_store_arn
FROM kms_events WHERE event_name = 'Decrypt' AND object_id IS NOT NULL
UNION ALL
SELECT 's3',
       strftime('%Y-%m-%dT%H:%M:%S', r.event_time / 1000, 'unixepoch') ||
           CASE WHEN r.event_time % 1000 = 0 THEN 'Z'
                ELSE rtrim('.' || printf('%03d', r.event_time % 1000), '0') || 'Z' END,
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
