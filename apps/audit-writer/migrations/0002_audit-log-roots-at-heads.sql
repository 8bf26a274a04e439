-- Up Migration
-- ADR 0029: the tree root is kept at the signed tree heads (audit_tree_heads) and the chain's tip, no longer
-- after every row: rows keep their leaf hash, which the verifier checks, and rows appended before this keep the
-- root they were written with. Forward only, like 0001: the log's rows are never touched, only the constraint.
ALTER TABLE audit_log ALTER COLUMN tree_root DROP NOT NULL;
