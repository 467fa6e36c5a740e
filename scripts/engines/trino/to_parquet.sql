-- Trino: the export as a Parquet table, partitioned by day, in the schema's location (or add
-- external_location = 's3://BUCKET/PARQUET_PREFIX/kms_events' to the WITH list).
CREATE TABLE hive.kmsindex.kms_events_parquet
WITH (format = 'PARQUET', partitioned_by = ARRAY['event_date'])
AS SELECT * FROM hive.kmsindex.kms_events
