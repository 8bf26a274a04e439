-- Up Migration
-- The reconciler settles what a crash or a silent target left unknown (docs/adr/0004, issue 9).
-- `reconcile_attempts`: how often the reconciler took the action on (each claim is a fresh lease in claimed_at, so one
-- reconciler at a time owns it, and a reconciler that dies gives it up when the lease runs out).
-- `proposer_principal`, `contract_version`: from the policy decision, for the person asked "did this happen?"
-- (the proposer may not answer). Null on rows stored before this migration.
ALTER TABLE executor_actions ADD COLUMN reconcile_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE executor_actions ADD COLUMN proposer_principal text;
ALTER TABLE executor_actions ADD COLUMN contract_version text;
-- What the reconciler scans every period: the few actions not settled, oldest claim first.
CREATE INDEX executor_actions_unsettled ON executor_actions (claimed_at) WHERE state IN ('executing', 'reconciling', 'outcome_unknown');
