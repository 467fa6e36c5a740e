-- kmsindex schema, version 5: s3_objects checks its kind without an IN list.
--
-- SQLite evaluates `kind IN ('object', 'prefix', 'bucket', 'unparsed')` by building a temporary
-- B-tree of the list each time the insert statement runs: for a one-row insert, that cost more
-- than the insert itself (about 36,000 instructions per new object, measured). The same check
-- written as comparisons costs a few. SQLite cannot change a constraint in place, so the table
-- is copied; views name it by name and keep working.

CREATE TABLE s3_objects_v5 (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind = 'object' OR kind = 'prefix' OR kind = 'bucket' OR kind = 'unparsed'),
    bucket_id INTEGER REFERENCES s3_buckets(id),
    key       TEXT,
    key_hash  INTEGER
);
INSERT INTO s3_objects_v5 (id, kind, bucket_id, key, key_hash)
SELECT id, kind, bucket_id, key, key_hash FROM s3_objects ORDER BY id;
DROP TABLE s3_objects;
PRAGMA legacy_alter_table = ON;
ALTER TABLE s3_objects_v5 RENAME TO s3_objects;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX s3_objects_key_hash ON s3_objects(key_hash);
