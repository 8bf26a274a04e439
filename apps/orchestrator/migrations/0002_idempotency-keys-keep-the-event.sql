-- Up Migration
-- A claimed Idempotency-Key is never released (a publish that failed may still land): a retry publishes the
-- first request's `action proposed` event again, the same event. Its id derives from the action id; its
-- correlation id and time are kept here. Null in rows written before (the retry then uses the action id and
-- `created_at`). Forward only (no Down Migration).
ALTER TABLE orchestrator_idempotency_keys ADD COLUMN correlation_id text, ADD COLUMN proposed_at timestamptz;
