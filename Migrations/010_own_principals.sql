-- kmsindex schema, version 10: the indexer's own principals.
--
-- The role (or user) that syncs the log files reads every one of them once: its reads are true
-- but bury the ones that matter. Reads by these principals are marked `own_read` by who-read
-- and reads, and left out of their table output. A role ARN covers all its sessions
-- (principals.role_arn); any other ARN matches principals.arn.

CREATE TABLE own_principals (
    id       INTEGER PRIMARY KEY,
    arn      TEXT NOT NULL UNIQUE,
    added_at TEXT NOT NULL            -- ISO-8601 UTC, when `own-principal add` stored it
);
