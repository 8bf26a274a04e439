-- Up Migration
-- The embedded mode's rate and aggregate limit windows (its policy engine's limiter; the distributed mode keeps
-- them in Redis with AOF): a restart does not reopen a window that was full. One row per window with its
-- totals, one per counted action with the answer it got (a redelivery is answered the same). Rows go once
-- their window has ended. Forward only.
CREATE TABLE IF NOT EXISTS embedded_rate_windows (
  kind text NOT NULL, -- 'hit' (rate limits) or 'add' (aggregate limits)
  key text NOT NULL,
  window_start bigint NOT NULL, -- epoch ms
  expires_at bigint NOT NULL, -- epoch ms: the window's end
  count integer NOT NULL,
  sum double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, key, window_start)
);
CREATE TABLE IF NOT EXISTS embedded_rate_hits (
  kind text NOT NULL,
  key text NOT NULL,
  window_start bigint NOT NULL,
  hit_id text NOT NULL,
  expires_at bigint NOT NULL,
  count integer NOT NULL, -- the window's count once this hit was counted (its rank)
  sum double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, key, window_start, hit_id)
);
CREATE INDEX IF NOT EXISTS embedded_rate_windows_expiry ON embedded_rate_windows (expires_at);
CREATE INDEX IF NOT EXISTS embedded_rate_hits_expiry ON embedded_rate_hits (expires_at);
