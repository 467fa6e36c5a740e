-- kmsindex schema, version 31: an event that names its key by a bare key id, without
-- `resources`, is tied to that key.
--
-- KMS takes a bare key id only for a key of the caller's own account, in the region called, and
-- records from before late 2022 often name their key no other way. Ingest now makes the key's
-- ARN from the id, `recipientAccountId` and `awsRegion` (`EventNormalizer.keyARN(bareID:...)`);
-- this migration does the same for the events an index already holds: their key, and the
-- summaries and rollups that counted them under no key (key_id 0), moved to the key and added
-- to its rows. A key id is a lower-case UUID, or `mrk-` and 32 hexadecimal digits (a
-- multi-Region key); an account is 12 digits; a region is lower-case letters, digits and `-`.
CREATE TEMP TABLE bare_keys AS
SELECT e.requested_key_sid, e.recipient_account_sid, e.region_sid,
       'arn:' || CASE WHEN g.text GLOB 'cn-*' THEN 'aws-cn' WHEN g.text GLOB 'us-gov-*' THEN 'aws-us-gov'
                      WHEN g.text GLOB 'us-isob-*' THEN 'aws-iso-b' WHEN g.text GLOB 'us-iso-*' THEN 'aws-iso'
                      ELSE 'aws' END
       || ':kms:' || g.text || ':' || a.text || ':key/' || r.text AS arn,
       a.text AS account, g.text AS region, r.text AS key_text
FROM (SELECT DISTINCT requested_key_sid, recipient_account_sid, region_sid FROM events
      WHERE key_id IS NULL AND requested_key_sid IS NOT NULL) e
JOIN strings r ON r.id = e.requested_key_sid
JOIN strings a ON a.id = e.recipient_account_sid
JOIN strings g ON g.id = e.region_sid
WHERE (r.text GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' OR r.text GLOB 'mrk-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]')
  AND a.text GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
  AND length(g.text) BETWEEN 1 AND 32 AND g.text NOT GLOB '*[^a-z0-9-]*';

INSERT OR IGNORE INTO kms_keys (arn, account_id, region, key_id)
SELECT arn, account, region, key_text FROM bare_keys;

CREATE TEMP TABLE bare_key_ids AS
SELECT b.requested_key_sid, b.recipient_account_sid, b.region_sid, k.id AS key_id
FROM bare_keys b JOIN kms_keys k ON k.arn = b.arn;

UPDATE events SET key_id = (
    SELECT m.key_id FROM bare_key_ids m
    WHERE m.requested_key_sid = events.requested_key_sid AND m.recipient_account_sid = events.recipient_account_sid
      AND m.region_sid = events.region_sid)
WHERE key_id IS NULL AND requested_key_sid IN (SELECT requested_key_sid FROM bare_key_ids);

-- Each summary's rows of those events move from key 0 to the key, added to the key's own rows
-- (the same calls may have named the key by ARN too). Only when there is a key to move to: the
-- summaries are read whole otherwise.
INSERT INTO activity_daily (day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid, principal_id, trail_id, delivered, log_account, log_region, events, first_time, last_time)
SELECT s.day, s.recipient_account_sid, s.region_sid, m.key_id, s.requested_key_sid, s.event_name_sid, s.error_code_sid, s.principal_id, s.trail_id, s.delivered, s.log_account, s.log_region, s.events, s.first_time, s.last_time
FROM activity_daily s JOIN bare_key_ids m
  ON m.requested_key_sid = s.requested_key_sid AND m.recipient_account_sid = s.recipient_account_sid AND m.region_sid = s.region_sid
WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND s.key_id = 0
ON CONFLICT (day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid, principal_id,
             trail_id, delivered, log_account, log_region) DO UPDATE SET events = events + excluded.events,
    first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time);
DELETE FROM activity_daily WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND key_id = 0 AND EXISTS (
    SELECT 1 FROM bare_key_ids m WHERE m.requested_key_sid = activity_daily.requested_key_sid
      AND m.recipient_account_sid = activity_daily.recipient_account_sid AND m.region_sid = activity_daily.region_sid);

