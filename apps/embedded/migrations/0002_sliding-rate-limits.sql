-- Up Migration
-- Sliding windows for the embedded mode's rate and aggregate limits (ADR 0007, addendum of 2026-12-01): one row
-- per distinct counted action with its time, its amount and the answer it got (a redelivery is answered the
-- same), kept while it is inside its window. A hit at `now` counts the rows of its key and window length with
-- `at > now - window_ms`. The fixed-window tables of 0001 are left as they are and no longer read: limits start
-- from an empty window after the upgrade. Forward only.
CREATE TABLE IF NOT EXISTS embedded_rate_log (
  kind text NOT NULL, -- 'hit' (rate limits) or 'add' (aggregate limits)
  key text NOT NULL,
  window_ms bigint NOT NULL, -- two limits on one key with different windows keep two logs
  hit_id text NOT NULL,
  at bigint NOT NULL, -- epoch ms of the hit
  amount double precision NOT NULL DEFAULT 0,
  count integer NOT NULL, -- the window's count once this hit was counted (its rank)
  sum double precision NOT NULL DEFAULT 0, -- the window's sum once this hit was counted
  PRIMARY KEY (kind, key, window_ms, hit_id)
);
-- One key's window, oldest first (each call prunes and counts it).
CREATE INDEX IF NOT EXISTS embedded_rate_log_window ON embedded_rate_log (kind, key, window_ms, at);
-- When each row leaves its window, for the sweep of keys that went quiet.
CREATE INDEX IF NOT EXISTS embedded_rate_log_expiry ON embedded_rate_log ((at + window_ms));
