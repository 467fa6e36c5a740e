-- Trino (Hive connector, catalog `hive`): the export, synced to S3 (`aws s3 sync EXPORT_DIR
-- s3://BUCKET/PREFIX`) or on a file system the connector reads, as a table,
-- hive.kmsindex.kms_events. Replace s3://BUCKET/PREFIX. The connector reads the .json.gz files
-- as they are (the compression comes from the name) and skips names starting with _ or .
-- (the manifest). The partition column comes last.
CREATE SCHEMA IF NOT EXISTS hive.kmsindex;

CREATE TABLE IF NOT EXISTS hive.kmsindex.kms_events (
    id bigint,
    event_id varchar,
    event_time varchar,
    event_time_ms bigint,
    event_name varchar,
    aws_region varchar,
    recipient_account_id varchar,
    key_arn varchar,
    source_key_arn varchar,
    requested_key varchar,
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
    object_kind varchar,
    bucket varchar,
    object_key varchar,
    trail_arn varchar,
    source_ip varchar,
    user_agent varchar,
    error_code varchar,
    error_message varchar,
    request_id varchar,
    shared_event_id varchar,
    read_only int,
    event_type varchar,
    source_file varchar,
    object_id bigint,
    key_id bigint,
    principal_id bigint,
    trail_id bigint,
    encryption_context map(varchar, varchar),
    source_encryption_context map(varchar, varchar),
    destination_encryption_context map(varchar, varchar),
    event_date varchar
)
WITH (
    external_location = 's3://BUCKET/PREFIX/kms_events',
    format = 'JSON',
    partitioned_by = ARRAY['event_date']
);

-- After each export and sync: register the new days, forget the removed ones.
CALL hive.system.sync_partition_metadata('kmsindex', 'kms_events', 'FULL');
