-- kmsindex schema, version 36: an S3 read logged in both accounts is one read.
--
-- CloudTrail delivers a data event on another account's object to both accounts (the caller's
-- and the bucket owner's, when each logs such events), as it does a KMS call on another
-- account's key: two records, two eventIDs, one `sharedEventID`. An organization trail, or
-- merged account shards, hold both, and who-read listed the read twice. The id is now kept,
-- as `events.shared_event_uid` is (16 bytes for a UUID, else its text); rows stored before
-- have none and pair with nothing, as before.
ALTER TABLE s3_reads ADD COLUMN shared_event_uid BLOB;   -- sharedEventID
