-- Up Migration
-- A version made by approve with changes is the same action as the version it revised: its queue time is the first
-- version's. Each item keeps when its action was first queued (null: an agent's proposal as it came, queued at
-- created_at), so the approval latency and the decision-quality records of a revised action count from the first
-- queueing, not from the revision (auditor probe, 2026-12-07: a carried approval read as about 0 s). Revisions queued
-- before this take it from the earliest item of their story (the versions of an action share its correlation id).
-- Forward only.
ALTER TABLE review_items ADD COLUMN first_queued_at timestamptz;
UPDATE review_items n SET first_queued_at = s.first
  FROM (SELECT correlation_id, min(created_at) AS first FROM review_items GROUP BY correlation_id) s
  WHERE n.authored_by IS NOT NULL AND cardinality(n.authored_by) > 0 AND s.correlation_id = n.correlation_id AND s.first < n.created_at;
