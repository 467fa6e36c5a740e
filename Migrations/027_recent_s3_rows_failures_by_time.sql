-- kmsindex schema, version 27: new S3 locations and folders are indexed apart until folded in, as
-- context values and principals are since schema 26; failed calls are indexed by time first.
--
-- One more day into a year's index (20,538 events, 4,560 new S3 locations in 253 new folders,
-- 2,000 failed calls) changed 4,777 pages. Of those, 384 were pages of `s3_object_rows_key_hash`
-- and 257 of the UNIQUE index of `s3_folders` (of 920): a data lake's new folders (one per user,
-- one per upload) have random names, so each landed on its own page of an index of every folder
-- ever seen, and its objects with them. 317 were pages of `events_error` (of 1,177), which led
-- with the error code and then the caller: each failed call landed in the range of its caller.
--
-- `s3_object_rows` and `s3_folders` now have `recent`, as `context_values` and `principal_rows`
-- have (migration 026): 1 from a row's insert until it is folded in, leading their indexes, so a
-- day's new rows share a small range of each. Look-ups read both ranges: `recent IN (0, 1) AND
-- key_hash = ...` (the view `s3_objects` shows `recent`), `recent IN (0, 1) AND folder = ...`.
-- A folder's text is unique within each range (`s3_folders_folder`); the writer and merge look in
-- both before adding one. Every row existing before this migration is folded in.
--
-- `events_error` holds the same columns (every query of failed calls reads them from the index
-- alone: `denied` groups them itself) with `event_time` first: a day's failed calls are added at
-- its end, and a window of time (`denied --since`) is a range of it.

ALTER TABLE s3_object_rows ADD COLUMN recent INTEGER NOT NULL DEFAULT 0;
DROP INDEX s3_object_rows_key_hash;
CREATE INDEX s3_object_rows_key_hash ON s3_object_rows(recent, key_hash);

-- The view is made again below, with `recent`.
DROP VIEW s3_objects;

CREATE TABLE s3_folders_v27 (
    id          INTEGER PRIMARY KEY,
    folder      TEXT NOT NULL,                   -- a key up to its last '/', included
    name_prefix TEXT,                            -- what a log file's name in it starts with
    recent      INTEGER NOT NULL DEFAULT 0       -- 1 until folded into the main range (as context_values)
);
INSERT INTO s3_folders_v27 (id, folder, name_prefix) SELECT id, folder, name_prefix FROM s3_folders ORDER BY id;
DROP TABLE s3_folders;
-- Legacy: the views naming s3_objects are not checked while it is missing (see migration 024).
PRAGMA legacy_alter_table = ON;
ALTER TABLE s3_folders_v27 RENAME TO s3_folders;
PRAGMA legacy_alter_table = OFF;
CREATE UNIQUE INDEX s3_folders_folder ON s3_folders(recent, folder);

-- The folder is read by a subquery, not a join (see migration 020).
CREATE VIEW s3_objects AS
SELECT o.id, o.kind, o.bucket_id,
       CASE WHEN o.folder_id IS NULL THEN o.name
            ELSE (SELECT f.folder || coalesce(f.name_prefix, '') FROM s3_folders f WHERE f.id = o.folder_id) || o.name
       END AS key,
       o.key_hash, o.recent
FROM s3_object_rows o;

DROP INDEX events_error;
CREATE INDEX events_error ON events(event_time, error_code_sid, principal_id, key_id, requested_key_sid, event_name_sid,
                                   object_id)
    WHERE error_code_sid IS NOT NULL;
