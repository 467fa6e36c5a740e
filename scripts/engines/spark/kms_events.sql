-- Spark SQL: the export of `kmsindex export --out EXPORT_DIR` as a table, kms_events.
-- Replace EXPORT_DIR with the export folder (a local path, hdfs://, or s3a://bucket/prefix).
-- The schema is given, so nothing is inferred and numbers stay numbers; the days are found
-- from the event_date=YYYY-MM-DD folder names (run the second statement again after an export
-- that added days, or use the table only through a fresh session).
CREATE TABLE IF NOT EXISTS kms_events (
    id BIGINT,
    event_id STRING,
    event_time STRING,
    event_time_ms BIGINT,
    event_name STRING,
    aws_region STRING,
    recipient_account_id STRING,
    key_arn STRING,
    source_key_arn STRING,
    requested_key STRING,
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
    object_kind STRING,
    bucket STRING,
    object_key STRING,
    trail_arn STRING,
    source_ip STRING,
    user_agent STRING,
    error_code STRING,
    error_message STRING,
    request_id STRING,
    shared_event_id STRING,
    read_only INT,
    event_type STRING,
    source_file STRING,
    object_id BIGINT,
    key_id BIGINT,
    principal_id BIGINT,
    trail_id BIGINT,
    encryption_context MAP<STRING, STRING>,
    source_encryption_context MAP<STRING, STRING>,
    destination_encryption_context MAP<STRING, STRING>,
    event_date DATE
)
USING json
OPTIONS (path 'EXPORT_DIR/kms_events', mode 'FAILFAST')
PARTITIONED BY (event_date);

MSCK REPAIR TABLE kms_events;
