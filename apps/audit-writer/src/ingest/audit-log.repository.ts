import type { Pool, PoolClient } from 'pg';
import { CompactRange, entryBytes, leafHash, LoggedEntry, TreeHead } from '@countersign/audit-chain';
import type { AuditEntry } from '@countersign/audit-chain';

/** One audit entry as stored: its position in the Merkle log, the entry, and the tree root after it. */
export interface StoredEntry {
  index: number;
  entry: AuditEntry;
  leafHash: string;
  root: string;
  recordedAt: string;
}

export interface AuditQuery {
  actionId?: string;
  correlationId?: string;
  actor?: string;
  type?: string;
  since?: string;
  until?: string;
  limit?: number;
}

export interface ChainTip {
  size: number;
  root: string;
}

/**
 * The append-only, hash-chained audit store: one entry per event id whatever the redelivery, each with
 * its index in the RFC 6962 log and the root after it; signed tree heads beside it.
 */
export interface AuditLogRepository {
  /** Appends the entries not already present, in order, as one durable batch. */
  appendBatch(entries: AuditEntry[]): Promise<ChainTip>;
  query(q: AuditQuery): Promise<StoredEntry[]>;
  /** Entries from..to-1 in index order, for verification and export. */
  range(from: number, to: number): Promise<LoggedEntry[]>;
  tip(): Promise<ChainTip>;
  saveHead(head: TreeHead): Promise<void>;
  heads(): Promise<TreeHead[]>;
}

/**
 * UPDATE, DELETE and TRUNCATE on the log and the heads are refused by trigger, for every role; the
 * service role gets only INSERT and SELECT there (and may move the chain's tip, a single row).
 */
export const AUDIT_SCHEMA = (serviceRole: string) => `
CREATE TABLE IF NOT EXISTS audit_log (
  idx bigint PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  topic text NOT NULL,
  type text NOT NULL,
  subject text NOT NULL,
  correlation_id text NOT NULL,
  actor_id text NOT NULL,
  event_time timestamptz NOT NULL,
  -- The entry's canonical JSON (RFC 8785), exactly the bytes of its Merkle leaf.
  entry_json text NOT NULL,
  leaf_hash text NOT NULL,
  tree_root text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject);
CREATE INDEX IF NOT EXISTS audit_log_correlation ON audit_log (correlation_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_id);
CREATE TABLE IF NOT EXISTS audit_tree_heads (
  tree_size bigint NOT NULL,
  root_hash text NOT NULL,
  signed_at text NOT NULL,
  key_id text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (tree_size, key_id, signed_at)
);
CREATE TABLE IF NOT EXISTS audit_chain_tip (
  id int PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL,
  hashes jsonb NOT NULL
);
INSERT INTO audit_chain_tip (id, size, hashes) VALUES (1, 0, '[]') ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_heads_append_only ON audit_tree_heads;
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_tree_heads FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_heads_no_truncate ON audit_tree_heads;
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_tree_heads FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
REVOKE ALL ON audit_log, audit_tree_heads, audit_chain_tip FROM PUBLIC;
GRANT SELECT, INSERT ON audit_log, audit_tree_heads TO "${serviceRole}";
GRANT SELECT, UPDATE ON audit_chain_tip TO "${serviceRole}";
`;

const rowToStored = (r: Record<string, unknown>): StoredEntry => ({
  index: Number(r.idx),
  entry: JSON.parse(r.entry_json as string) as AuditEntry,
  leafHash: r.leaf_hash as string,
  root: r.tree_root as string,
  recordedAt: (r.recorded_at as Date).toISOString(),
});

export class PgAuditLogRepository implements AuditLogRepository {
  /** `pool` connects as the restricted service role; the owner only migrates. */
  constructor(private readonly pool: Pool) {}

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

  async appendBatch(entries: AuditEntry[]): Promise<ChainTip> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // One writer at a time extends the chain, across all audit-writer instances.
      const tip = (await client.query('SELECT size, hashes FROM audit_chain_tip WHERE id = 1 FOR UPDATE')).rows[0];
      const range = CompactRange.restore({ size: Number(tip.size), hashes: tip.hashes });
      const present = new Set((await client.query('SELECT event_id FROM audit_log WHERE event_id = ANY($1)', [entries.map((e) => e.eventId)])).rows.map((r) => r.event_id));
      const fresh = entries.filter((e) => !present.has(e.eventId) && (present.add(e.eventId), true));
      if (fresh.length) {
        const values: unknown[] = [];
        const rows = fresh.map((unplaced) => {
          const idx = range.size;
          const e = { ...unplaced, _index: idx };
          const bytes = entryBytes(e);
          const leaf = leafHash(bytes);
          range.append(leaf);
          values.push(idx, e.eventId, e.topic, e.eventType, e.actionId, e.correlationId, e.actor.id, e.time, bytes.toString('utf8'), leaf.toString('hex'), range.root().toString('hex'));
          const b = values.length - 11;
          return `(${Array.from({ length: 11 }, (_, i) => `$${b + i + 1}`).join(',')})`;
        });
        await client.query(
          `INSERT INTO audit_log (idx, event_id, topic, type, subject, correlation_id, actor_id, event_time, entry_json, leaf_hash, tree_root) VALUES ${rows.join(',')}`,
          values,
        );
        const state = range.state();
        await client.query('UPDATE audit_chain_tip SET size = $1, hashes = $2 WHERE id = 1', [state.size, JSON.stringify(state.hashes)]);
      }
      await client.query('COMMIT');
      return { size: range.size, root: range.root().toString('hex') };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async query(q: AuditQuery): Promise<StoredEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.actionId) add('subject = ?', q.actionId);
    if (q.correlationId) add('correlation_id = ?', q.correlationId);
    if (q.actor) add('actor_id = ?', q.actor);
    if (q.type) add('type = ?', q.type);
    if (q.since) add('event_time >= ?', q.since);
    if (q.until) add('event_time < ?', q.until);
    args.push(Math.min(q.limit ?? 500, 5000));
    const { rows } = await this.pool.query(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY idx LIMIT $${args.length}`, args);
    return rows.map(rowToStored);
  }

  async range(from: number, to: number): Promise<LoggedEntry[]> {
    const { rows } = await this.pool.query('SELECT idx, entry_json, leaf_hash, tree_root FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx', [from, to]);
    return rows.map((r) => ({ index: Number(r.idx), bytes: r.entry_json, leafHash: r.leaf_hash, root: r.tree_root }));
  }

  async tip(): Promise<ChainTip> {
    const tip = (await this.pool.query('SELECT size, hashes FROM audit_chain_tip WHERE id = 1')).rows[0];
    const range = CompactRange.restore({ size: Number(tip.size), hashes: tip.hashes });
    return { size: range.size, root: range.root().toString('hex') };
  }

  async saveHead(h: TreeHead): Promise<void> {
    await this.pool.query('INSERT INTO audit_tree_heads (tree_size, root_hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [h.treeSize, h.rootHash, h.timestamp, h.keyId, h.signature]);
  }

  async heads(): Promise<TreeHead[]> {
    const { rows } = await this.pool.query('SELECT * FROM audit_tree_heads ORDER BY tree_size, signed_at');
    return rows.map((r) => ({ treeSize: Number(r.tree_size), rootHash: r.root_hash, timestamp: r.signed_at, keyId: r.key_id, signature: r.signature }));
  }
}

export type { PoolClient };
