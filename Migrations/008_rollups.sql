-- kmsindex schema, version 8: rollups of the daily summaries, so that listings over all of
-- history read thousands of rows, not millions.
--
-- activity_daily keeps one row per caller a day; callers that rotate credentials every hour
-- keep days from folding, and a year of an organization holds millions of rows. What the
-- listings need of callers is only how many distinct ones there are, so:
-- * usage_daily: activity_daily without the caller (per day, account, region, key, operation,
--   error, trail, delivery and the account and region a delivered file logs);
-- * activity_totals: the same over all time, without the day;
-- * callers: activity_totals per caller (without the delivery columns; 0 for events without
--   one): distinct callers are counted here, and a key's callers are found by its id;
-- * trail_files: each (trail, log file) pair over all time: a trail's log files are counted here.
-- Each is a function of activity_daily or object_daily, kept in the same transaction by the
-- same code paths (writer, merge, prune); a test recomputes each from its definition.

CREATE TABLE usage_daily (
    day                   INTEGER NOT NULL,
    recipient_account_sid INTEGER NOT NULL,
    region_sid            INTEGER NOT NULL,
    key_id                INTEGER NOT NULL,
    requested_key_sid     INTEGER NOT NULL,
    event_name_sid        INTEGER NOT NULL,
    error_code_sid        INTEGER NOT NULL,
    trail_id              INTEGER NOT NULL,
    delivered             INTEGER NOT NULL,
    log_account           TEXT NOT NULL,
    log_region            TEXT NOT NULL,
    events                INTEGER NOT NULL,
    first_time            INTEGER NOT NULL,
    last_time             INTEGER NOT NULL,
    PRIMARY KEY (day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid,
                 error_code_sid, trail_id, delivered, log_account, log_region)
) WITHOUT ROWID;

CREATE TABLE activity_totals (
    recipient_account_sid INTEGER NOT NULL,
    region_sid            INTEGER NOT NULL,
    key_id                INTEGER NOT NULL,
    requested_key_sid     INTEGER NOT NULL,
    event_name_sid        INTEGER NOT NULL,
    error_code_sid        INTEGER NOT NULL,
    trail_id              INTEGER NOT NULL,
    delivered             INTEGER NOT NULL,
    log_account           TEXT NOT NULL,
    log_region            TEXT NOT NULL,
    events                INTEGER NOT NULL,
    first_time            INTEGER NOT NULL,
    last_time             INTEGER NOT NULL,
    PRIMARY KEY (recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid,
                 error_code_sid, trail_id, delivered, log_account, log_region)
) WITHOUT ROWID;

CREATE TABLE callers (
    key_id                INTEGER NOT NULL,
    principal_id          INTEGER NOT NULL,
    requested_key_sid     INTEGER NOT NULL,
    trail_id              INTEGER NOT NULL,
    event_name_sid        INTEGER NOT NULL,
    error_code_sid        INTEGER NOT NULL,
    recipient_account_sid INTEGER NOT NULL,
    region_sid            INTEGER NOT NULL,
    events                INTEGER NOT NULL,
    first_time            INTEGER NOT NULL,
    last_time             INTEGER NOT NULL,
    PRIMARY KEY (key_id, principal_id, requested_key_sid, trail_id, event_name_sid, error_code_sid,
                 recipient_account_sid, region_sid)
) WITHOUT ROWID;

CREATE TABLE trail_files (
    trail_id  INTEGER NOT NULL,
    object_id INTEGER NOT NULL,
    PRIMARY KEY (trail_id, object_id)
) WITHOUT ROWID;

INSERT INTO usage_daily
SELECT day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
       trail_id, delivered, log_account, log_region, sum(events), min(first_time), max(last_time)
FROM activity_daily
GROUP BY day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
         trail_id, delivered, log_account, log_region;

INSERT INTO activity_totals
SELECT recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
       trail_id, delivered, log_account, log_region, sum(events), min(first_time), max(last_time)
FROM usage_daily
GROUP BY recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
         trail_id, delivered, log_account, log_region;

INSERT INTO callers
SELECT key_id, principal_id, requested_key_sid, trail_id, event_name_sid, error_code_sid,
       recipient_account_sid, region_sid, sum(events), min(first_time), max(last_time)
FROM activity_daily
GROUP BY key_id, principal_id, requested_key_sid, trail_id, event_name_sid, error_code_sid,
         recipient_account_sid, region_sid;

INSERT INTO trail_files
SELECT DISTINCT x.trail_id, x.object_id
FROM object_daily x JOIN s3_objects o ON o.id = x.object_id
WHERE x.trail_id != 0 AND o.kind = 'object';

-- stats counts the file ledger by outcome: through this index, not the ledger's wide rows.
CREATE INDEX source_files_outcome ON source_files(outcome);

-- denied reads every failed call: the partial index of failed calls covers the columns it
-- groups by, so that it never reads the wide event rows.
DROP INDEX events_error;
CREATE INDEX events_error ON events(error_code_sid, principal_id, key_id, requested_key_sid, event_name_sid,
                                   object_id, event_time)
    WHERE error_code_sid IS NOT NULL;
