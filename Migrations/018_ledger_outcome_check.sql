-- kmsindex schema, version 18: the ledger checks a file's outcome without an IN list.
--
-- As migration 005 found for s3_objects: SQLite evaluates `outcome IN (0, 1, 2)` by building a
-- temporary B-tree of the list each time the insert runs, one file's ledger row at a time. On
-- CloudTrail's cadence (thousands of small files a day) that was most of the ledger's cost to
-- the writer. The same check written as comparisons accepts exactly the same values. SQLite
-- cannot change a constraint in place, so the table is copied, ids and columns unchanged; the
-- views name it by name and keep working.

CREATE TABLE ledger_files_v18 (
    id                 INTEGER PRIMARY KEY,      -- events.source_file_id
    dir_id             INTEGER REFERENCES ledger_dirs(id), -- NULL when the path holds no '/'
    name               TEXT NOT NULL,            -- the path after its last '/'
    path_hash          INTEGER NOT NULL,         -- FNV-1a of the whole path's UTF-8 bytes
    size               INTEGER NOT NULL,         -- bytes on disk when read
    mtime_ns           INTEGER NOT NULL,         -- modification time, ns since 1970, when read
    outcome            INTEGER NOT NULL CHECK (outcome = 0 OR outcome = 1 OR outcome = 2), -- ingested, skipped, failed
    reason             TEXT,                     -- why skipped or failed; malformed-record note when ingested
    records            INTEGER NOT NULL DEFAULT 0, -- records in the file
    kms_events         INTEGER NOT NULL DEFAULT 0, -- KMS records in the file
    events_added       INTEGER NOT NULL DEFAULT 0, -- KMS events new to the index from this file
    malformed_records  INTEGER NOT NULL DEFAULT 0, -- KMS records rejected (see reason)
    uncompressed_bytes INTEGER,                  -- content size after gunzip
    read_at            INTEGER NOT NULL,         -- when it was read, seconds since 1970 (UTC)
    content_sha256     BLOB,                     -- SHA-256 of the decompressed content, 32 bytes
    file_sha256        BLOB                      -- SHA-256 of the file's bytes on disk, 32 bytes
);
INSERT INTO ledger_files_v18 (
    id, dir_id, name, path_hash, size, mtime_ns, outcome, reason, records, kms_events, events_added,
    malformed_records, uncompressed_bytes, read_at, content_sha256, file_sha256)
SELECT id, dir_id, name, path_hash, size, mtime_ns, outcome, reason, records, kms_events, events_added,
       malformed_records, uncompressed_bytes, read_at, content_sha256, file_sha256
FROM ledger_files ORDER BY id;
DROP TABLE ledger_files;
PRAGMA legacy_alter_table = ON;
ALTER TABLE ledger_files_v18 RENAME TO ledger_files;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX ledger_files_path ON ledger_files(dir_id, path_hash);
CREATE INDEX ledger_files_outcome ON ledger_files(outcome);
