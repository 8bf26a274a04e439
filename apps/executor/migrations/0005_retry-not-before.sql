-- Up Migration
-- When a target answered an unknown outcome with `Retry-After` (a 429 or a 503, usually): no reconciler claims the
-- action before this time, so nothing is sent to the target again before it asked. NULL: the reconciler's own pace.
-- Cleared when a reconciler claims the action, and when it is settled.
ALTER TABLE executor_actions ADD COLUMN retry_not_before timestamptz;
