-- Up Migration
-- The reviewers who wrote changes into an item's proposal through approve with changes (ADR 0017, addendum
-- 2026-12-04): none of them approves, revises or claims that version; another reviewer decides it. Absent (NULL): an
-- agent's proposal as it came.
ALTER TABLE review_items ADD COLUMN authored_by text[];
