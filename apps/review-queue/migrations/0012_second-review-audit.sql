-- Up Migration
-- When a blind second verdict's audit event (`review.second-review.recorded.v1`) went out; NULL while still to emit
-- (red team, 2026-12-05: second verdicts were never audited). Verdicts given before this column are emitted once too.
ALTER TABLE second_reviews ADD COLUMN verdict_audited_at timestamptz;
CREATE INDEX second_reviews_unaudited ON second_reviews (decided_at) WHERE verdict IS NOT NULL AND verdict_audited_at IS NULL;
