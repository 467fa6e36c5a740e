-- kmsindex schema, version 38: an alias ARN is not a key.
--
-- UpdateAlias lists the alias first in `resources`, typed AWS::KMS::Key (as the AWS KMS
-- developer guide shows), then the key; DeleteAlias may too. Ingest took the alias ARN for the
-- event's key and made it a row of kms_keys, so `keys` listed the alias as a key and the key's
-- own story missed the call. Ingest now skips alias ARNs (`EventNormalizer.resourceKeys`). This
-- migration moves the events an index already holds to the key the alias named when they were
-- made: of the keys kms_key_aliases ties to that alias in the same account and region, the one
-- named last at or before the event (an UpdateAlias names its new key itself), else the one
-- named first; none known, the event keeps no key. The alias's row then goes. The days of the
-- events moved are noted in summary_recounts: their summaries and the rollups are counted again
-- from the events once every migration is applied (`IndexDatabase.recountNotedDays`).

CREATE TABLE summary_recounts (
    day INTEGER PRIMARY KEY      -- UTC day (days since 1970-01-01) whose summaries to count again
) WITHOUT ROWID;

-- An ARN of the kms service whose resource starts with `alias/`, as `ARNBytes.isKMSAlias`.
CREATE TEMP TABLE alias_keys AS
WITH parts AS (
    SELECT id, arn, account_id, region, substr(arn, 5) AS after_arn FROM kms_keys WHERE arn GLOB 'arn:*'
), service AS (
    SELECT id, arn, account_id, region, substr(after_arn, instr(after_arn, ':') + 1) AS after_partition FROM parts
), located AS (
    SELECT id, arn, account_id, region, substr(after_partition, 5) AS after_service
    FROM service WHERE after_partition GLOB 'kms:*'
), resource AS (
    SELECT id, arn, account_id, region,
           substr(substr(after_service, instr(after_service, ':') + 1),
                  instr(substr(after_service, instr(after_service, ':') + 1), ':') + 1) AS resource
    FROM located
)
SELECT id, account_id, region, resource AS alias FROM resource WHERE resource GLOB 'alias/*';

-- The keys each alias row's alias named in its account and region, and since when.
CREATE TEMP TABLE alias_targets AS
SELECT a.id AS alias_key_id, m.key_id, m.first_seen, strftime('%s', m.first_seen) * 1000 AS first_ms
FROM alias_keys a JOIN kms_key_aliases m ON m.alias = a.alias JOIN kms_keys k ON k.id = m.key_id
WHERE k.account_id IS a.account_id AND k.region IS a.region AND k.id NOT IN (SELECT id FROM alias_keys);

-- Each event an alias row names as its key, or as a ReEncrypt's source (a column with no index,
-- read only when there is an alias row), and the key it moves to.
CREATE TEMP TABLE alias_events AS
WITH named AS (
    SELECT id, event_time, key_id AS alias_key_id FROM events WHERE key_id IN (SELECT id FROM alias_keys)
    UNION
    SELECT id, event_time, source_key_id FROM events
    WHERE EXISTS (SELECT 1 FROM alias_keys) AND source_key_id IN (SELECT id FROM alias_keys)
)
SELECT n.id AS event_id, n.event_time, n.alias_key_id,
       coalesce((SELECT m.key_id FROM alias_targets m WHERE m.alias_key_id = n.alias_key_id AND m.first_ms <= n.event_time
                 ORDER BY m.first_ms DESC, m.first_seen DESC, m.key_id LIMIT 1),
                (SELECT m.key_id FROM alias_targets m WHERE m.alias_key_id = n.alias_key_id
                 ORDER BY m.first_ms, m.first_seen, m.key_id LIMIT 1)) AS new_key_id
FROM named n;

INSERT OR IGNORE INTO summary_recounts (day)
SELECT DISTINCT event_time / 86400000 - (event_time % 86400000 < 0) FROM alias_events;

UPDATE events SET key_id = (
    SELECT m.new_key_id FROM alias_events m WHERE m.event_id = events.id AND m.alias_key_id = events.key_id)
WHERE key_id IN (SELECT id FROM alias_keys);

UPDATE events SET source_key_id = (
    SELECT m.new_key_id FROM alias_events m WHERE m.event_id = events.id AND m.alias_key_id = events.source_key_id)
WHERE EXISTS (SELECT 1 FROM alias_keys) AND source_key_id IN (SELECT id FROM alias_keys);

DELETE FROM kms_key_aliases WHERE key_id IN (SELECT id FROM alias_keys);
DELETE FROM kms_keys WHERE id IN (SELECT id FROM alias_keys);

DROP TABLE alias_events;
DROP TABLE alias_targets;
DROP TABLE alias_keys;
