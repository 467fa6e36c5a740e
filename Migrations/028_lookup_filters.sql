-- kmsindex schema, version 28: a filter of what each index of history holds, so that a new day's
-- values are added without a look-up there.
--
-- A context value, a principal and an S3 folder are looked up in both ranges of their index
-- (migrations 026 and 027) before they are added. A new day's are mostly new: over a year of an
-- organization's history, one more day's 2,167 new context values, 1,328 principals and 253 new
-- folders each read a page of the main range to find nothing there, and those reads were most
-- of what made the day slower into the year than into an empty index.
--
-- `lookup_filters` holds, per table, a Bloom filter of the hashes of its main range (`recent = 0`):
-- context_values.value_hash, principal_rows.identity_hash, and the 64-bit FNV-1a of
-- s3_folders.folder's UTF-8 bytes. The writer looks a value up in the main range only when the
-- filter may hold its hash. A filter must hold every row of the main range: whatever adds one
-- (an insert with `recent = 0`, a fold, a merge, a later migration) deletes the table's filter in
-- the same transaction, and the end of an ingest builds the missing ones again. It is a cache:
-- deleting a row of it is always safe.
CREATE TABLE lookup_filters (
    table_name TEXT PRIMARY KEY,                 -- context_values, principal_rows or s3_folders
    scheme     INTEGER NOT NULL,                 -- how a hash sets its bits: 1 (a filter of another is not read)
    hash_count INTEGER NOT NULL,                 -- bits set per hash
    bits       BLOB NOT NULL                     -- the bits, as little-endian 64-bit words
);
