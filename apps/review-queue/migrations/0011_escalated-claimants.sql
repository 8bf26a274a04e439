-- Up Migration
-- The reviewers whose claim a review clock step (an escalation, a re-route) ended: they held the item while it sat
-- undecided, and none of them claims it again (red team, 2026-12-05: the holder re-claimed the escalated item at once
-- and kept the next tier out). Absent (NULL): no step ended anyone's claim.
ALTER TABLE review_items ADD COLUMN escalated_claimants text[];
-- The claims a reviewer holds are counted at each new claim (at most `MAX_CLAIMS_PER_REVIEWER`, claims/).
CREATE INDEX review_items_claimed_by ON review_items (claimed_by) WHERE claimed_by IS NOT NULL AND status = 'pending';
