-- Up Migration
-- The executor's durable state: one record per action, the approvals already consumed, and approvals that
-- arrived before their decision. IF NOT EXISTS: a database made before migrations adopts this baseline as is.
-- Forward only (no Down Migration): dropping these tables would forget which approvals were consumed.
CREATE TABLE IF NOT EXISTS executor_actions (
  action_id text PRIMARY KEY,
  correlation_id text NOT NULL,
  decision_event_id text NOT NULL,
  digest text NOT NULL,
  lane text NOT NULL,
  proposal jsonb NOT NULL,
  state text NOT NULL,
  authorised_by text,
  claimed_at timestamptz,
  outcome jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS executor_consumed_approvals (
  nonce text PRIMARY KEY,
  action_id text NOT NULL,
  consumed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS executor_early_approvals (
  action_id text PRIMARY KEY,
  event jsonb NOT NULL
);
