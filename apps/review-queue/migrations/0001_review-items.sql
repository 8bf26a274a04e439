-- Up Migration
-- The review queue's records of truth: one row per review item, and the approvals counted towards its quorum.
-- `proposal` is the masked proposal every reviewer sees; the real one lives only in `sealed` (AES-256-GCM under
-- REVIEW_DATA_KEY_FILE): no column holds regulated data in clear. Forward only (no Down Migration): dropping
-- these tables would lose pending reviews, whose actions would then wait for ever.
CREATE TABLE review_items (
  action_id text PRIMARY KEY,
  -- kind and status: the port's types name their values (a new kind of item needs no migration).
  kind text NOT NULL DEFAULT 'approval',
  correlation_id text NOT NULL,
  decision_event_id text NOT NULL,
  digest text NOT NULL,
  proposal jsonb NOT NULL,
  sealed text,
  proposer_principal text NOT NULL,
  contract_version text NOT NULL,
  reasons text[] NOT NULL,
  sla_class text NOT NULL,
  required_roles text[] NOT NULL,
  quorum integer NOT NULL CHECK (quorum >= 1),
  created_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  status text NOT NULL,
  deciders text[],
  decision_reason text,
  decided_at timestamptz
);

-- The pending items by due time: the reviewer API's most-urgent-first list, and the SLA timer's "what is overdue".
CREATE INDEX review_items_pending_due ON review_items (due_at, action_id) WHERE status = 'pending';

-- One row per distinct approver of an item; `approved_at` keeps their order (the signed decision's `deciders`).
CREATE TABLE review_approvals (
  action_id text NOT NULL REFERENCES review_items (action_id),
  approver text NOT NULL,
  reason text NOT NULL,
  approved_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (action_id, approver)
);
