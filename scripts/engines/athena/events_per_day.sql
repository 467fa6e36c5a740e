-- Athena: KMS events per day.
SELECT event_date AS day, count(*) AS events
FROM kms_events
GROUP BY event_date
ORDER BY event_date
