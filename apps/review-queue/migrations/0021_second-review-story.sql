-- Up Migration
-- A blind second review withholds its item's first decision from the second reviewer; the decisions on the other
-- versions of the same action told it all the same (red team, 2026-12-07: a revision's new version showed "approved by
-- alice", and the target's recent decisions named the revision). Each second review keeps its item's correlation id, the
-- story every version of an action shares, and the decisions of that story are withheld while the review is open.
-- Forward only.
ALTER TABLE second_reviews ADD COLUMN correlation_id text;
UPDATE second_reviews s SET correlation_id = r.correlation_id FROM review_items r WHERE r.action_id = s.action_id;
CREATE INDEX second_reviews_open_story ON second_reviews (correlation_id) WHERE verdict IS NULL;
