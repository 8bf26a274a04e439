-- Up Migration
-- Since when an action's outcome has been unsettled (unknown, being reconciled, or waiting for a person's answer): set
-- when it first becomes so, kept while it stays so (a fresh reconciler lease does not restart it), cleared when it is
-- settled. The reconciler reports the count and the oldest age (`countersign_unsettled_outcomes`,
-- `countersign_unsettled_outcome_oldest_seconds`), so an action nobody settles raises an alert.
ALTER TABLE executor_actions ADD COLUMN unsettled_since timestamptz;
UPDATE executor_actions SET unsettled_since = COALESCE(claimed_at, updated_at) WHERE state IN ('outcome_unknown', 'reconciling', 'awaiting_check');
CREATE INDEX executor_actions_unsettled_since ON executor_actions (unsettled_since) WHERE unsettled_since IS NOT NULL;
