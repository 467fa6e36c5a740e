-- kmsindex schema, version 25: a caller's events by day.
--
-- `reads --principal P --since DAY` read a caller's events through an index of the caller
-- alone: every event the caller ever made, or every event of the window, was read to keep a
-- month of one role's. An instance role's sessions have hundreds of thousands of events in a
-- year. Ordered by caller and then day (UTC, as the daily summaries count days), the index
-- gives each caller's events of a window as one range of whole days, for 3 bytes more per
-- event (the time in milliseconds would take 7).

DROP INDEX events_principal;
CREATE INDEX events_principal ON events(principal_id, event_time / 86400000);
