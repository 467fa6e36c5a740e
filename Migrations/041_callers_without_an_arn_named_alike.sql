-- kmsindex schema, version 41: findings name a caller without an ARN as who-read names it.
--
-- Findings named such a caller otherwise than who-read, `key`, `denied` and `reads
-- --principal`: an AWS service by its bare name (`lambda.amazonaws.com`), a SAML or web
-- identity user by its principalId, an `Unknown` caller by its bare type. Neither name was
-- taken by `reads --principal`, and two `Unknown` users of one account were one reader. Findings
-- now use the phrase of the other commands, `TYPE: NAME` (`AWSService: lambda.amazonaws.com`,
-- `SAMLUser: jdoe`, `Unknown: bob`), and a read whose record has no caller is by `unknown`.
--
-- Two tables keep such names: silence rules (`findings_silenced.principal`) and the readers
-- prune noted (`log_readers_pruned`). Each old name is replaced by the new names of the callers
-- it stood for: a rule that silenced `SAMLUser` silences each SAML user it silenced before.

CREATE TEMP TABLE callers_renamed AS
SELECT DISTINCT old, new FROM (
    SELECT coalesce(p.type || ': ' || p.on_behalf_of_user_id,
                    CASE WHEN p.type = 'AWSAccount' THEN 'AWSAccount: ' || p.account_id END,
                    p.invoked_by, p.principal_id, p.type) AS old,
           coalesce(coalesce(p.type, 'unknown') || ': ' || p.on_behalf_of_user_id,
                    CASE WHEN p.type = 'AWSAccount' THEN 'AWSAccount: ' || p.account_id END,
                    coalesce(p.type, 'unknown') || ': ' || p.invoked_by,
                    coalesce(p.type, 'unknown') || ': ' || p.user_name,
                    coalesce(p.type, 'unknown') || ': ' || p.principal_id,
                    coalesce(p.type, 'unknown') || ': ' || p.account_id, p.type, 'unknown') AS new
    FROM principals p
    WHERE (p.arn IS NULL OR p.arn = '') AND (p.role_arn IS NULL OR p.role_arn = '')
      AND (EXISTS (SELECT 1 FROM findings_silenced WHERE principal <> '') OR EXISTS (SELECT 1 FROM log_readers_pruned))
)
WHERE old IS NOT NULL AND old <> new;

INSERT OR IGNORE INTO findings_silenced (kind, principal, subject, added_at)
SELECT s.kind, r.new, s.subject, s.added_at FROM findings_silenced s JOIN callers_renamed r ON r.old = s.principal;
DELETE FROM findings_silenced
WHERE principal IN (SELECT old FROM callers_renamed) AND principal NOT IN (SELECT new FROM callers_renamed);

INSERT OR IGNORE INTO log_readers_pruned (principal)
SELECT r.new FROM log_readers_pruned l JOIN callers_renamed r ON r.old = l.principal;
DELETE FROM log_readers_pruned
WHERE principal IN (SELECT old FROM callers_renamed) AND principal NOT IN (SELECT new FROM callers_renamed);

DROP TABLE callers_renamed;
