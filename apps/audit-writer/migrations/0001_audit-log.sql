-- Up Migration
-- The append-only, hash-chained audit store. UPDATE, DELETE and TRUNCATE on the log and the heads are refused
-- by trigger, for every role; the service role (the session setting countersign.audit_role, set by the
-- runner from AUDIT_DB_ROLE) gets only INSERT and SELECT there, and may move the chain's tip, a single row.
-- IF NOT EXISTS / OR REPLACE: a database made before migrations adopts this baseline as is.
-- Forward only (no Down Migration): nothing may ever drop the audit log.
CREATE TABLE IF NOT EXISTS audit_log (
  idx bigint PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  topic text NOT NULL,
  type text NOT NULL,
  subject text NOT NULL,
  correlation_id text NOT NULL,
  actor_id text NOT NULL,
  event_time timestamptz NOT NULL,
  -- The entry's canonical JSON (RFC 8785), exactly the bytes of its Merkle leaf.
  entry_json text NOT NULL,
  leaf_hash text NOT NULL,
  tree_root text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject);
CREATE INDEX IF NOT EXISTS audit_log_correlation ON audit_log (correlation_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_id);
CREATE TABLE IF NOT EXISTS audit_tree_heads (
  tree_size bigint NOT NULL,
  root_hash text NOT NULL,
  signed_at text NOT NULL,
  key_id text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (tree_size, key_id, signed_at)
);
CREATE TABLE IF NOT EXISTS audit_chain_tip (
  id int PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL,
  hashes jsonb NOT NULL
);
INSERT INTO audit_chain_tip (id, size, hashes) VALUES (1, 0, '[]') ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_heads_append_only ON audit_tree_heads;
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_tree_heads FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_heads_no_truncate ON audit_tree_heads;
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_tree_heads FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
REVOKE ALL ON audit_log, audit_tree_heads, audit_chain_tip FROM PUBLIC;
-- The role comes from a setting, quoted by format(%I); a missing setting fails the migration (and the boot).
DO $$
BEGIN
  EXECUTE format('GRANT SELECT, INSERT ON audit_log, audit_tree_heads TO %I', current_setting('countersign.audit_role'));
  EXECUTE format('GRANT SELECT, UPDATE ON audit_chain_tip TO %I', current_setting('countersign.audit_role'));
END $$;
