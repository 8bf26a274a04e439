import { CompactRange, entryJson, leafHashOfText } from '@countersign/audit-chain';
import type { AuditEntry, LoggedEntry, TreeHead } from '@countersign/audit-chain';
import { TOPICS } from '@countersign/contracts';
import { createPgPool, Pool, withConnection } from '@countersign/storage';
import type { ActionTrail, AppendResult, AuditLogRepository, AuditQuery, ChainTip, HeadRange, StoredEntry } from './audit-log.repository';
import { ESCALATED } from './audit-log.repository';

const rowToStored = (r: Record<string, unknown>): StoredEntry => ({
  index: Number(r.idx),
  entry: JSON.parse(r.entry_json as string) as AuditEntry,
  leafHash: r.leaf_hash as string,
  ...(r.tree_root ? { root: r.tree_root as string } : {}),
  recordedAt: (r.recorded_at as Date).toISOString(),
});

/** The audit store in PostgreSQL: the log, its chain tip and the signed tree heads, in tables only ever appended to. */
export class PgAuditLogRepository implements AuditLogRepository {
  /**
   * The chain's tip as this writer last wrote or read it under the lock: the next batch is placed on it without
   * reading it again. Forgotten on any failure or when another writer moved the tip.
   */
  private known?: { size: number; hashes: string[] };

  /**
   * `pool` connects as the restricted service role. The owner only migrates: `apps/audit-writer/migrations`
   * creates the tables, the append-only triggers and the role's grants, applied at boot by `main.ts`.
   * `ownsPool`: the store opened the pool itself (`createPgAuditLog(url)`), so `close()` ends it.
   */
  constructor(
    private readonly pool: Pool,
    private readonly ownsPool = false,
  ) {}

  /** Ends the pool when this store opened it; a pool handed in is its owner's to end. */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private key?: Buffer;

  /** The log's pseudonym key, made by migration 0003 with the log (its one row). */
  async pseudonymKey(): Promise<Buffer> {
    if (this.key) return this.key;
    const { rows } = await this.pool.query<{ key_hex: string }>('SELECT key_hex FROM audit_pseudonym_key');
    if (rows.length !== 1) throw new Error('the audit log has no pseudonym key (migration 0003 makes it): run the migrations');
    this.key = Buffer.from(rows[0].key_hex, 'hex');
    return this.key;
  }

  async appendBatch(entries: AuditEntry[]): Promise<AppendResult> {
    // Redeliveries are rare: the first attempt lets the unique index on event_id find them (no look-up round trip);
    // when it does, nothing was written (the statement or transaction rolled back) and the batch goes again, checked first.
    try {
      return (await this.appendAtKnownTip(entries)) ?? (await this.append(entries, false));
    } catch (e) {
      this.known = undefined;
      if (!isDuplicateEventId(e)) throw e;
      return this.append(entries, true);
    }
  }

  /**
   * One round trip (docs/adr/0046): the batch is placed and hashed on the tip this writer last wrote or read, and one
   * statement moves the tip only if it is still there and inserts the rows only if it moved. Undefined when this writer
   * knows no tip, or another writer moved it meanwhile (nothing was written): the caller appends under the tip's lock.
   */
  private async appendAtKnownTip(entries: AuditEntry[]): Promise<AppendResult | undefined> {
    const known = this.known;
    if (!known || !entries.length) return undefined;
    // Only the first of a batch's copies of an event is kept, as under the lock (a copy already in the log fails the
    // statement on the unique index, and the batch goes again with a look-up).
    const seen = new Set<string>();
    const fresh = entries.filter((e) => !seen.has(e.eventId) && (seen.add(e.eventId), true));
    const range = CompactRange.restore(known);
    const { values, rows } = placeRows(range, fresh, CAST);
    const state = range.state();
    values.push(known.size, state.size, JSON.stringify(state.hashes));
    const n = values.length;
    const { rows: moved } = await this.pool.query(
      `WITH tip AS (UPDATE audit_chain_tip SET size = $${n - 1}, hashes = $${n} WHERE id = 1 AND size = $${n - 2} RETURNING id),
            appended AS (INSERT INTO audit_log (${COLUMNS}) SELECT * FROM (VALUES ${rows.join(',')}) AS v WHERE EXISTS (SELECT 1 FROM tip))
       SELECT count(*)::int AS moved FROM tip`,
      values,
    );
    if (moved[0].moved !== 1) {
      this.known = undefined;
      return undefined;
    }
    this.remember(state);
    return { size: range.size, root: range.root().toString('hex'), appended: fresh.length };
  }

