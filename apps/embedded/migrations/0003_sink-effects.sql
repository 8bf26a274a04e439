-- Up Migration
-- The stand-in target system's effects (apps/embedded/src/sink): one row per Idempotency-Key, with how many times it
-- was delivered, so that exactly-once can be seen across restarts (it was kept in memory, and a restart forgot every
-- effect before it). Forward only.
CREATE TABLE IF NOT EXISTS embedded_sink_effects (
  seq bigserial PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  action_id text,
  received_at timestamptz NOT NULL,
  body jsonb NOT NULL,
  deliveries integer NOT NULL DEFAULT 1
);
