-- kmsindex schema, version 40: prune remembers who had read the log files.
--
-- `new-log-reader` names a principal that read CloudTrail log files for the first time: one
-- whose reads of them are all in the window. After `prune` deleted a principal's old reads,
-- its next read looked like a first one, under any retention. Prune now notes, before it
-- deletes them, the principals of the successful reads of log files it deletes (as findings
-- name them: the role for every session of an assumed role, else the ARN...), and findings
-- takes a principal noted here as a reader of before. Merge copies the notes.

CREATE TABLE log_readers_pruned (
    principal TEXT PRIMARY KEY   -- as findings name a principal (`FindingsScope.principalSQL`)
) WITHOUT ROWID;
