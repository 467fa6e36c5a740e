-- kmsindex schema, version 1.
-- Tables are normalized (integer ids for keys, principals, objects, trails); the views at the
-- end join them back into readable rows for ad-hoc SQL. Times are UTC ISO-8601 text
-- ('2015-11-11T21:20:52Z'), so they sort and compare as text.

-- The ledger of source files: what was read, when, with what outcome.
CREATE TABLE source_files (
    id                 INTEGER PRIMARY KEY,
    path               TEXT NOT NULL UNIQUE,     -- absolute path as read
    size               INTEGER NOT NULL,         -- bytes on disk when read
    mtime_ns           INTEGER NOT NULL,         -- modification time, ns since 1970, when read
    outcome            TEXT NOT NULL CHECK (outcome IN ('ingested', 'skipped', 'failed')),
    reason             TEXT,                     -- why skipped or failed; malformed-record note when ingested
    records            INTEGER NOT NULL DEFAULT 0, -- records in the file
    kms_events         INTEGER NOT NULL DEFAULT 0, -- KMS records in the file
    events_added       INTEGER NOT NULL DEFAULT 0, -- KMS events new to the index from this file
    malformed_records  INTEGER NOT NULL DEFAULT 0, -- KMS records rejected (see reason)
    uncompressed_bytes INTEGER,                  -- content size after gunzip
    read_at            TEXT NOT NULL             -- when it was read (UTC)
);

-- KMS keys (CMKs), by key ARN.
CREATE TABLE kms_keys (
    id         INTEGER PRIMARY KEY,
    arn        TEXT NOT NULL UNIQUE,
    account_id TEXT,
    region     TEXT,
    key_id     TEXT                              -- the key's UUID (last part of the ARN)
);

-- Aliases seen naming a key in the same event (or in CreateAlias/UpdateAlias).
CREATE TABLE kms_key_aliases (
    key_id     INTEGER NOT NULL REFERENCES kms_keys(id),
    alias      TEXT NOT NULL,                    -- 'alias/NAME'
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (key_id, alias)
) WITHOUT ROWID;
CREATE INDEX kms_key_aliases_alias ON kms_key_aliases(alias);

-- CloudTrail trails named by aws:cloudtrail:arn.
CREATE TABLE trails (
    id         INTEGER PRIMARY KEY,
    arn        TEXT NOT NULL UNIQUE,
    account_id TEXT,
    region     TEXT,
    name       TEXT
);

