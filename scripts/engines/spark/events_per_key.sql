-- Spark SQL: KMS events and failed calls per key (NULL: calls that named no key).
SELECT key_arn, count(*) AS events, count(error_code) AS failed
FROM kms_events
GROUP BY key_arn
ORDER BY key_arn NULLS FIRST;
