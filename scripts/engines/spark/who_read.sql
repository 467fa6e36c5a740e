-- Spark SQL: who read this object (an object ARN, or a bucket ARN with S3 Bucket Keys), oldest
-- first; the columns of `kmsindex who-read --format json` that the export has. :object is the ARN
-- (spark.sql(query, args={"object": arn}), Spark 3.4 and later).
-- A Decrypt of another account's key is logged in both accounts: two rows with one
-- shared_event_id (add it to the columns to tie them); who-read's table shows the caller's,
-- whose principal_type is not 'AWSAccount'.
-- Reads that S3 data events recorded (`ingest --s3-reads`; the only record of a read under S3
-- Bucket Keys or SSE-S3) come from s3_reads: source 's3', bytes sent, no key. A read both
-- recorded is two rows here, as in who-read's JSON (who-read's table shows it once).
SELECT event_time, event_name, event_id, principal_arn, principal_type, role_arn, session_name,
       invoked_by, error_code, error_message, source_ip, user_agent, key_arn, aws_region AS region,
       object_arn, 'kms' AS source, CAST(NULL AS BIGINT) AS bytes, on_behalf_of_user_id, identity_store_arn,
       event_time_ms
FROM kms_events
WHERE event_name = 'Decrypt' AND object_arn = :object
UNION ALL
SELECT event_time, event_name, event_id, principal_arn, principal_type, role_arn, session_name,
       invoked_by, error_code, error_message, source_ip, user_agent, CAST(NULL AS STRING) AS key_arn,
       aws_region AS region, object_arn, 's3' AS source, bytes, on_behalf_of_user_id, identity_store_arn,
       event_time_ms
FROM s3_reads
WHERE object_arn = :object
ORDER BY event_time_ms, event_id;
