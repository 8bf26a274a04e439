-- Up Migration
-- A restore accepted on purpose (docs/adr/0051): the database's mark may be cleared to follow the audit log as it is,
-- and `checked_from` is the first audit log entry whose event the database must hold (an accepted restore moves it past
-- the entries the database never had). Forward only.
ALTER TABLE embedded_audit_progress ALTER COLUMN tree_size DROP NOT NULL;
ALTER TABLE embedded_audit_progress ALTER COLUMN root_hash DROP NOT NULL;
ALTER TABLE embedded_audit_progress ALTER COLUMN signed_at DROP NOT NULL;
ALTER TABLE embedded_audit_progress ADD COLUMN IF NOT EXISTS checked_from bigint NOT NULL DEFAULT 0;
