-- Up Migration
-- How far the home's audit log had got: the newest signed tree head the audit writer kept, recorded in the database as
-- well, so that a start can tell an audit log older than the database (audit/ restored from another backup) from a
-- whole one (docs/adr/0051). One row. Forward only.
CREATE TABLE IF NOT EXISTS embedded_audit_progress (
  id smallint PRIMARY KEY CHECK (id = 1),
  tree_size bigint NOT NULL,
  root_hash text NOT NULL,
  signed_at text NOT NULL
);
