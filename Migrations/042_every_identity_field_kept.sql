-- kmsindex schema, version 42: the fields of userIdentity that tell callers apart are kept.
--
-- Six fields were not read. Three tell callers apart, and callers that differed only in them
-- were one principal: two Lambda functions (an AWS service whose credentials `inScopeOf`
-- names), two web identity or SAML users of different providers. They are now part of a
-- principal's identity, appended to its identity text only when one is given (the two of
-- schema 33 before them): every principal without them keeps its `identity_hash`. The other
-- three are the session's attributes (MFA, creation time, how an EC2 instance got its
-- credentials), constant for one access key: stored with the row its first event makes, not
-- compared. All six are columns of `principal_rows`, shown by `principals`; rows stored before
-- have NULL here.

ALTER TABLE principal_rows ADD COLUMN identity_provider TEXT;      -- userIdentity.identityProvider
ALTER TABLE principal_rows ADD COLUMN credentials_issued_to TEXT;  -- userIdentity.inScopeOf.credentialsIssuedTo
ALTER TABLE principal_rows ADD COLUMN federated_provider TEXT;     -- sessionContext.webIdFederationData.federatedProvider
ALTER TABLE principal_rows ADD COLUMN mfa_authenticated TEXT;      -- sessionContext.attributes.mfaAuthenticated
ALTER TABLE principal_rows ADD COLUMN session_created TEXT;        -- sessionContext.attributes.creationDate
ALTER TABLE principal_rows ADD COLUMN ec2_role_delivery TEXT;      -- sessionContext.ec2RoleDelivery

DROP VIEW principals;

-- As migration 033 made it, with the six columns after its own.
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
       p.session_name, p.invoked_by, p.access_key_id, p.source_identity, p.credential_from_console,
       p.on_behalf_of_user_id, p.identity_store_arn,
       p.identity_provider, p.credentials_issued_to, p.federated_provider,
       p.mfa_authenticated, p.session_created, p.ec2_role_delivery
FROM principal_rows p;
