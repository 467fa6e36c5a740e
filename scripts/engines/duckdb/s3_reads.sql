-- DuckDB: the S3 reads of `kmsindex export --out EXPORT_DIR` (reads of S3 objects that S3 data
-- events recorded, `ingest --s3-reads`) as a view, s3_reads. Replace EXPORT_DIR, as in
-- kms_events.sql. A table with no reads holds one empty file: DuckDB refuses a pattern that
-- matches no file.
CREATE OR REPLACE VIEW s3_reads AS
SELECT * FROM read_json(
    'EXPORT_DIR/s3_reads/*/*.json.gz',
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
        'principal_type': 'VARCHAR',
        'principal_arn': 'VARCHAR',
        'principal_account_id': 'VARCHAR',
        'role_arn': 'VARCHAR',
        'session_name': 'VARCHAR',
        'user_name': 'VARCHAR',
        'invoked_by': 'VARCHAR',
        'access_key_id': 'VARCHAR',
        'on_behalf_of_user_id': 'VARCHAR',
        'identity_store_arn': 'VARCHAR',
        'object_arn': 'VARCHAR',
        'bucket': 'VARCHAR',
        'object_key': 'VARCHAR',
        'source_ip': 'VARCHAR',
        'user_agent': 'VARCHAR',
        'error_code': 'VARCHAR',
        'error_message': 'VARCHAR',
        'bytes': 'BIGINT',
        'shared_event_id': 'VARCHAR',
        'source_file': 'VARCHAR',
        'object_id': 'BIGINT',
        'principal_id': 'BIGINT'
    }
);
