-- Up Migration
-- Two reads that walked a whole table that only grows (a scale probe, 2026-12-06): the canary retirement tick (every
-- second: the open canaries, oldest first; the table keeps every canary ever queued, 1.2 ms at 10,000 and 23 ms at
-- 200,000, returning none), and the hourly purge of card views older than the retention.
CREATE INDEX IF NOT EXISTS canaries_open ON canaries (created_at) WHERE retired_at IS NULL;
CREATE INDEX IF NOT EXISTS card_views_first_shown ON card_views (first_shown_at);
