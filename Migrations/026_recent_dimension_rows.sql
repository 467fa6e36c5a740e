-- kmsindex schema, version 26: new context values and principals are indexed apart until folded in.
--
-- A context value and a principal are found by a 64-bit hash of their text: random, so each of a
-- new day's values (2,167 a day over a year of an organization's history) and principals (1,328,
-- every session a new one, its session name random) landed on its own page of an index that
-- covers all history. One more day into a year's index changed about 4,000 pages of those indexes
-- (`context_values_hash`, `principal_rows_identity_hash`, `principal_rows_role`), half of the
-- pages the day wrote.
--
-- A row is now `recent` (1) from its insert until it is folded in (0): the indexes lead with
-- `recent`, so rows added since the last fold share a small range at one end of each index, and a
-- new day's rows dirty the pages of that range only. The writer and merge look a value up in both
-- ranges (`recent IN (0, 1)`: two probes). When the recent rows of a table are more than a
-- sixteenth of its rows, the transaction that commits them folds them in (`recent = 0`), moving
-- their entries into the main range in one pass: each page of it is written once per fold, not
-- once per day. Every row existing before this migration is folded in.
ALTER TABLE context_values ADD COLUMN recent INTEGER NOT NULL DEFAULT 0;
DROP INDEX context_values_hash;
CREATE INDEX context_values_hash ON context_values(recent, value_hash);

ALTER TABLE principal_rows ADD COLUMN recent INTEGER NOT NULL DEFAULT 0;
DROP INDEX principal_rows_identity_hash;
CREATE INDEX principal_rows_identity_hash ON principal_rows(recent, identity_hash);
DROP INDEX principal_rows_role;
CREATE INDEX principal_rows_role ON principal_rows(role_id, recent, session_name) WHERE role_id IS NOT NULL;
