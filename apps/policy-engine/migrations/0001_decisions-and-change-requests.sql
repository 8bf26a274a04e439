-- Up Migration
-- The policy engine's records of truth (ADR 0011): the first decision of each action (a redelivered proposal
-- gets it again, whatever flags and clock say now) and the contract change requests with their base claims.
-- Rate-limit and aggregate windows stay in Redis. Forward only (no Down Migration).

-- The decision that stands for an action, without its proposal (regulated data does not rest here; the
-- redelivered proposal carries it), and the nonce of the evaluation that made it. Past `expires_at` a
-- decision reads as absent and a new evaluation may take its place (rows past it are deleted now and then).
CREATE TABLE policy_engine_decisions (
  action_id text PRIMARY KEY,
  nonce text NOT NULL,
  decision jsonb NOT NULL,
  decided_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX policy_engine_decisions_expires_at ON policy_engine_decisions (expires_at);

-- Change requests. `request` is the immutable part as created (without status and decision); `status` and
-- `decision` ({by, reason, at}) change once, from pending. `expires_at` is the request's own expiry (a pending
-- request past it reads as expired); `keep_until` is when the row is forgotten (its lifetime plus retention).
CREATE TABLE policy_engine_change_requests (
  id text PRIMARY KEY,
  request jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
  base text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  keep_until timestamptz NOT NULL,
  decision jsonb
);
CREATE INDEX policy_engine_change_requests_created_at ON policy_engine_change_requests (created_at DESC);

-- Which approved request holds a base (the state a change starts from), and until when: of the requests made
-- against one base, only one is approved while the claim holds.
CREATE TABLE policy_engine_base_claims (
  base text PRIMARY KEY,
  holder text NOT NULL,
  held_until timestamptz NOT NULL
);
