-- kmsindex schema, version 30: a new day's context values, principals and S3 folders are never
-- moved once added.
--
-- Migrations 026 and 027 kept rows added since the last fold in a recent range of their indexes
-- (`recent = 1`), and folded them into the main range (`recent = 0`) once they were a sixteenth
-- of their table: each fold wrote about every page of the main range, and a 300 MB day's new
-- values made one due every other day. `recent` now numbers ranges: 0 the main range, then 1,
-- 2, ... A run adds its new rows to the newest range until that holds more than a quarter of the
-- table's rows; the next run starts a range after it (`Storage/RecentRows.swift`). A row is
-- found by reading every range, `recent IN (0, 1, ..., max(recent))` (the view `index_ranges`,
-- below), one probe of the index per range. The indexes are unchanged; the rows of schema 29 are
-- ranges 0 and 1.
--
-- A filter of `lookup_filters` now says which ranges it holds: every row whose `recent` is
-- below `below_range`. The filters stored before hold the main range only.
ALTER TABLE lookup_filters ADD COLUMN below_range INTEGER NOT NULL DEFAULT 1;

-- The ranges of each table, for look-ups: `recent IN (SELECT recent FROM index_ranges WHERE
-- table_name = 's3_folders') AND folder = :folder` reads the index once per range.
CREATE VIEW index_ranges (table_name, recent) AS
WITH RECURSIVE ranges(table_name, recent, newest) AS (
    SELECT 'context_values', 0, (SELECT ifnull(max(recent), 0) FROM context_values)
    UNION ALL SELECT 'principal_rows', 0, (SELECT ifnull(max(recent), 0) FROM principal_rows)
    UNION ALL SELECT 's3_folders', 0, (SELECT ifnull(max(recent), 0) FROM s3_folders)
    UNION ALL SELECT table_name, recent + 1, newest FROM ranges WHERE recent < newest
)
SELECT table_name, recent FROM ranges;