INSERT INTO usage_daily (day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid, trail_id, delivered, log_account, log_region, events, first_time, last_time)
SELECT s.day, s.recipient_account_sid, s.region_sid, m.key_id, s.requested_key_sid, s.event_name_sid, s.error_code_sid, s.trail_id, s.delivered, s.log_account, s.log_region, s.events, s.first_time, s.last_time
FROM usage_daily s JOIN bare_key_ids m
  ON m.requested_key_sid = s.requested_key_sid AND m.recipient_account_sid = s.recipient_account_sid AND m.region_sid = s.region_sid
WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND s.key_id = 0
ON CONFLICT (day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid, trail_id, delivered, log_account, log_region) DO UPDATE SET events = events + excluded.events,
    first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time);
DELETE FROM usage_daily WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND key_id = 0 AND EXISTS (
    SELECT 1 FROM bare_key_ids m WHERE m.requested_key_sid = usage_daily.requested_key_sid
      AND m.recipient_account_sid = usage_daily.recipient_account_sid AND m.region_sid = usage_daily.region_sid);

INSERT INTO activity_totals (recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid, trail_id, delivered, log_account, log_region, events, first_time, last_time)
SELECT s.recipient_account_sid, s.region_sid, m.key_id, s.requested_key_sid, s.event_name_sid, s.error_code_sid, s.trail_id, s.delivered, s.log_account, s.log_region, s.events, s.first_time, s.last_time
FROM activity_totals s JOIN bare_key_ids m
  ON m.requested_key_sid = s.requested_key_sid AND m.recipient_account_sid = s.recipient_account_sid AND m.region_sid = s.region_sid
WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND s.key_id = 0
ON CONFLICT (recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid, trail_id, delivered, log_account, log_region) DO UPDATE SET events = events + excluded.events,
    first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time);
DELETE FROM activity_totals WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND key_id = 0 AND EXISTS (
    SELECT 1 FROM bare_key_ids m WHERE m.requested_key_sid = activity_totals.requested_key_sid
      AND m.recipient_account_sid = activity_totals.recipient_account_sid AND m.region_sid = activity_totals.region_sid);

INSERT INTO callers (key_id, principal_id, requested_key_sid, trail_id, event_name_sid, error_code_sid, recipient_account_sid, region_sid, events, first_time, last_time)
SELECT m.key_id, s.principal_id, s.requested_key_sid, s.trail_id, s.event_name_sid, s.error_code_sid, s.recipient_account_sid, s.region_sid, s.events, s.first_time, s.last_time
FROM callers s JOIN bare_key_ids m
  ON m.requested_key_sid = s.requested_key_sid AND m.recipient_account_sid = s.recipient_account_sid AND m.region_sid = s.region_sid
WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND s.key_id = 0
ON CONFLICT (key_id, principal_id, requested_key_sid, trail_id, event_name_sid, error_code_sid, recipient_account_sid, region_sid) DO UPDATE SET events = events + excluded.events,
    first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time);
DELETE FROM callers WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND key_id = 0 AND EXISTS (
    SELECT 1 FROM bare_key_ids m WHERE m.requested_key_sid = callers.requested_key_sid
      AND m.recipient_account_sid = callers.recipient_account_sid AND m.region_sid = callers.region_sid);

INSERT INTO object_daily (object_id, day, recipient_account_sid, region_sid, key_id, requested_key_sid, trail_id, failed, events, writes, reads, first_time, last_time)
SELECT s.object_id, s.day, s.recipient_account_sid, s.region_sid, m.key_id, s.requested_key_sid, s.trail_id, s.failed, s.events, s.writes, s.reads, s.first_time, s.last_time
FROM object_daily s JOIN bare_key_ids m
  ON m.requested_key_sid = s.requested_key_sid AND m.recipient_account_sid = s.recipient_account_sid AND m.region_sid = s.region_sid
WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND s.key_id = 0
ON CONFLICT (object_id, day, recipient_account_sid, region_sid, key_id, requested_key_sid, trail_id, failed) DO UPDATE SET writes = writes + excluded.writes, reads = reads + excluded.reads, events = events + excluded.events,
    first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time);
DELETE FROM object_daily WHERE (SELECT count(*) FROM bare_key_ids) > 0 AND key_id = 0 AND EXISTS (
    SELECT 1 FROM bare_key_ids m WHERE m.requested_key_sid = object_daily.requested_key_sid
      AND m.recipient_account_sid = object_daily.recipient_account_sid AND m.region_sid = object_daily.region_sid);

DROP TABLE bare_key_ids;
DROP TABLE bare_keys;
