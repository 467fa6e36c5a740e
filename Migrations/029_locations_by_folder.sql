-- kmsindex schema, version 29: S3 locations indexed by their folder, then their key hash.
--
-- The index of `s3_object_rows` was its `key_hash` alone: the hash of the key's folder in the
-- high bits put each folder's keys together, but each new folder at a random place. A data
-- lake's day names thousands of new folders (a folder per user, per partition): over a year of
-- history, one more 300 MB day changed 2,368 pages of that index, a page per folder, and those
-- scattered pages were written to the log, flushed and checkpointed. A new folder's row has a
-- new id, the largest yet: indexed by (folder_id, key_hash), a day's new folders are added at
-- the end of the index, and a folder's keys are still neighbours.
--
-- A key is found through its folder: the folder's row (`s3_folders`, by its text, the key up
-- to its last '/'), then (folder_id, key_hash); a location whose key its folder does not start
-- (no '/', or a log folder's other file) is kept whole, with no folder_id, and found with
-- (NULL, key_hash). Bucket-level locations are (NULL, NULL).
DROP INDEX s3_object_rows_key_hash;
CREATE INDEX s3_object_rows_folder_hash ON s3_object_rows(folder_id, key_hash);
