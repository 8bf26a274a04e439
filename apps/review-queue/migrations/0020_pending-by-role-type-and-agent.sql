-- Up Migration
-- The inbox filtered on an action type or an agent walked a role's pending items in due order and skipped those of
-- other types or agents: a filter matching one item at the back of 100,000 read them all, 220 ms at every refresh (a
-- bench probe, 2026-12-07). The role's items are now kept by type and by agent too, in due order, as by tenant
-- (migration 0019): such a page reads the items it shows. Derived, kept by the trigger; forward only.
ALTER TABLE review_items_by_role ADD COLUMN action_type text, ADD COLUMN agent_id text;

UPDATE review_items_by_role b SET action_type = i.proposal ->> 'actionType', agent_id = i.proposal -> 'proposer' ->> 'agentId'
  FROM review_items i WHERE i.action_id = b.action_id;

CREATE INDEX review_items_by_role_type_due ON review_items_by_role (role, action_type, due_at, action_id);
CREATE INDEX review_items_by_role_agent_due ON review_items_by_role (role, agent_id, due_at, action_id);

CREATE OR REPLACE FUNCTION review_items_by_role_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.due_at IS NOT DISTINCT FROM OLD.due_at
       AND NEW.required_roles IS NOT DISTINCT FROM OLD.required_roles
       AND (NEW.proposal ->> 'tenant') IS NOT DISTINCT FROM (OLD.proposal ->> 'tenant')
       AND (NEW.proposal ->> 'actionType') IS NOT DISTINCT FROM (OLD.proposal ->> 'actionType')
       AND (NEW.proposal -> 'proposer' ->> 'agentId') IS NOT DISTINCT FROM (OLD.proposal -> 'proposer' ->> 'agentId') THEN
      RETURN NULL;
    END IF;
    DELETE FROM review_items_by_role WHERE action_id = OLD.action_id;
  END IF;
  IF NEW.status = 'pending' THEN
    INSERT INTO review_items_by_role (action_id, role, due_at, tenant, action_type, agent_id)
      SELECT NEW.action_id, r, NEW.due_at, NEW.proposal ->> 'tenant', NEW.proposal ->> 'actionType', NEW.proposal -> 'proposer' ->> 'agentId'
        FROM unnest(CASE WHEN cardinality(NEW.required_roles) = 0 THEN ARRAY[''] ELSE NEW.required_roles END) AS r
      ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
