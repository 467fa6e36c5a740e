-- Athena: the export as a Parquet table, partitioned by day (CTAS). s3://BUCKET/PARQUET_PREFIX/
-- must be empty. One CTAS (or INSERT INTO) writes at most 100 partitions: for more days, add
-- `WHERE event_date < '...'` here and INSERT INTO kms_events_parquet the rest, 100 days at a time.
CREATE TABLE kms_events_parquet
WITH (
    format = 'PARQUET',
    write_compression = 'ZSTD',
    external_location = 's3://BUCKET/PARQUET_PREFIX/kms_events/',
    partitioned_by = ARRAY['event_date']
)
AS SELECT * FROM kms_events
