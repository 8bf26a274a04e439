-- Up Migration
-- The inbox feed's "what left the queue since" (`leftSince`): an item that arrived and was decided between two of the
-- feed's looks was in neither picture, so its watchers were never told it left, and a page that had listed it kept
-- showing it (seen in a browser test under load).
CREATE INDEX review_items_decided_at ON review_items (decided_at) WHERE decided_at IS NOT NULL;
