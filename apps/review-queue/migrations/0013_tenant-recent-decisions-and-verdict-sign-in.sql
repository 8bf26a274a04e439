-- Up Migration
-- The card's recent decisions are the item's tenant's only (security probe M4: a card for globex's refund on
-- `order-902` showed acme's earlier decision on `order-902`, its reviewer and reason with it). The indexes of 0004
-- match on the target or the agent alone; these lead with the tenant, so the lookup stays one index range.
DROP INDEX review_items_decided_by_target;
DROP INDEX review_items_decided_by_agent;
CREATE INDEX review_items_decided_by_tenant_target ON review_items ((proposal ->> 'tenant'), (proposal ->> 'target'), decided_at DESC)
  WHERE kind = 'approval' AND decided_at IS NOT NULL;
CREATE INDEX review_items_decided_by_tenant_agent ON review_items ((proposal ->> 'tenant'), (proposal -> 'proposer' ->> 'agentId'), decided_at DESC)
  WHERE kind = 'approval' AND decided_at IS NOT NULL;

-- How a blind second reviewer signed in when they gave their verdict (the method, the ID token's `amr` and
-- `auth_time`): the verdict is audited after the request (`review.second-review.recorded.v1`), and its actor names
-- them as every other reviewer's does (security probe M3). NULL: given before this column, or not said.
ALTER TABLE second_reviews
  ADD COLUMN reviewer_auth_method text,
  ADD COLUMN reviewer_amr text[],
  ADD COLUMN reviewer_auth_time timestamptz;
