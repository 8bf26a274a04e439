-- Up Migration
-- Decision quality (apps/review-queue/src/decision-quality, ADR 0018): what each reviewer was shown and when, each
-- reviewer's decision with its dwell time, the canaries and the blind second reviews, and samples of the queue for
-- the governance page. None of it decides anything: the review items stay the records of the decisions. Forward only,
-- like the migrations before it: these rows are the history leads read.

-- When a reviewer was first served an item's card (the server's clock, not the browser's): dwell starts here.
CREATE TABLE card_views (
  action_id text NOT NULL,
  reviewer text NOT NULL,
  first_shown_at timestamptz NOT NULL,
  PRIMARY KEY (action_id, reviewer)
);

-- One row per reviewer and item they decided (each approver of a quorum, the rejecter): dwell = decided − first shown.
CREATE TABLE reviewer_decisions (
  action_id text NOT NULL,
  reviewer text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  sla_class text NOT NULL,
  decided_at timestamptz NOT NULL,
  -- When the item was queued: decided − queued is the approval latency.
  queued_at timestamptz NOT NULL,
  -- Absent when the card was never served to this reviewer by the inbox (a decision through the JSON API).
  dwell_ms bigint CHECK (dwell_ms >= 0),
  canary boolean NOT NULL DEFAULT false,
  -- A canary approved is a miss, audited by an event (review.canary.missed.v1); set once the event is out.
  miss_audited_at timestamptz,
  PRIMARY KEY (action_id, reviewer)
);
CREATE INDEX reviewer_decisions_decided ON reviewer_decisions (decided_at);
CREATE INDEX reviewer_decisions_unaudited ON reviewer_decisions (decided_at) WHERE canary AND decision = 'approved' AND miss_audited_at IS NULL;

-- The canaries put in the queue: which template, and when. The review item itself says nothing of it.
CREATE TABLE canaries (
  action_id text PRIMARY KEY,
  template text NOT NULL,
  action_type text NOT NULL,
  sla_class text NOT NULL,
  created_at timestamptz NOT NULL,
  retired_at timestamptz
);

-- Blind second reviews: a sampled human decision decided again by another reviewer who does not see the first.
CREATE TABLE second_reviews (
  action_id text PRIMARY KEY,
  sla_class text NOT NULL,
  required_roles text[] NOT NULL,
  first_decision text NOT NULL CHECK (first_decision IN ('approved', 'rejected')),
  -- The first decision's reviewers and the proposer: none of them may be the second reviewer.
  excluded text[] NOT NULL,
  created_at timestamptz NOT NULL,
  reviewer text,
  verdict text CHECK (verdict IN ('approved', 'rejected')),
  reason text,
  decided_at timestamptz
);
CREATE INDEX second_reviews_open ON second_reviews (created_at) WHERE verdict IS NULL;

-- The queue's depth and oldest age per SLA class, sampled every minute and kept for a retention (the governance page).
CREATE TABLE queue_samples (
  sampled_at timestamptz NOT NULL,
  sla_class text NOT NULL,
  depth integer NOT NULL CHECK (depth >= 0),
  oldest_age_ms bigint CHECK (oldest_age_ms >= 0),
  PRIMARY KEY (sampled_at, sla_class)
);

