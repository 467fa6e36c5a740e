-- kmsindex schema, version 7: a principal is found by a hash of its identity, not by its text.
--
-- principals.identity held every field of the principal again, joined, as its UNIQUE key: with
-- its index, more than half the bytes of the table, which credentials that rotate every hour
-- (an assumed-role session, a temporary access key each) make large. identity_hash is 64-bit
-- FNV-1a of that same text, indexed but not unique; the writer finds a principal by its hash
-- and then every field (`IS`, so that absent fields match absent ones). The function
-- principal_identity_hash(text) is one kmsindex adds to its connections.

CREATE TABLE principals_v7 (
    id                      INTEGER PRIMARY KEY,
    identity_hash           INTEGER NOT NULL,     -- FNV-1a (64-bit) of the fields, joined
    type                    TEXT,                 -- userIdentity.type; NULL when missing
    arn                     TEXT,
    account_id              TEXT,
    principal_id            TEXT,
    user_name               TEXT,
    role_arn                TEXT,                 -- sessionIssuer.arn for assumed roles
    session_name            TEXT,                 -- last part of an assumed-role/federated ARN
    invoked_by              TEXT,                 -- the AWS service that called on its behalf
    access_key_id           TEXT,
    source_identity         TEXT,
    credential_from_console TEXT
);
INSERT INTO principals_v7 (id, identity_hash, type, arn, account_id, principal_id, user_name, role_arn, session_name,
                           invoked_by, access_key_id, source_identity, credential_from_console)
SELECT id, principal_identity_hash(identity), type, arn, account_id, principal_id, user_name, role_arn, session_name,
       invoked_by, access_key_id, source_identity, credential_from_console
FROM principals ORDER BY id;
DROP TABLE principals;
PRAGMA legacy_alter_table = ON;
ALTER TABLE principals_v7 RENAME TO principals;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX principals_identity_hash ON principals(identity_hash);
CREATE INDEX principals_arn ON principals(arn);
CREATE INDEX principals_role ON principals(role_arn);
