-- kmsindex schema, version 24: context values are found by a hash of their text.
--
-- A context value (an encryption-context pair's value other than the S3 object and the trail:
-- a Lambda function, a DynamoDB table, a secret...) was kept once with a UNIQUE index holding
-- its text again: 38 MB over a year's history, random text whose pages a new day's values land
-- all over. The values are now found as principals and S3 keys are: by a 64-bit FNV-1a of their
-- UTF-8 bytes (`text_hash`), indexed, and then their text.

CREATE TABLE context_values_v24 (
    id         INTEGER PRIMARY KEY,
    value_hash INTEGER NOT NULL,                 -- FNV-1a (64-bit) of the value's UTF-8 bytes
    value      TEXT NOT NULL
);
-- The value as bytes: a text is read up to a NUL.
INSERT INTO context_values_v24 (id, value_hash, value)
SELECT id, text_hash(CAST(value AS BLOB)), value FROM context_values ORDER BY id;
DROP TABLE context_values;
-- Views name context_values: renamed as in migration 007, without checking them in between.
PRAGMA legacy_alter_table = ON;
ALTER TABLE context_values_v24 RENAME TO context_values;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX context_values_hash ON context_values(value_hash);
