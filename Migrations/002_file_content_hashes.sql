-- SHA-256 (lowercase hex) of each file's decompressed content, as CloudTrail digest files
-- record it: `kmsindex audit` compares the two without reading the log files again.
ALTER TABLE source_files ADD COLUMN content_sha256 TEXT;
CREATE INDEX source_files_sha256 ON source_files(content_sha256);
