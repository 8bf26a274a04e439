-- Up Migration
-- The inbox's claims, quorum progress and fuller card (issue 11, ADR 0016).
--
-- A claim is a lease: a reviewer working an item holds it until `claimed_until` (renewed while their card stays open),
-- so two reviewers do not work one item. It is coordination, not a decision: a lease that ran out frees the item with
-- nothing to clean up (every reader compares `claimed_until` with the time), and it lives in the item's row, so taking
-- it is one conditional UPDATE (of two reviewers claiming at once, one wins).
ALTER TABLE review_items
  ADD COLUMN claimed_by text,
  ADD COLUMN claimed_by_name text,
  ADD COLUMN claimed_until timestamptz,
  -- The approvers so far, in order (a copy of review_approvals kept by the same transaction that adds one): the inbox's
  -- live feed compares items, and an approval towards a quorum must show as a change on the item.
  ADD COLUMN approved_by text[],
  -- The policy decision's risk score, the rules that fired and the risk class; items queued before have none.
  ADD COLUMN risk_score double precision,
  ADD COLUMN rules_fired text[],
  ADD COLUMN risk_class text;

UPDATE review_items i
SET approved_by = ARRAY(SELECT a.approver FROM review_approvals a WHERE a.action_id = i.action_id ORDER BY a.approved_at, a.approver)
WHERE EXISTS (SELECT 1 FROM review_approvals a WHERE a.action_id = i.action_id);

-- The card's recent decisions on the same target and by the same agent (newest first, a handful each).
CREATE INDEX review_items_decided_by_target ON review_items ((proposal ->> 'target'), decided_at DESC) WHERE kind = 'approval' AND decided_at IS NOT NULL;
CREATE INDEX review_items_decided_by_agent ON review_items ((proposal -> 'proposer' ->> 'agentId'), decided_at DESC) WHERE kind = 'approval' AND decided_at IS NOT NULL;
