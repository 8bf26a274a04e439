-- Up Migration
-- Every principal the tokens file has named, and when one was taken out of it (NULL: in it now). A restart forgot every
-- removal, so a removed reviewer's approval completed a quorum of two again, and a removed agent's refund was approved
-- (colluding-reviewers probe, 2026-12-06). Rows are never deleted: a removal is known for as long as the queue runs.
CREATE TABLE principal_roster (
  principal text PRIMARY KEY,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  removed_at timestamptz
);
