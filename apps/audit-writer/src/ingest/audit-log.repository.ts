import type { Pool } from 'pg';
import type { Envelope } from '@countersign/contracts';

/** One audit entry: an event exactly as it was on the bus, with the topic and its position in the log. */
export interface AuditEntry {
  seq: number;
  eventId: string;
  topic: string;
  type: string;
  subject: string;
  correlationId: string;
  causationId: string | null;
  actor: Envelope['actor'];
  time: string;
  data: unknown;
  recordedAt: string;
}

export interface AuditQuery {
  actionId?: string;
  correlationId?: string;
  actor?: string;
  type?: string;
  limit?: number;
}

/** The append-only audit store: one entry per event id, whatever the redelivery. */
export interface AuditLogRepository {
  append(topic: string, event: Envelope): Promise<void>;
  query(q: AuditQuery): Promise<AuditEntry[]>;
}

/**
 * The table refuses UPDATE, DELETE and TRUNCATE by trigger, for every role; the service's own role
 * is granted only INSERT and SELECT besides.
 */
export const AUDIT_SCHEMA = (serviceRole: string) => `
CREATE TABLE IF NOT EXISTS audit_events (
  seq bigserial PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  topic text NOT NULL,
  type text NOT NULL,
  subject text NOT NULL,
  correlation_id text NOT NULL,
  causation_id text,
  actor jsonb NOT NULL,
  event_time timestamptz NOT NULL,
  data jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_events_subject ON audit_events (subject);
CREATE INDEX IF NOT EXISTS audit_events_correlation ON audit_events (correlation_id);
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
REVOKE ALL ON audit_events FROM PUBLIC;
GRANT SELECT, INSERT ON audit_events TO "${serviceRole}";
GRANT USAGE, SELECT ON SEQUENCE audit_events_seq_seq TO "${serviceRole}";
`;

export class PgAuditLogRepository implements AuditLogRepository {
  /** `appendPool` connects as the restricted service role; the owner only migrates. */
  constructor(private readonly appendPool: Pool) {}

  static async migrate(ownerPool: Pool, serviceRole: string): Promise<void> {
    if (!/^[a-z_][a-z0-9_]*$/.test(serviceRole)) throw new Error(`invalid audit role name ${serviceRole}`);
    const client = await ownerPool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(7302)');
      await client.query(AUDIT_SCHEMA(serviceRole));
    } finally {
      await client.query('SELECT pg_advisory_unlock(7302)').catch(() => undefined);
      client.release();
    }
  }

  async append(topic: string, e: Envelope): Promise<void> {
    await this.appendPool.query(
      `INSERT INTO audit_events (event_id, topic, type, subject, correlation_id, causation_id, actor, event_time, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING`,
      [e.id, topic, e.type, e.subject, e.correlationId, e.causationId, JSON.stringify(e.actor), e.time, JSON.stringify(e.data)],
    );
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.actionId) add('subject = ?', q.actionId);
    if (q.correlationId) add('correlation_id = ?', q.correlationId);
    if (q.actor) add("actor->>'id' = ?", q.actor);
    if (q.type) add('type = ?', q.type);
    args.push(Math.min(q.limit ?? 500, 5000));
    const { rows } = await this.appendPool.query(
      `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      eventId: r.event_id,
      topic: r.topic,
      type: r.type,
      subject: r.subject,
      correlationId: r.correlation_id,
      causationId: r.causation_id,
      actor: r.actor,
      time: r.event_time.toISOString(),
      data: r.data,
      recordedAt: r.recorded_at.toISOString(),
    }));
  }
}
