-- kmsindex schema, version 37: the index of events by S3 location also holds the operation and
-- the caller, so that a location's readers are counted from the index alone.
--
-- `objects` counts the distinct callers that decrypted each location it lists. The index held
-- the location only, so each Decrypt's row was read to find its operation and caller: the
-- first fifty locations of a year's organization include data-lake files read 40,000-76,000
-- times each, and `objects --limit 50` read 400,000 rows (1.2-1.6 s on a 2-core machine).
-- Through (object_id, event_name_sid, principal_id), a location's Decrypts are one range of the
-- index, their callers in order: 0.08-0.12 s, the same answer. who-read finds a location's
-- events through the same index, its first column unchanged. About two bytes more per event.
DROP INDEX events_object;
CREATE INDEX events_object ON events(object_id, event_name_sid, principal_id) WHERE object_id IS NOT NULL;
