-- Up Migration
-- The log's pseudonym key (the writer's `withoutOracles`): an entry keeps each action digest as its HMAC under this
-- key, so that equal digests stay equal and none checks a guess of what the entry masks. Made once, with the log, from
-- PostgreSQL's strong random source (gen_random_uuid: 122 random bits each, three of them); never changed or removed
-- (a new key would make the log's pseudonyms disagree). The service role reads it; nothing else is granted.
-- Forward only, like 0001.
CREATE TABLE IF NOT EXISTS audit_pseudonym_key (
  one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
  key_hex text NOT NULL CHECK (key_hex ~ '^[0-9a-f]{64,}$')
);
INSERT INTO audit_pseudonym_key (key_hex)
  VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
  ON CONFLICT (one_row) DO NOTHING;
DROP TRIGGER IF EXISTS audit_pseudonym_key_append_only ON audit_pseudonym_key;
CREATE TRIGGER audit_pseudonym_key_append_only BEFORE UPDATE OR DELETE ON audit_pseudonym_key FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_pseudonym_key_no_truncate ON audit_pseudonym_key;
CREATE TRIGGER audit_pseudonym_key_no_truncate BEFORE TRUNCATE ON audit_pseudonym_key FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
REVOKE ALL ON audit_pseudonym_key FROM PUBLIC;
DO $$
BEGIN
  EXECUTE format('GRANT SELECT ON audit_pseudonym_key TO %I', current_setting('countersign.audit_role'));
END $$;