  /** Keeps the newest tip this writer saw (two of its appends may answer out of order). */
  private remember(state: { size: number; hashes: string[] }): void {
    if (!this.known || state.size > this.known.size) this.known = state;
  }

  private async append(entries: AuditEntry[], lookUpPresent: boolean): Promise<AppendResult> {
    return withConnection(this.pool, async (client) => {
      // One writer at a time extends the chain, across all audit-writer instances (the tip's row lock). BEGIN and the
      // lock go in one round trip; the duplicate look-up below runs after the lock, so it sees every committed append.
      const [, locked] = (await client.query('BEGIN; SELECT size, hashes FROM audit_chain_tip WHERE id = 1 FOR UPDATE')) as unknown as Array<{
        rows: Array<{ size: string; hashes: string[] }>;
      }>;
      const tip = locked.rows[0];
      const range = CompactRange.restore({ size: Number(tip.size), hashes: tip.hashes });
      const present = new Set<string>(
        lookUpPresent
          ? (await client.query('SELECT event_id FROM audit_log WHERE event_id = ANY($1)', [entries.map((e) => e.eventId)])).rows.map((r) => r.event_id)
          : [],
      );
      const fresh = entries.filter((e) => !present.has(e.eventId) && (present.add(e.eventId), true));
      if (fresh.length) {
        const { values, rows } = placeRows(range, fresh, NO_CAST);
        // The rows and the tip that covers them in one statement (one round trip).
        const state = range.state();
        values.push(state.size, JSON.stringify(state.hashes));
        await client.query(
          `WITH appended AS (INSERT INTO audit_log (${COLUMNS}) VALUES ${rows.join(',')})
           UPDATE audit_chain_tip SET size = $${values.length - 1}, hashes = $${values.length} WHERE id = 1`,
          values,
        );
      }
      await client.query('COMMIT');
      this.remember(range.state());
      return { size: range.size, root: range.root().toString('hex'), appended: fresh.length };
    });
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
    const { rows } = await this.pool.query(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY idx LIMIT $${args.length}`,
      args,
    );
    return rows.map(rowToStored);
  }

  async range(from: number, to: number): Promise<LoggedEntry[]> {
    const { rows } = await this.pool.query('SELECT idx, entry_json, leaf_hash, recorded_at FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx', [
      from,
      to,
    ]);
    // Only the leaf hash: it is always recorded, and the verifier checks it first (a row's old root adds nothing). The
    // time shown beside the entry goes along: the verifier holds it to the one the entry hashes.
    return rows.map((r) => ({ index: Number(r.idx), bytes: r.entry_json, leafHash: r.leaf_hash, recordedAt: (r.recorded_at as Date).toISOString() }));
  }

  async leafHashes(from: number, to: number): Promise<string[]> {
    const { rows } = await this.pool.query('SELECT leaf_hash FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx', [from, to]);
    return rows.map((r) => r.leaf_hash as string);
  }

  async tip(): Promise<ChainTip> {
    const tip = (await this.pool.query('SELECT size, hashes FROM audit_chain_tip WHERE id = 1')).rows[0];
    const range = CompactRange.restore({ size: Number(tip.size), hashes: tip.hashes });
    return { size: range.size, root: range.root().toString('hex') };
  }

  async extent(): Promise<number> {
    const { rows } = await this.pool.query('SELECT coalesce(max(idx) + 1, 0) AS n FROM audit_log');
    return Number(rows[0].n);
  }

  async trailsSince(since: string, until = 'infinity'): Promise<ActionTrail[]> {
    // What did not happen to the action is left out of its trail: a refusal of an event only (`final: false`),
    // and a revision whose new action the orchestrator never proposed as the revision of this action by this event
    // (it refused the revision; only the orchestrator may write proposals).
    const { rows } = await this.pool.query(
      `SELECT subject, coalesce(array_agg(type ORDER BY idx) FILTER (WHERE NOT (
                (type = $6 AND (entry_json::jsonb->'data'->>'final') IS NOT DISTINCT FROM 'false')
                OR (type = $7 AND NOT EXISTS (
                  SELECT 1 FROM audit_log p
                   WHERE p.type = $4 AND p.subject = l.entry_json::jsonb->'data'->>'newActionId'
                     AND p.entry_json::jsonb->'data'->'revisionOf'->>'revisionEventId' = l.event_id
                     AND p.entry_json::jsonb->'data'->'revisionOf'->>'actionId' = l.subject))
              )), '{}') AS types,
              (array_agg(entry_json::jsonb->'data'->>'lane' ORDER BY idx) FILTER (WHERE type = $2))[1] AS lane,
              (array_agg(entry_json::jsonb->'data'->>'decision' ORDER BY idx)
                 FILTER (WHERE type = $3 AND entry_json::jsonb->'data'->>'decision' IS DISTINCT FROM '${ESCALATED}'))[1] AS review
         FROM audit_log l
        WHERE subject IN (SELECT subject FROM audit_log WHERE type IN (${TRAIL_STARTS}) AND event_time >= $1 AND event_time < $5)
        GROUP BY subject`,
      [since, TOPICS.policyDecided, TOPICS.reviewDecided, TOPICS.actionProposed, until, TOPICS.actionRefused, TOPICS.proposalRevised],
    );
    return (rows as Array<{ subject: string; types: string[]; lane: string | null; review: string | null }>).map((r) => ({
      actionId: r.subject,
      types: r.types,
      lane: r.lane,
      review: r.review,
    }));
  }

  async searchFieldMismatch(): Promise<{ index: number; field: string; shown: string | null; hashed: string | null } | undefined> {
    // Each column the searches filter on, beside the field of the hashed entry it copies (one pass, in the database).
    const pairs: Array<[string, string, string]> = [
      ['event_id', 'event_id', "e->>'eventId'"],
      ['topic', 'topic', "e->>'topic'"],
      ['type', 'type', "e->>'eventType'"],
      ['subject', 'subject', "e->>'actionId'"],
      ['correlation_id', 'correlation_id', "e->>'correlationId'"],
      ['actor_id', 'actor_id', "e->'actor'->>'id'"],
      ['event_time', 'event_time', "(e->>'time')::timestamptz"],
    ];
    const { rows } = await this.pool.query(
      `SELECT idx, ${pairs.map(([f, col, hashed]) => `CASE WHEN ${col} IS DISTINCT FROM ${hashed} THEN ARRAY[${col}::text, (${hashed})::text] END AS "${f}"`).join(', ')}
         FROM (SELECT *, entry_json::jsonb AS e FROM audit_log) l
        WHERE ${pairs.map(([, col, hashed]) => `${col} IS DISTINCT FROM ${hashed}`).join(' OR ')}
        ORDER BY idx LIMIT 1`,
    );
    const row = rows[0] as (Record<string, [string | null, string | null] | null> & { idx: string }) | undefined;
    if (!row) return undefined;
    const field = pairs.map(([f]) => f).find((f) => row[f])!;
    const [shown, hashed] = row[field]!;
    return { index: Number(row.idx), field, shown, hashed };
  }

  async saveHead(h: TreeHead): Promise<void> {
    await this.pool.query(
      'INSERT INTO audit_tree_heads (tree_size, root_hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [h.treeSize, h.rootHash, h.timestamp, h.keyId, h.signature],
    );
  }

  async heads(range: HeadRange = {}): Promise<TreeHead[]> {
    const order = range.newestFirst ? 'tree_size DESC, signed_at DESC' : 'tree_size, signed_at';
    // The sizes first (the primary key's leading column), then every head of those sizes.
    const { rows } = await this.pool.query(
      `WITH sizes AS (
         SELECT DISTINCT tree_size FROM audit_tree_heads
          WHERE ($1::bigint IS NULL OR tree_size > $1) AND ($2::bigint IS NULL OR tree_size <= $2)
          ORDER BY tree_size ${range.newestFirst ? 'DESC' : ''} LIMIT $3
       )
       SELECT h.* FROM audit_tree_heads h JOIN sizes USING (tree_size) ORDER BY ${order}`,
      [range.after ?? null, range.through ?? null, range.sizes ?? null],
    );
    return rows.map((r) => ({ treeSize: Number(r.tree_size), rootHash: r.root_hash, timestamp: r.signed_at, keyId: r.key_id, signature: r.signature }));
  }
}

/**
 * The types a trail starts from, spelled out in the statement as migration 0004's partial index spells them (a
 * parameter would not let the planner prove the index's predicate).
 */
const TRAIL_STARTS = [TOPICS.actionProposed, TOPICS.policyDecided].map((t) => `'${t}'`).join(', ');

/** The log's columns a batch fills, in the order `placeRows` gives their values. */
const COLUMNS = 'idx, event_id, topic, type, subject, correlation_id, actor_id, event_time, entry_json, leaf_hash, recorded_at';
/**
 * Each column's type, spelled out in the first row where the rows are a VALUES list read by a SELECT (nothing infers
 * them there; the other rows take the first row's types). A cast on every placeholder made a 1,000-row batch a quarter
 * slower (`npm run bench:audit`: 0.41–0.43 of plain INSERTs against 0.85–0.89 with the first row's).
 */
const CAST = ['::bigint', '::text', '::text', '::text', '::text', '::text', '::text', '::timestamptz', '::text', '::text'];
const NO_CAST = CAST.map(() => '');

/**
 * One pass over the batch: place each entry at the end of `range`, canonicalise and hash it (its canonical text is
 * hashed and stored as is, never copied into a Buffer), and lay out a multi-row insert (measured faster here than
 * unnest arrays or a JSON parameter). No root per row (ADR 0029): the tip and the signed heads carry it; each row keeps
 * its leaf hash. The time the rows are stored is hashed with each entry (`_recordedAt`) and is every row's
 * `recorded_at` ($1).
 */
function placeRows(range: CompactRange, fresh: AuditEntry[], cast: readonly string[]): { values: unknown[]; rows: string[] } {
  const recordedAt = new Date().toISOString();
  const values: unknown[] = [recordedAt];
  const rows = new Array<string>(fresh.length);
  for (let i = 0; i < fresh.length; i++) {
    const idx = range.size;
    const e = { ...fresh[i], _index: idx, _recordedAt: recordedAt };
    const json = entryJson(e);
    const leaf = leafHashOfText(json);
    range.append(leaf);
    const b = values.length;
    values.push(idx, e.eventId, e.topic, e.eventType, e.actionId, e.correlationId, e.actor.id, e.time, json, leaf.toString('hex'));
    rows[i] = `(${cast.map((c, k) => `$${b + k + 1}${i === 0 ? c : ''}`).join(',')},$1::timestamptz)`;
  }
  return { values, rows };
}

/** A unique violation on the log's event id: an entry of the batch is there already (a redelivery). */
const isDuplicateEventId = (e: unknown): boolean =>
  (e as { code?: unknown })?.code === '23505' && /event_id/.test(String((e as { constraint?: unknown }).constraint ?? ''));

/**
 * The PostgreSQL audit store, on the service's `pool` (ended by its owner), or on a small pool of its own
 * opened on `url` (a one-off command: `close()` ends it; no statement timeout, as a whole-log verification or search
 * may run long, and an operator is there to stop it).
 */
export function createPgAuditLog(pool: Pool): PgAuditLogRepository;
export function createPgAuditLog(url: string, maxConnections?: number): PgAuditLogRepository;
export function createPgAuditLog(source: Pool | string, maxConnections = 2): PgAuditLogRepository {
  return typeof source === 'string'
    ? new PgAuditLogRepository(createPgPool(source, maxConnections, undefined, undefined, 0), true)
    : new PgAuditLogRepository(source);
}
