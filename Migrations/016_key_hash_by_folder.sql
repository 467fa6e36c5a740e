-- kmsindex schema, version 16: the key hash keeps a folder's keys together.
--
-- s3_objects.key_hash was a 32-bit FNV-1a of the whole key: the keys of one folder (a day of an
-- account and region's CloudTrail log files) landed on every page of its index, so one more
-- day written into a year's index changed thousands of pages of it (a quarter of the pages the
-- day's ingest wrote). It is now the hash of the folder (up to the last '/') in the high bits
-- and of the file name in the low bits (`key_hash(text)`, the function kmsindex adds to its
-- connections, computes it): a folder's keys are neighbours in the index. Every stored hash is
-- computed again; the index is built again after, in one pass.
DROP INDEX s3_objects_key_hash;
UPDATE s3_objects SET key_hash = key_hash(key) WHERE key_hash IS NOT NULL;
CREATE INDEX s3_objects_key_hash ON s3_objects(key_hash);
