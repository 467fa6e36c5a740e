-- kmsindex schema, version 22: a log file's name keeps what its folder does not already say.
--
-- CloudTrail names a log file ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz, in the
-- folder .../ACCOUNT/CloudTrail/REGION/YYYY/MM/DD: the first 48 or so of its 75 bytes repeat
-- the folder. On CloudTrail's cadence (a file every few KMS events) the ledger's names were
-- about 5 bytes per KMS event, over a year's 1.4 million files 100 MB.
--
-- A folder now keeps what the names of the log files in it start with (`name_prefix`, as
-- s3_folders does), and a file's name leaves it out (`name_cut` = 1) when it starts with it;
-- source_files puts the path back together.

ALTER TABLE ledger_dirs ADD COLUMN name_prefix TEXT;
-- The path as bytes: a text is read up to a NUL.
UPDATE ledger_dirs SET name_prefix = cloudtrail_name_prefix(CAST(path || '/' AS BLOB));

ALTER TABLE ledger_files ADD COLUMN name_cut INTEGER NOT NULL DEFAULT 0;
-- In bytes (as blobs): SQLite counts a text's characters up to a NUL only.
UPDATE ledger_files
SET name = CAST(substr(CAST(ledger_files.name AS BLOB), length(CAST(d.name_prefix AS BLOB)) + 1) AS TEXT), name_cut = 1
FROM ledger_dirs d
WHERE d.id = ledger_files.dir_id AND d.name_prefix IS NOT NULL
  AND length(CAST(ledger_files.name AS BLOB)) > length(CAST(d.name_prefix AS BLOB))
  AND substr(CAST(ledger_files.name AS BLOB), 1, length(CAST(d.name_prefix AS BLOB))) = CAST(d.name_prefix AS BLOB);

-- As migration 017 made it, with the name put back.
DROP VIEW source_files;
CREATE VIEW source_files AS
SELECT f.id,
       coalesce(d.path || '/', '') || CASE WHEN f.name_cut THEN coalesce(d.name_prefix, '') ELSE '' END || f.name AS path,
       f.size, f.mtime_ns,
       CASE f.outcome WHEN 0 THEN 'ingested' WHEN 1 THEN 'skipped' ELSE 'failed' END AS outcome,
       f.reason, f.records, f.kms_events, f.events_added, f.malformed_records, f.uncompressed_bytes,
       strftime('%Y-%m-%dT%H:%M:%SZ', f.read_at, 'unixepoch') AS read_at,
       CASE WHEN f.content_sha256 IS NOT NULL THEN lower(hex(f.content_sha256)) END AS content_sha256,
       CASE WHEN f.file_sha256 IS NOT NULL THEN lower(hex(f.file_sha256)) END AS file_sha256
FROM ledger_files f LEFT JOIN ledger_dirs d ON d.id = f.dir_id;
