-- Up Migration
-- A blind second verdict keeps what its reviewer was shown, as every decision does (`shown` on review.decision.made.v1
-- and review.approval.recorded.v1): the second-review page's view of the item, and whether the page sent back the
-- digest of that view (auditor pass, 2026-12-07: nothing let an auditor replay the blind page). Verdicts given before
-- it keep none. Forward only.
ALTER TABLE second_reviews ADD COLUMN shown jsonb, ADD COLUMN shown_echoed boolean;
