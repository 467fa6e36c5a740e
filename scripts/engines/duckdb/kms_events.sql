-- DuckDB: the export of `kmsindex export --out EXPORT_DIR` as a view, kms_events.
-- Replace EXPORT_DIR with the export folder (a local path, or s3://bucket/prefix with the httpfs
-- extension and credentials set up). Every column is typed: a day folder that lacks a value
-- still reads, and numbers stay numbers. event_date comes from the folder names.
CREATE OR REPLACE VIEW kms_events AS
SELECT * FROM read_json(
    'EXPORT_DIR/kms_events/*/*.json.gz',
    format = 'newline_delimited',
    compression = 'gzip',
    hive_partitioning = true,
    hive_types = {'event_date': 'DATE'},
    columns = {
        'id': 'BIGINT',
        'event_id': 'VARCHAR',
        'event_time': 'VARCHAR',
        'event_time_ms': 'BIGINT',
        'event_name': 'VARCHAR',
        'aws_region': 'VARCHAR',
        'recipient_account_id': 'VARCHAR',
        'key_arn': 'VARCHAR',
        'source_key_arn': 'VARCHAR',
        'requested_key': 'VARCHAR',
        'principal_type': 'VARCHAR',
        'principal_arn': 'VARCHAR',
        'principal_account_id': 'VARCHAR',
        'role_arn': 'VARCHAR',
        'session_name': 'VARCHAR',
        'user_name': 'VARCHAR',
        'invoked_by': 'VARCHAR',
        'access_key_id': 'VARCHAR',
        'object_arn': 'VARCHAR',
        'object_kind': 'VARCHAR',
        'bucket': 'VARCHAR',
        'object_key': 'VARCHAR',
        'trail_arn': 'VARCHAR',
        'source_ip': 'VARCHAR',
        'user_agent': 'VARCHAR',
        'error_code': 'VARCHAR',
        'error_message': 'VARCHAR',
        'request_id': 'VARCHAR',
        'shared_event_id': 'VARCHAR',
        'read_only': 'INTEGER',
        'event_type': 'VARCHAR',
        'source_file': 'VARCHAR',
        'object_id': 'BIGINT',
        'key_id': 'BIGINT',
        'principal_id': 'BIGINT',
        'trail_id': 'BIGINT',
        'encryption_context': 'MAP(VARCHAR, VARCHAR)',
        'source_encryption_context': 'MAP(VARCHAR, VARCHAR)',
        'destination_encryption_context': 'MAP(VARCHAR, VARCHAR)'
    }
);
