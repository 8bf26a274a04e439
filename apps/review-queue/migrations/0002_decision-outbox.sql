-- Up Migration
-- The decision outbox: the signed event that tells the others about a decision (a review decision, an outcome-check
-- answer, an assessment) is stored in the item's row by the same UPDATE that decides it, and published after. A
-- decision whose event could not be published (the bus was down) is found by the sweeper and published again, so a
-- decided item never leaves its action waiting for ever. The event's id is derived from its cause: publishing it
-- twice is harmless (consumers drop the copy).
ALTER TABLE review_items
  ADD COLUMN decision_topic text,
  ADD COLUMN decision_event jsonb,
  ADD COLUMN decision_published_at timestamptz;

-- What the sweeper looks for: decided, with an event, not yet published (few rows, oldest first).
CREATE INDEX review_items_unpublished ON review_items (decided_at, action_id) WHERE decision_event IS NOT NULL AND decision_published_at IS NULL;
