-- DuckDB: KMS events per day (event_date is the partition: a filter on it reads only its folders).
SELECT strftime(event_date, '%Y-%m-%d') AS day, count(*) AS events
FROM kms_events
GROUP BY event_date
ORDER BY event_date;
