-- kmsindex schema, version 20: a principal's row keeps what its role does not already say.
--
-- An assumed-role session's ARN is its role's session ARN prefix and its session name
-- ("arn:aws:sts::ACCOUNT:assumed-role/NAME/" || "SESSION"), its principalId the role's unique id
-- and the session name ("AROA...:" || "SESSION"), its account the role's; and the role's ARN was
-- stored again in every session's row, with an index on it and another on the session's ARN. On
-- CloudTrail's cadence with credentials that rotate every hour (a new session, a new row, every
-- few events) principals and their indexes were a sixth of the index (60 bytes per KMS event).
--
-- Roles are now rows of their own (`roles`), with the prefixes and account of the first
-- session seen. A principal's row (`principal_rows`) names its role, and leaves out its ARN,
-- account and principalId where the role's prefix and the session name give them back exactly:
-- the bits of `derived` say which (1: arn, 2: account_id, 4: principal_id). The view
-- `principals` has the columns and rows of the table it replaces, value for value.

-- events.principal_id names principal_rows now: a foreign key to a view is an error in every
-- connection that enforces foreign keys. Changing a constraint only, SQLite's documented way:
-- the table's SQL text, edited in place (no row changes); the DDL below bumps the schema cookie.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'REFERENCES principals(id)', 'REFERENCES principal_rows(id)')
WHERE type = 'table' AND name = 'events';
PRAGMA writable_schema = OFF;

CREATE TABLE roles (
    id                  INTEGER PRIMARY KEY,
    arn                 TEXT NOT NULL UNIQUE,    -- sessionIssuer.arn
    account_id          TEXT,                    -- account of the first session seen
    session_arn_prefix  TEXT,                    -- that session's ARN less its session name
    principal_id_prefix TEXT                     -- that session's principalId less its session name
);

CREATE TABLE principal_rows (
    id                      INTEGER PRIMARY KEY,
    identity_hash           INTEGER NOT NULL,     -- FNV-1a (64-bit) of the fields, joined (as before)
    type                    TEXT,
    arn                     TEXT,                 -- NULL when derived (bit 1)
    account_id              TEXT,                 -- NULL when derived (bit 2)
    principal_id            TEXT,                 -- NULL when derived (bit 4)
    user_name               TEXT,
    role_id                 INTEGER REFERENCES roles(id),
    session_name            TEXT,
    invoked_by              TEXT,
    access_key_id           TEXT,
    source_identity         TEXT,
    credential_from_console TEXT,
    derived                 INTEGER NOT NULL DEFAULT 0
);

-- A role's prefixes come from the first session seen with it, as the writer takes them.
-- In bytes (as blobs): SQLite counts a text's characters up to a NUL only.
INSERT INTO roles (arn, account_id, session_arn_prefix, principal_id_prefix)
SELECT role_arn, account_id,
       CASE WHEN substr(arn, 1, 4) = 'arn:' AND length(CAST(session_name AS BLOB)) > 0
                 AND length(CAST(arn AS BLOB)) > length(CAST(session_name AS BLOB))
                 AND substr(CAST(arn AS BLOB), -length(CAST(session_name AS BLOB))) = CAST(session_name AS BLOB)
            THEN CAST(substr(CAST(arn AS BLOB), 1, length(CAST(arn AS BLOB)) - length(CAST(session_name AS BLOB))) AS TEXT) END,
       CASE WHEN length(CAST(session_name AS BLOB)) > 0
                 AND length(CAST(principal_id AS BLOB)) > length(CAST(session_name AS BLOB))
                 AND substr(CAST(principal_id AS BLOB), -length(CAST(session_name AS BLOB))) = CAST(session_name AS BLOB)
            THEN CAST(substr(CAST(principal_id AS BLOB), 1, length(CAST(principal_id AS BLOB)) - length(CAST(session_name AS BLOB))) AS TEXT) END
FROM principals
WHERE id IN (SELECT min(id) FROM principals WHERE role_arn IS NOT NULL GROUP BY role_arn)
ORDER BY id;

-- A field is left out only where the role gives it back byte for byte.
INSERT INTO principal_rows (id, identity_hash, type, arn, account_id, principal_id, user_name, role_id, session_name,
                            invoked_by, access_key_id, source_identity, credential_from_console, derived)
SELECT id, identity_hash, type, iif(d & 1, NULL, arn), iif(d & 2, NULL, account_id), iif(d & 4, NULL, principal_id),
       user_name, role_id, session_name, invoked_by, access_key_id, source_identity, credential_from_console, d
FROM (
    SELECT p.*, r.id AS role_id,
           coalesce(p.arn = r.session_arn_prefix || p.session_name, 0)
           | (coalesce(p.account_id = r.account_id, 0) << 1)
           | (coalesce(p.principal_id = r.principal_id_prefix || p.session_name, 0) << 2) AS d
    FROM principals p LEFT JOIN roles r ON r.arn = p.role_arn
)
ORDER BY id;

DROP INDEX principals_identity_hash;
DROP INDEX principals_arn;
DROP INDEX principals_role;
DROP TABLE principals;

CREATE INDEX principal_rows_identity_hash ON principal_rows(identity_hash);
CREATE INDEX principal_rows_arn ON principal_rows(arn) WHERE arn IS NOT NULL;
CREATE INDEX principal_rows_role ON principal_rows(role_id, session_name) WHERE role_id IS NOT NULL;

-- The columns of the table it replaces. The role's fields are read by subqueries, not a join:
-- a view with a join, on the right of a LEFT JOIN, is copied whole before it is read.
CREATE VIEW principals AS
SELECT p.id, p.identity_hash, p.type,
       CASE WHEN p.derived & 1 THEN (SELECT session_arn_prefix FROM roles WHERE id = p.role_id) || p.session_name
            ELSE p.arn END AS arn,
       CASE WHEN p.derived & 2 THEN (SELECT account_id FROM roles WHERE id = p.role_id)
            ELSE p.account_id END AS account_id,
       CASE WHEN p.derived & 4 THEN (SELECT principal_id_prefix FROM roles WHERE id = p.role_id) || p.session_name
            ELSE p.principal_id END AS principal_id,
       p.user_name,
       (SELECT arn FROM roles WHERE id = p.role_id) AS role_arn,
       p.session_name, p.invoked_by, p.access_key_id, p.source_identity, p.credential_from_console
FROM principal_rows p;
