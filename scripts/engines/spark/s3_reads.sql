-- Spark SQL: the S3 reads of `kmsindex export --out EXPORT_DIR` (reads of S3 objects that S3
-- data events recorded, `ingest --s3-reads`) as a table, s3_reads. Replace EXPORT_DIR, as in
-- kms_events.sql. A table with no reads holds one empty file.
CREATE TABLE IF NOT EXISTS s3_reads (
    id BIGINT,
    event_id STRING,
    event_time STRING,
    event_time_ms BIGINT,
    event_name STRING,
    aws_region STRING,
    recipient_account_id STRING,
    principal_type STRING,
    principal_arn STRING,
    principal_account_id STRING,
    role_arn STRING,
    session_name STRING,
    user_name STRING,
    invoked_by STRING,
    access_key_id STRING,
    on_behalf_of_user_id STRING,
    identity_store_arn STRING,
    object_arn STRING,
    bucket STRING,
    object_key STRING,
    source_ip STRING,
    user_agent STRING,
    error_code STRING,
    error_message STRING,
    bytes BIGINT,
    shared_event_id STRING,
    source_file STRING,
    object_id BIGINT,
    principal_id BIGINT,
    event_date DATE
)
USING json
OPTIONS (path 'EXPORT_DIR/s3_reads', mode 'FAILFAST')
PARTITIONED BY (event_date);

MSCK REPAIR TABLE s3_reads;
