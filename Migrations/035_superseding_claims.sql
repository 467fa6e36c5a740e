-- kmsindex schema, version 35: what an update superseded is remembered after the update goes.
--
-- An update (`addendum.reason` UPDATED_DATA) can itself be updated: B updates A, C updates B.
-- Schema 32 removed B once C came, and B's addendum with it, so an A that came after forgot it
-- was superseded and stayed: the index then kept A and C or only C by the order the files came
-- in. Each update's claim on the event it names is now kept here, by ids and time (an update
-- and its original share their eventTime), and outlives both. Claims that lead in a circle
-- (A names C, C names B, B names A) supersede none of their members (`Storage/Addenda.swift`).
CREATE TABLE superseding_claims (
    event_time   INTEGER NOT NULL,   -- the update's eventTime, and its original's
    original_uid BLOB NOT NULL,      -- the original's eventID, stored like event_uids.event_uid
    update_uid   BLOB NOT NULL,      -- the update's
    PRIMARY KEY (event_time, original_uid, update_uid)
) WITHOUT ROWID;
