-- Up Migration
-- The outcome outbox (issue 9): an outcome is recorded with its whole event before the event is published, and
-- `outcome_to_publish` stays true until the publish is known to have gone out. The executor's sweeper publishes
-- what is left (the process stopped, or Kafka failed, between the record and the publish). The event's id is
-- derived from its cause, so a second copy is dropped downstream.
ALTER TABLE executor_actions ADD COLUMN outcome_to_publish boolean NOT NULL DEFAULT false;
CREATE INDEX executor_actions_outcome_to_publish ON executor_actions (updated_at) WHERE outcome_to_publish;
