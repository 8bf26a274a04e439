-- Up Migration
-- The intake's per-proposer backlog cap (`degradation.maxPendingPerProposer`, ADR 0013): how many approvals of one
-- proposer (its authenticated principal) wait ahead of a new one, counted over this index and bounded by the cap.
CREATE INDEX review_items_pending_by_proposer ON review_items (proposer_principal, created_at, action_id) WHERE status = 'pending' AND kind = 'approval';
