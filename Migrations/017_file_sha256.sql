-- kmsindex schema, version 17: the SHA-256 of each file as it is on disk.
--
-- Ingest hashed every log file's decompressed content with SHA-256, for `audit` to compare
-- with CloudTrail's digests: a quarter of an ingest's CPU time. It now hashes the file's bytes
-- as stored (gzip: about a sixth of the content's size) into `file_sha256`, and the content
-- only with `ingest --content-sha256`. `audit` hashes the content of a file it lists when its
-- row has no `content_sha256` yet, after checking that the file still has the `file_sha256`
-- it was indexed with, and keeps what it computed.
--
-- Rows written before keep their `content_sha256`; their `file_sha256` is NULL.

ALTER TABLE ledger_files ADD COLUMN file_sha256 BLOB;   -- SHA-256 of the file's bytes on disk, 32 bytes

DROP VIEW source_files;
CREATE VIEW source_files AS
SELECT f.id,
       coalesce(d.path || '/', '') || f.name AS path,
       f.size, f.mtime_ns,
       CASE f.outcome WHEN 0 THEN 'ingested' WHEN 1 THEN 'skipped' ELSE 'failed' END AS outcome,
       f.reason, f.records, f.kms_events, f.events_added, f.malformed_records, f.uncompressed_bytes,
       strftime('%Y-%m-%dT%H:%M:%SZ', f.read_at, 'unixepoch') AS read_at,
       CASE WHEN f.content_sha256 IS NOT NULL THEN lower(hex(f.content_sha256)) END AS content_sha256,
       CASE WHEN f.file_sha256 IS NOT NULL THEN lower(hex(f.file_sha256)) END AS file_sha256
FROM ledger_files f LEFT JOIN ledger_dirs d ON d.id = f.dir_id;
