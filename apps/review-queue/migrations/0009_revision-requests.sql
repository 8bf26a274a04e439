-- Up Migration
-- What the reviser of a revised item sent (ADR 0017, addendum 2026-12-05): the fingerprint (canonical SHA-256) of the
-- edited parameters exactly as sent, masked placeholders and all, with the reason. A second revision call is the same
-- revision only when it sends exactly that again; it was compared by the digest of the merged proposal, which folds in
-- the real values the reviewer never saw, so a guess in place of a mask was answered 200 when right (red team,
-- 2026-12-05). Absent (NULL): not revised, or revised before it was kept (a second call on those is answered 409).
ALTER TABLE review_items ADD COLUMN revision_asked text;
