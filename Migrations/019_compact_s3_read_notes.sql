-- kmsindex schema, version 19: `--s3-reads auto`'s notes are a file and a hash of the bucket.
--
-- A note (a file holds reads of a bucket not known to matter yet) was a row of the bucket's name
-- and the file, with a UNIQUE index holding the name again. On CloudTrail's cadence nearly every
-- file notes a bucket, and the notes, dropped at the end of the run, left about 5% of a fresh
-- index as free pages (18 bytes per KMS event on the churn shape). A note is now the file and the
-- 64-bit FNV-1a of the bucket's name (`ledger_path_hash`, the hash of the ledger's paths), in
-- the order files are written: the end of the run hashes the names of the buckets that count
-- and reads again the files that noted one, for those buckets' reads only. Two names with one
-- hash can only make a file be read again for nothing.

CREATE TABLE s3_reads_staged_v19 (
    source_file_id INTEGER NOT NULL,             -- ledger_files.id
    bucket_hash    INTEGER NOT NULL,             -- FNV-1a (64-bit) of the bucket's name
    PRIMARY KEY (source_file_id, bucket_hash)
) WITHOUT ROWID;
INSERT OR IGNORE INTO s3_reads_staged_v19 (source_file_id, bucket_hash)
SELECT source_file_id, ledger_path_hash(bucket) FROM s3_reads_staged ORDER BY source_file_id;
DROP TABLE s3_reads_staged;
ALTER TABLE s3_reads_staged_v19 RENAME TO s3_reads_staged;