-- S3 locations named by aws:s3:arn: objects, prefixes, or whole buckets (S3 Bucket Keys).
CREATE TABLE s3_objects (
    id     INTEGER PRIMARY KEY,
    arn    TEXT NOT NULL UNIQUE,
    kind   TEXT NOT NULL CHECK (kind IN ('object', 'prefix', 'bucket', 'unparsed')),
    bucket TEXT,
    key    TEXT,                                 -- object key or prefix; NULL for a bucket
    name   TEXT                                  -- last part of the key (a log file's name)
);
CREATE INDEX s3_objects_bucket ON s3_objects(bucket);
CREATE INDEX s3_objects_name ON s3_objects(name);

-- Callers, as userIdentity describes them. One row per distinct identity (a new
-- access key or source identity makes a new row; role_arn groups a role's sessions).
CREATE TABLE principals (
    id                      INTEGER PRIMARY KEY,
    identity                TEXT NOT NULL UNIQUE, -- canonical form of the fields below
    type                    TEXT,                 -- userIdentity.type; NULL when missing
    arn                     TEXT,
    account_id              TEXT,
    principal_id            TEXT,
    user_name               TEXT,
    role_arn                TEXT,                 -- sessionIssuer.arn for assumed roles
    session_name            TEXT,                 -- last part of an assumed-role/federated ARN
    invoked_by              TEXT,                 -- the AWS service that called on its behalf
    access_key_id           TEXT,
    source_identity         TEXT,
    credential_from_console TEXT
);
CREATE INDEX principals_arn ON principals(arn);
CREATE INDEX principals_role ON principals(role_arn);

CREATE TABLE user_agents (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);

CREATE TABLE context_names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- One row per KMS event (unique by CloudTrail's eventID).
CREATE TABLE events (
    id                   INTEGER PRIMARY KEY,
    event_uid            BLOB NOT NULL UNIQUE,    -- eventID: 16 bytes when a UUID, else its text
    event_time           TEXT NOT NULL,
    event_name           TEXT NOT NULL,
    aws_region           TEXT,
    recipient_account_id TEXT,
    key_id               INTEGER REFERENCES kms_keys(id),
    source_key_id        INTEGER REFERENCES kms_keys(id), -- ReEncrypt's source key
    requested_key        TEXT,                    -- keyId as written, when not the key ARN
    principal_id         INTEGER REFERENCES principals(id),
    object_id            INTEGER REFERENCES s3_objects(id), -- aws:s3:arn of encryptionContext
    trail_id             INTEGER REFERENCES trails(id),     -- aws:cloudtrail:arn of encryptionContext
    source_ip            TEXT,
    user_agent_id        INTEGER REFERENCES user_agents(id),
    error_code           TEXT,                    -- NULL when the call succeeded
    error_message        TEXT,
    request_uid          BLOB,                    -- requestID, stored like event_uid
    shared_event_id      TEXT,
    read_only            INTEGER,
    event_type           TEXT,
    source_file_id       INTEGER NOT NULL REFERENCES source_files(id)
);
CREATE INDEX events_object ON events(object_id, event_time) WHERE object_id IS NOT NULL;
CREATE INDEX events_principal ON events(principal_id, event_time);
CREATE INDEX events_key ON events(key_id, event_time);
CREATE INDEX events_time ON events(event_time);

-- Encryption-context pairs other than the request's aws:s3:arn and aws:cloudtrail:arn
-- (those are events.object_id and events.trail_id). scope: 0 encryptionContext,
-- 1 sourceEncryptionContext, 2 destinationEncryptionContext.
CREATE TABLE event_context (
    event_id INTEGER NOT NULL REFERENCES events(id),
    scope    INTEGER NOT NULL,
    name_id  INTEGER NOT NULL REFERENCES context_names(id),
    value    TEXT NOT NULL,
    PRIMARY KEY (event_id, scope, name_id)
) WITHOUT ROWID;
CREATE INDEX event_context_value ON event_context(name_id, value);

-- Readable views -----------------------------------------------------------------------

-- Formats a 16-byte uid back into the UUID text CloudTrail wrote.
CREATE VIEW kms_events AS
SELECT
    e.id,
    CASE WHEN typeof(e.event_uid) = 'blob' AND length(e.event_uid) = 16 THEN
        lower(substr(hex(e.event_uid), 1, 8) || '-' || substr(hex(e.event_uid), 9, 4) || '-' ||
              substr(hex(e.event_uid), 13, 4) || '-' || substr(hex(e.event_uid), 17, 4) || '-' ||
              substr(hex(e.event_uid), 21, 12))
    ELSE CAST(e.event_uid AS TEXT) END AS event_id,
    e.event_time,
    e.event_name,
    e.aws_region,
    e.recipient_account_id,
    k.arn AS key_arn,
    sk.arn AS source_key_arn,
    e.requested_key,
    p.type AS principal_type,
    p.arn AS principal_arn,
    p.account_id AS principal_account_id,
    p.role_arn,
    p.session_name,
    p.user_name,
    p.invoked_by,
    p.access_key_id,
    o.arn AS object_arn,
    o.kind AS object_kind,
    o.bucket,
    o.key AS object_key,
    t.arn AS trail_arn,
    e.source_ip,
    ua.text AS user_agent,
    e.error_code,
    e.error_message,
    CASE WHEN typeof(e.request_uid) = 'blob' AND length(e.request_uid) = 16 THEN
        lower(substr(hex(e.request_uid), 1, 8) || '-' || substr(hex(e.request_uid), 9, 4) || '-' ||
              substr(hex(e.request_uid), 13, 4) || '-' || substr(hex(e.request_uid), 17, 4) || '-' ||
              substr(hex(e.request_uid), 21, 12))
    ELSE CAST(e.request_uid AS TEXT) END AS request_id,
    e.shared_event_id,
    e.read_only,
    e.event_type,
    f.path AS source_file,
    e.object_id,
    e.key_id,
    e.principal_id,
    e.trail_id
FROM events e
LEFT JOIN kms_keys k ON k.id = e.key_id
LEFT JOIN kms_keys sk ON sk.id = e.source_key_id
LEFT JOIN principals p ON p.id = e.principal_id
LEFT JOIN s3_objects o ON o.id = e.object_id
LEFT JOIN trails t ON t.id = e.trail_id
LEFT JOIN user_agents ua ON ua.id = e.user_agent_id
LEFT JOIN source_files f ON f.id = e.source_file_id;

-- Every Decrypt that named an S3 location: who read which object, when, with what result.
CREATE VIEW object_reads AS
SELECT * FROM kms_events WHERE event_name = 'Decrypt' AND object_id IS NOT NULL;

-- Every encryption-context pair of every event, including aws:s3:arn and aws:cloudtrail:arn.
CREATE VIEW encryption_context AS
SELECT e.id AS event_row, 'encryptionContext' AS context, 'aws:s3:arn' AS name, o.arn AS value
FROM events e JOIN s3_objects o ON o.id = e.object_id
UNION ALL
SELECT e.id, 'encryptionContext', 'aws:cloudtrail:arn', t.arn
FROM events e JOIN trails t ON t.id = e.trail_id
UNION ALL
SELECT c.event_id,
       CASE c.scope WHEN 0 THEN 'encryptionContext' WHEN 1 THEN 'sourceEncryptionContext'
                    ELSE 'destinationEncryptionContext' END,
       n.name, c.value
FROM event_context c JOIN context_names n ON n.id = c.name_id;
