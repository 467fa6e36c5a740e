-- kmsindex schema, version 21: an S3 location's folder is kept once.
--
-- A key is its folder (up to its last '/') and its name. Log files, most of what a trail's
-- readers decrypt, share their folder (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/) with the
-- other files of their day, and their names start with what the folder already says
-- (ACCOUNT_CloudTrail_REGION_YYYYMMDDT); data lakes' part files share theirs too. Over a year of
-- an organization's logs, the folders were 84 MB of the 201 MB of keys, the names' repeated
-- starts 66 MB more.
--
-- Folders are now rows of their own (`s3_folders`, with the start every log file name in them
-- has, `name_prefix`), and a location's row (`s3_object_rows`) names its folder and keeps the
-- rest of its key (`name`), or its whole key when the folder and its prefix do not start it.
-- The view `s3_objects` has the columns and rows of the table it replaces, value for value.

-- events.object_id names s3_object_rows now (see migration 020 for why, and how).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'REFERENCES s3_objects(id)', 'REFERENCES s3_object_rows(id)')
WHERE type = 'table' AND name IN ('events', 's3_reads');
PRAGMA writable_schema = OFF;

CREATE TABLE s3_folders (
    id          INTEGER PRIMARY KEY,
    folder      TEXT NOT NULL UNIQUE,            -- a key up to its last '/', included
    name_prefix TEXT                             -- what a log file's name in it starts with
);

CREATE TABLE s3_object_rows (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind = 'object' OR kind = 'prefix' OR kind = 'bucket' OR kind = 'unparsed'),
    bucket_id INTEGER REFERENCES s3_buckets(id),
    folder_id INTEGER REFERENCES s3_folders(id), -- NULL: name is the whole key
    name      TEXT,                              -- the key less its folder and the folder's name_prefix
    key_hash  INTEGER
);

INSERT OR IGNORE INTO s3_folders (folder, name_prefix)
SELECT folder, cloudtrail_name_prefix(folder) FROM (
    SELECT DISTINCT rtrim(key, replace(key, '/', '')) AS folder FROM s3_objects WHERE key IS NOT NULL
) WHERE substr(folder, -1) = '/' ORDER BY folder;

-- A key is cut only where its folder and the folder's prefix, put back, give it byte for byte.
-- (SQLite's rtrim reads its set of characters up to a NUL: a key with one keeps it whole.)
INSERT INTO s3_object_rows (id, kind, bucket_id, folder_id, name, key_hash)
SELECT id, kind, bucket_id, iif(fits, folder_id, NULL), iif(fits, CAST(substr(k, length(head) + 1) AS TEXT), key), key_hash
FROM (
    SELECT o.id, o.kind, o.bucket_id, o.key, o.key_hash, f.id AS folder_id, k, head,
           coalesce(length(k) >= length(head) AND substr(k, 1, length(head)) = head, 0) AS fits
    FROM (SELECT *, CAST(key AS BLOB) AS k FROM s3_objects) o
    LEFT JOIN s3_folders f ON f.folder = rtrim(o.key, replace(o.key, '/', ''))
    LEFT JOIN (SELECT id, CAST(folder || coalesce(name_prefix, '') AS BLOB) AS head FROM s3_folders) h ON h.id = f.id
)
ORDER BY id;

DROP INDEX s3_objects_key_hash;
DROP TABLE s3_objects;

CREATE INDEX s3_object_rows_key_hash ON s3_object_rows(key_hash);

-- The folder is read by a subquery, not a join (see migration 020).
CREATE VIEW s3_objects AS
SELECT o.id, o.kind, o.bucket_id,
       CASE WHEN o.folder_id IS NULL THEN o.name
            ELSE (SELECT f.folder || coalesce(f.name_prefix, '') FROM s3_folders f WHERE f.id = o.folder_id) || o.name
       END AS key,
       o.key_hash
FROM s3_object_rows o;
