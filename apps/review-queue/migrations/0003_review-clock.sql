-- Up Migration
-- The review clock (apps/review-queue/src/review-clock, ADR 0012): a pending approval escalates at a share of its SLA
-- (`escalate_at`; its roles gain `escalate_to`), and at its due time (`due_at`) it expires, or goes once to its
-- `fallback_team` (with a new due time, `sla_seconds` on). Each instance's clock claims the items whose time came with
-- SELECT … FOR UPDATE SKIP LOCKED and takes the step, with its event, in the same transaction: of several instances one
-- takes each step, a restart loses no timer (the times are here), and a reviewer's decision racing the step waits for it.
-- Items queued before this migration have no escalation time: they expire at their due time, as they always should have.
ALTER TABLE review_items
  ADD COLUMN escalate_at timestamptz,
  ADD COLUMN escalate_to text[],
  ADD COLUMN fallback_team text,
  ADD COLUMN sla_seconds integer CHECK (sla_seconds > 0),
  -- The steps the clock took on the item (escalation, re-route, expiry): a step applies once, to the item it saw.
  ADD COLUMN clock_step integer NOT NULL DEFAULT 0,
  ADD COLUMN escalated_at timestamptz,
  ADD COLUMN rerouted_at timestamptz;

-- What the clock looks for: pending approvals by their next time (LEAST skips a NULL escalation time).
CREATE INDEX review_items_clock_due ON review_items ((LEAST(escalate_at, due_at)), action_id) WHERE status = 'pending' AND kind = 'approval';

-- The clock's outbox for what leaves an item pending (an escalation, a re-route): each event is stored in the step's
-- transaction and published after; one left unpublished (the bus was down, the process stopped) is published by the
-- next tick of any instance. An expiry is a decision and goes through the decision outbox in the item's row.
CREATE TABLE review_clock_events (
  event_id text PRIMARY KEY,
  action_id text NOT NULL REFERENCES review_items (action_id),
  topic text NOT NULL,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  published_at timestamptz
);

CREATE INDEX review_clock_events_unpublished ON review_clock_events (created_at, event_id) WHERE published_at IS NULL;
