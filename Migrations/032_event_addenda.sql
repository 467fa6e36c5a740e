-- kmsindex schema, version 32: a record's `addendum` is kept, and an update supersedes the event
-- it updates.
--
-- CloudTrail adds an `addendum` to a record delivered late (`reason` DELIVERY_DELAY or
-- SERVICE_OUTAGE) or to a record that updates one it delivered before (UPDATED_DATA, with
-- `updatedFields`, `originalRequestID` and `originalEventID`). The update is a record of its own
-- (its own eventID); the original, with the same eventTime, is superseded: an index that kept
-- both would count the call twice. Ingest and merge remove an original once its update is in
-- the index, whichever came first (`Storage/Addenda.swift`); an original that comes after its
-- update is removed by the run that adds it.
CREATE TABLE event_addenda (
    event_id             INTEGER PRIMARY KEY REFERENCES events(id),
    reason               TEXT,     -- as written: DELIVERY_DELAY, UPDATED_DATA, SERVICE_OUTAGE
    updated_fields       TEXT,
    original_request_uid BLOB,     -- stored like events.request_uid
    original_event_uid   BLOB      -- stored like event_uids.event_uid
);

-- The addenda as text, beside `kms_events` (join on `id`).
CREATE VIEW event_addenda_text AS
SELECT a.event_id AS id, a.reason, a.updated_fields,
       CASE WHEN typeof(a.original_request_uid) = 'blob' AND length(a.original_request_uid) = 16 THEN
           lower(substr(hex(a.original_request_uid), 1, 8) || '-' || substr(hex(a.original_request_uid), 9, 4) || '-' ||
                 substr(hex(a.original_request_uid), 13, 4) || '-' || substr(hex(a.original_request_uid), 17, 4) || '-' ||
                 substr(hex(a.original_request_uid), 21, 12))
       ELSE CAST(a.original_request_uid AS TEXT) END AS original_request_id,
       CASE WHEN typeof(a.original_event_uid) = 'blob' AND length(a.original_event_uid) = 16 THEN
           lower(substr(hex(a.original_event_uid), 1, 8) || '-' || substr(hex(a.original_event_uid), 9, 4) || '-' ||
                 substr(hex(a.original_event_uid), 13, 4) || '-' || substr(hex(a.original_event_uid), 17, 4) || '-' ||
                 substr(hex(a.original_event_uid), 21, 12))
       ELSE CAST(a.original_event_uid AS TEXT) END AS original_event_id
FROM event_addenda a;
