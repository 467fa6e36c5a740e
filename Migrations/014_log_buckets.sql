-- kmsindex schema, version 14: the buckets that hold CloudTrail log files.
--
-- `ingest --s3-reads auto` keeps the S3 reads of buckets that hold log files (among others),
-- and asked which those are of every log file in trail_files: a second and more on a year of
-- history, at every run. log_buckets holds the answer, kept with trail_files: by the writer
-- and merge as they add counts, made again whole when prune or a failed file recounts.

CREATE TABLE log_buckets (
    bucket_id INTEGER PRIMARY KEY              -- s3_buckets.id of a bucket of trail_files' objects
);

INSERT INTO log_buckets
SELECT DISTINCT o.bucket_id FROM trail_files t JOIN s3_objects o ON o.id = t.object_id
WHERE o.bucket_id IS NOT NULL;
