-- DuckDB: the export as Parquet, partitioned by day like the JSON (PARQUET_DIR: an empty folder).
COPY (SELECT * FROM kms_events) TO 'PARQUET_DIR/kms_events' (FORMAT parquet, PARTITION_BY (event_date), COMPRESSION zstd);
