-- Up Migration
-- How far the home's audit log had got: the newest signed tree head the audit writer kept, recorded in the database as
-- well, so that a start can tell an audit log older than the database (audit/ restored from another backup) from a
-- whole one (docs/adr/0051). One row. Forward only.
-- `checked_from`: the first audit log entry whose event the database must hold (a restore accepted on purpose moves it
-- past the entries the database never had).
CREATE TABLE IF NOT EXISTS embedded_audit_progress (
  id smallint PRIMARY KEY CHECK (id = 1),
  tree_size bigint,
  root_hash text,
  signed_at text,
  checked_from bigint NOT NULL DEFAULT 0
);
