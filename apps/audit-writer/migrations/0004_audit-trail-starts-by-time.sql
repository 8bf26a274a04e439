-- Up Migration
-- The completeness check (every 60 s) finds the actions proposed or decided in its window by event time: without an
-- index it read the whole log, which is never pruned, so each check cost more as the log grew (a scale probe,
-- 2026-12-06: 79 ms at 52,000 rows, 395 ms at 1,000,000, for the same 1,000 actions in the window). Partial: only the
-- two types it starts from, so an append pays for it on those rows alone. The types are spelled as the repository's
-- statement spells them (`trailsSince`). Forward only, like 0001.
CREATE INDEX IF NOT EXISTS audit_log_trail_starts ON audit_log (event_time)
  WHERE type IN ('orchestrator.action.proposed.v1', 'policy.decision.made.v1');
