-- Trino: KMS events per day.
SELECT event_date AS day, count(*) AS events
FROM hive.kmsindex.kms_events
GROUP BY event_date
ORDER BY event_date
