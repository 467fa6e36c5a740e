-- Trino (Hive connector, catalog `hive`): the S3 reads of the export (reads of S3 objects that
-- S3 data events recorded, `ingest --s3-reads`), as a table, hive.kmsindex.s3_reads, beside
-- kms_events (kms_events.sql creates the schema). Replace s3://BUCKET/PREFIX. A table with no
-- reads holds one empty file. The partition column comes last.
CREATE TABLE IF NOT EXISTS hive.kmsindex.s3_reads (
    id bigint,
    event_id varchar,
    event_time varchar,
    event_time_ms bigint,
    event_name varchar,
    aws_region varchar,
    recipient_account_id varchar,
    principal_type varchar,
    principal_arn varchar,
    principal_account_id varchar,
    role_arn varchar,
    session_name varchar,
    user_name varchar,
    invoked_by varchar,
    access_key_id varchar,
    on_behalf_of_user_id varchar,
    identity_store_arn varchar,
    object_arn varchar,
    bucket varchar,
    object_key varchar,
    source_ip varchar,
    user_agent varchar,
    error_code varchar,
    error_message varchar,
    bytes bigint,
    shared_event_id varchar,
    source_file varchar,
    object_id bigint,
    principal_id bigint,
    event_date varchar
)
WITH (
    external_location = 's3://BUCKET/PREFIX/s3_reads',
    format = 'JSON',
    partitioned_by = ARRAY['event_date']
);

-- After each export and sync: register the new days, forget the removed ones.
CALL hive.system.sync_partition_metadata('kmsindex', 's3_reads', 'FULL');
