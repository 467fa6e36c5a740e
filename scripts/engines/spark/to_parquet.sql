-- Spark SQL: the export as a Parquet table, partitioned by day like the JSON (PARQUET_DIR: a new folder).
CREATE TABLE kms_events_parquet
USING parquet
PARTITIONED BY (event_date)
LOCATION 'PARQUET_DIR/kms_events'
AS SELECT * FROM kms_events;
