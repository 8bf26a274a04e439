-- Up Migration
-- How each approver signed in when they approved (ADR 0004, addendum 2026-12-05): the method (`bearer-token`,
-- `oidc`) and, for a sign-in, the ID token's `amr`. The decision a later approver completes names each earlier
-- approver's own; it named them all `bearer-token`, an inbox sign-in with a second factor too (red team, 2026-12-05).
-- Absent (NULL): approved before this column (read as `unknown`, never guessed).
ALTER TABLE review_approvals ADD COLUMN auth_method text, ADD COLUMN amr text[];
