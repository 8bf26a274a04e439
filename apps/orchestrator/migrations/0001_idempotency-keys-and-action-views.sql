-- Up Migration
-- The orchestrator's records of truth (ADR 0011): a client's Idempotency-Key must outlive a Redis flush, or a
-- retried POST executes twice; the action view must outlive it, or GET /v1/actions/{id} forgets every action.
-- Forward only (no Down Migration).

-- A client's Idempotency-Key, scoped by principal: the action its first request created. A key past
-- `expires_at` reads as absent and may be claimed again (rows past it are deleted now and then).
CREATE TABLE orchestrator_idempotency_keys (
  principal text NOT NULL,
  idempotency_key text NOT NULL,
  action_id text NOT NULL,
  request_digest text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (principal, idempotency_key)
);
CREATE INDEX orchestrator_idempotency_keys_expires_at ON orchestrator_idempotency_keys (expires_at);

-- The read model behind GET /v1/actions/{id}: one row per event of an action (a redelivered event, same id,
-- changes nothing). `entry` is the timeline entry as shown, masked before it is written: no regulated data.
CREATE TABLE orchestrator_action_timeline (
  action_id text NOT NULL,
  event_id text NOT NULL,
  entry jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (action_id, event_id)
);
