-- Up Migration
-- How far the audit log had been appended, beside its newest signed head: the size and root after each append (red team,
-- 2026-12-07: after a kill -9, entries past the newest head were deleted or rewritten, and the next start adopted the
-- log as it was). A start refuses a log shorter than this, or one whose entries up to it hash to another root. Null:
-- nothing appended since this column came. Forward only.
ALTER TABLE embedded_audit_progress ADD COLUMN IF NOT EXISTS appended_size bigint, ADD COLUMN IF NOT EXISTS appended_root text;
