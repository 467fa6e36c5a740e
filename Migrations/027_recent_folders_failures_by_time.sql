-- kmsindex schema, version 27: new S3 folders are indexed apart until folded in, as context values
-- and principals are since schema 26; failed calls are indexed by time first.
--
-- One more day into a year's index (20,538 events, 4,560 new S3 locations in 253 new folders,
-- 338 failed calls) changed 4,777 pages. 257 of them were pages of the UNIQUE index of
-- `s3_folders` (of 920): a data lake's new folders (one per user, one per upload) have random
-- names, so each landed on its own page of an index of every folder ever seen. 317 were pages of
-- `events_error` (of 1,177), which led with the error code and then the caller: each failed call
-- landed in the range of its caller.
--
-- `s3_folders` now has `recent`, as `context_values` and `principal_rows` have (migration 026):
-- 1 from a row's insert until it is folded in, leading its index, so a day's new folders share a
-- small range of it. A folder's text is unique within each range (`s3_folders_folder`); the
-- writer and merge look in both (`recent IN (0, 1) AND folder = ...`) before adding one. Every
-- folder existing before this migration is folded in. (S3 locations are not kept so: their key
-- hash already puts a folder's keys side by side, migration 016, and a fold would cost more.)
--
-- `events_error` holds the same columns (every query of failed calls reads them from the index
-- alone: `denied` groups them itself) with `event_time` first: a day's failed calls are added at
-- its end, and a window of time (`denied --since`) is a range of it.

CREATE TABLE s3_folders_v27 (
    id          INTEGER PRIMARY KEY,
    folder      TEXT NOT NULL,                   -- a key up to its last '/', included
    name_prefix TEXT,                            -- what a log file's name in it starts with
    recent      INTEGER NOT NULL DEFAULT 0       -- 1 until folded into the main range (as context_values)
);
INSERT INTO s3_folders_v27 (id, folder, name_prefix) SELECT id, folder, name_prefix FROM s3_folders ORDER BY id;
DROP TABLE s3_folders;
-- Legacy: the view s3_objects, which names s3_folders, is not checked while it is missing (see
-- migration 024); it names the new table once renamed.
PRAGMA legacy_alter_table = ON;
ALTER TABLE s3_folders_v27 RENAME TO s3_folders;
PRAGMA legacy_alter_table = OFF;
CREATE UNIQUE INDEX s3_folders_folder ON s3_folders(recent, folder);

DROP INDEX events_error;
CREATE INDEX events_error ON events(event_time, error_code_sid, principal_id, key_id, requested_key_sid, event_name_sid,
                                   object_id)
    WHERE error_code_sid IS NOT NULL;
