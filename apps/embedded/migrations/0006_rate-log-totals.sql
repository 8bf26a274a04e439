-- Up Migration
-- The count and sum of each sliding log (one per kind, key and window length), kept as rows come and go: a hit read its
-- whole window to count it, 2.4 ms per 1,000 rows in it on PGlite, so a day's window of a busy tenant made each decision
-- slower than the last (10,000 hits: 24 ms each; a scale probe, 2026-12-06, saw the embedded mode fall from 26 to 10
-- proposals a second over 11,000 actions). `count` and `sum` are over every row of the log, in or past its window;
-- a hit takes off what it prunes and what lies past the window unpruned (a clock that jumped). Forward only.
CREATE TABLE IF NOT EXISTS embedded_rate_totals (
  kind text NOT NULL,
  key text NOT NULL,
  window_ms bigint NOT NULL,
  count bigint NOT NULL,
  sum double precision NOT NULL,
  PRIMARY KEY (kind, key, window_ms)
);
INSERT INTO embedded_rate_totals (kind, key, window_ms, count, sum)
  SELECT kind, key, window_ms, count(*), coalesce(sum(amount), 0) FROM embedded_rate_log GROUP BY 1, 2, 3
  ON CONFLICT (kind, key, window_ms) DO NOTHING;
