-- kmsindex schema, version 12: findings learn reads of log files from S3 data events too.
-- Their reads are numbered apart from events (s3_reads.id), so the findings' watermark keeps
-- the last of each. An upgraded index starts at its reads, as migration 009 started at its
-- events: the first run after the upgrade reports only what the next ingest adds.
ALTER TABLE findings_state ADD COLUMN last_s3_read_id INTEGER NOT NULL DEFAULT 0;
UPDATE findings_state SET last_s3_read_id = (SELECT coalesce(max(id), 0) FROM s3_reads);
