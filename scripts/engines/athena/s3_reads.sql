-- Amazon Athena (Glue Data Catalog): the S3 reads of the export (reads of S3 objects that S3
-- data events recorded, `ingest --s3-reads`), synced to S3 with the events, as an external
-- table, s3_reads. Replace s3://BUCKET/PREFIX. As kms_events.sql: JSON SerDe, partition
-- projection on event_date. A table with no reads holds one empty file.
CREATE EXTERNAL TABLE IF NOT EXISTS s3_reads (
    `id` bigint,
    `event_id` string,
    `event_time` string,
    `event_time_ms` bigint,
    `event_name` string,
    `aws_region` string,
    `recipient_account_id` string,
    `principal_type` string,
    `principal_arn` string,
    `principal_account_id` string,
    `role_arn` string,
    `session_name` string,
    `user_name` string,
    `invoked_by` string,
    `access_key_id` string,
    `on_behalf_of_user_id` string,
    `identity_store_arn` string,
    `object_arn` string,
    `bucket` string,
    `object_key` string,
    `source_ip` string,
    `user_agent` string,
    `error_code` string,
    `error_message` string,
    `bytes` bigint,
    `shared_event_id` string,
    `source_file` string,
    `object_id` bigint,
    `principal_id` bigint
)
PARTITIONED BY (`event_date` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'false', 'case.insensitive' = 'false')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
    OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://BUCKET/PREFIX/s3_reads/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.event_date.type' = 'date',
    'projection.event_date.format' = 'yyyy-MM-dd',
    'projection.event_date.range' = '2013-01-01,NOW',
    'projection.event_date.interval' = '1',
    'projection.event_date.interval.unit' = 'DAYS',
    'storage.location.template' = 's3://BUCKET/PREFIX/s3_reads/event_date=${event_date}/'
);
