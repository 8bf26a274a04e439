-- Up Migration
-- Automation ratio and override frequency for the governance page (apps/review-queue/src/decision-quality, ADR 0018):
-- the lane of every policy decision, and every operator override the review queue hears of. One row per event, keyed
-- by its id, so a redelivered event counts once; the page sums them per hour or day. Kept for the page's retention.

CREATE TABLE lane_decisions (
  event_id text PRIMARY KEY,
  lane text NOT NULL CHECK (lane IN ('autonomous', 'review', 'prohibited')),
  decided_at timestamptz NOT NULL
);
CREATE INDEX lane_decisions_decided ON lane_decisions (decided_at);

-- An operator overriding the controls: a degradation-mode override set or cleared, an autonomy flag changed.
CREATE TABLE operator_overrides (
  event_id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('mode-override', 'autonomy-change')),
  at timestamptz NOT NULL
);
CREATE INDEX operator_overrides_at ON operator_overrides (at);
