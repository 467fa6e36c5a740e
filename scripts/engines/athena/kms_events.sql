-- Amazon Athena (Glue Data Catalog): the export, synced to S3 (`aws s3 sync EXPORT_DIR
-- s3://BUCKET/PREFIX`), as an external table, kms_events. Replace s3://BUCKET/PREFIX.
-- JSON SerDe: org.openx.data.jsonserde.JsonSerDe (reads the .json.gz files as they are).
-- Partition projection on event_date: no MSCK REPAIR TABLE and no crawler, a new day is
-- queryable as soon as its folder is synced. Files whose names start with _ (the manifest)
-- are ignored by Athena. 'case.insensitive' = 'false' keeps the names inside the context maps
-- as they are (the SerDe lowercases every key otherwise: aws:lambda:FunctionArn would not match).
CREATE EXTERNAL TABLE IF NOT EXISTS kms_events (
    `id` bigint,
    `event_id` string,
    `event_time` string,
    `event_time_ms` bigint,
    `event_name` string,
    `aws_region` string,
    `recipient_account_id` string,
    `key_arn` string,
    `source_key_arn` string,
    `requested_key` string,
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
    `object_kind` string,
    `bucket` string,
    `object_key` string,
    `trail_arn` string,
    `source_ip` string,
    `user_agent` string,
    `error_code` string,
    `error_message` string,
    `request_id` string,
    `shared_event_id` string,
    `read_only` int,
    `event_type` string,
    `source_file` string,
    `object_id` bigint,
    `key_id` bigint,
    `principal_id` bigint,
    `trail_id` bigint,
    `encryption_context` map<string,string>,
    `source_encryption_context` map<string,string>,
    `destination_encryption_context` map<string,string>
)
PARTITIONED BY (`event_date` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'false', 'case.insensitive' = 'false')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
    OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://BUCKET/PREFIX/kms_events/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.event_date.type' = 'date',
    'projection.event_date.format' = 'yyyy-MM-dd',
    'projection.event_date.range' = '2013-01-01,NOW',
    'projection.event_date.interval' = '1',
    'projection.event_date.interval.unit' = 'DAYS',
    'storage.location.template' = 's3://BUCKET/PREFIX/kms_events/event_date=${event_date}/'
);
