-- Up Migration
-- The intake's per-tenant backlog cap (`degradation.maxPendingPerTenant`, ADR 0013; security probe 2026-12-05: two
-- agents of globex, each under its proposer cap, together pushed every tenant into `constrained`): how many approvals
-- of one tenant (the proposal's `tenant`, as stored) wait ahead of a new one, counted over this index and bounded by the cap.
CREATE INDEX review_items_pending_by_tenant ON review_items ((proposal ->> 'tenant'), created_at, action_id) WHERE status = 'pending' AND kind = 'approval';
