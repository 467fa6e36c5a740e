-- kmsindex schema, version 34: a delivery of a log file is CloudTrail's own successful call.
--
-- A delivery (`delivered` in `activity_daily`, `usage_daily`, `activity_totals`; what `trails`
-- counts and `deliveries-stopped` watches) was any `GenerateDataKey` naming a trail and a log
-- file. A failed one wrote no file, and one made by a caller allowed to use the key, from its own
-- address, only named the file: a trail whose key policy broke looked as if it still delivered,
-- and anyone could hide a stopped trail. CloudTrail calls as a service, so its source is a name
-- (`source_sid`), never an address; it is now a delivery only so, and only when it succeeded
-- (`DailySummaries.deliveredSQL`). The days holding such calls are counted again here, as
-- `DailySummaries.recount` counts them; the rollups that do not tell deliveries apart (callers,
-- object_daily, trail_files) are unchanged.
CREATE TEMP TABLE recounted_days AS
SELECT DISTINCT (e.event_time / 86400000 - (e.event_time % 86400000 < 0)) AS day
FROM events e JOIN s3_objects o ON o.id = e.object_id
WHERE e.trail_id IS NOT NULL AND o.kind = 'object'
  AND e.event_name_sid = (SELECT id FROM strings WHERE text = 'GenerateDataKey')
  AND (e.error_code_sid IS NOT NULL OR e.source_sid IS NULL);

DELETE FROM activity_daily WHERE day IN (SELECT day FROM recounted_days);
INSERT INTO activity_daily
SELECT day, account AS recipient_account_sid, region AS region_sid, key AS key_id,
       requested AS requested_key_sid, name AS event_name_sid, error AS error_code_sid,
       principal AS principal_id, trail AS trail_id, delivered,
       CASE WHEN delivered THEN coalesce(cloudtrail_log_account(file), (SELECT text FROM strings WHERE id = account), '')
            ELSE '' END AS log_account,
       CASE WHEN delivered THEN coalesce(cloudtrail_log_region(file), (SELECT text FROM strings WHERE id = region), '')
            ELSE '' END AS log_region,
       count(*) AS events, min(event_time) AS first_time, max(event_time) AS last_time
FROM (
    SELECT d.day,
           coalesce(e.recipient_account_sid, 0) AS account, coalesce(e.region_sid, 0) AS region,
           coalesce(e.key_id, 0) AS key, coalesce(e.requested_key_sid, 0) AS requested,
           e.event_name_sid AS name, coalesce(e.error_code_sid, 0) AS error,
           coalesce(e.principal_id, 0) AS principal, coalesce(e.trail_id, 0) AS trail,
           e.event_time,
           coalesce(e.trail_id IS NOT NULL AND o.kind = 'object' AND e.error_code_sid IS NULL AND e.source_sid IS NOT NULL
                    AND e.event_name_sid = (SELECT id FROM strings WHERE text = 'GenerateDataKey'), 0) AS delivered,
           o.key AS file
    FROM recounted_days d
    JOIN event_uids u ON u.event_time >= d.day * 86400000 AND u.event_time < (d.day + 1) * 86400000
    JOIN events e ON e.id = u.event_id
    LEFT JOIN s3_objects o ON o.id = e.object_id
)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

DELETE FROM usage_daily WHERE day IN (SELECT day FROM recounted_days);
INSERT INTO usage_daily
SELECT day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
       trail_id, delivered, log_account, log_region, sum(events), min(first_time), max(last_time)
FROM activity_daily WHERE day IN (SELECT day FROM recounted_days)
GROUP BY day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
         trail_id, delivered, log_account, log_region;

-- The all-time totals, made again when a day was (as `recount` makes them).
DELETE FROM activity_totals WHERE (SELECT count(*) FROM recounted_days) > 0;
INSERT INTO activity_totals
SELECT recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
       trail_id, delivered, log_account, log_region, sum(events), min(first_time), max(last_time)
FROM usage_daily WHERE (SELECT count(*) FROM recounted_days) > 0
GROUP BY recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
         trail_id, delivered, log_account, log_region;

DROP TABLE recounted_days;
