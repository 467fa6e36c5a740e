-- kmsindex schema, version 23: the index of files by outcome holds the files not ingested only.
--
-- `stats` counts files by outcome; nearly every file is ingested (outcome 0), so the index listed
-- every file of the ledger for the few it is read for: 13.6 MB over a year's 1.4 million files,
-- 1.7 bytes per KMS event. It now holds the skipped and failed files; the ingested ones are the
-- rest of the ledger's rows, counted through its smallest index.

DROP INDEX ledger_files_outcome;
CREATE INDEX ledger_files_outcome ON ledger_files(outcome) WHERE outcome <> 0;
