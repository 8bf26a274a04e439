import type { Pool, PoolClient } from 'pg';
import type { Actor } from '@countersign/contracts';
import { withConnection } from '@countersign/storage';
import { BASE_CLAIM_MS, ChangeDecision, ChangeRequest, ChangeRequestStore, DecideResult } from './change-request';

/** How long a request is kept after it expires, for `GET` (the audit trail keeps every step for good). */
const RETENTION_MS = 7 * 24 * 3600_000;

interface StoredDecision {
  by: Actor;
  reason: string;
  at: string;
}

interface Row {
  request: Omit<ChangeRequest, 'status'>;
  status: ChangeRequest['status'];
  decision: StoredDecision | null;
}

/**
 * Change requests in PostgreSQL (`apps/policy-engine/migrations`, applied at boot by `main.ts`), shared by
 * every policy-engine instance. A decision is one transaction: the request's row is locked (`FOR UPDATE`), so
 * of two admins deciding at once one wins; an approval also claims the request's base by a conditional upsert,
 * which rival approvals on the same base wait for.
 */
export class PgChangeRequestStore implements ChangeRequestStore {
  constructor(
    private readonly pool: Pool,
    private readonly baseClaimMs = BASE_CLAIM_MS,
  ) {}

  async create(request: ChangeRequest): Promise<void> {
    const { status, decider: _by, decisionReason: _reason, decidedAt: _at, ...fixed } = request;
    // Kept for the request's own lifetime plus the retention, counted on the database's clock whatever the
    // caller's says. A row past it is forgotten: its id may be used again.
    const keepSeconds = (Date.parse(request.expiresAt) - Date.parse(request.createdAt) + RETENTION_MS) / 1000;
    const created = await this.pool.query(
      `INSERT INTO policy_engine_change_requests (id, request, status, base, created_at, expires_at, keep_until, decision)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), NULL)
       ON CONFLICT (id) DO UPDATE
         SET request = EXCLUDED.request, status = EXCLUDED.status, base = EXCLUDED.base, created_at = EXCLUDED.created_at,
             expires_at = EXCLUDED.expires_at, keep_until = EXCLUDED.keep_until, decision = NULL
         WHERE policy_engine_change_requests.keep_until <= now()`,
      [request.id, JSON.stringify(fixed), status, request.base, request.createdAt, request.expiresAt, keepSeconds],
    );
    if (created.rowCount !== 1) throw new Error(`change request ${request.id} exists already`);
  }

  async get(id: string): Promise<ChangeRequest | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT request, status, decision FROM policy_engine_change_requests WHERE id = $1 AND keep_until > now()', [
      id,
    ]);
    return rows[0] && fromRow(rows[0]);
  }

  async list(limit: number): Promise<ChangeRequest[]> {
    const { rows } = await this.pool.query<Row>(
      'SELECT request, status, decision FROM policy_engine_change_requests WHERE keep_until > now() ORDER BY created_at DESC, id DESC LIMIT $1',
      [limit],
    );
    return rows.map(fromRow);
  }

  async pendingCount(base: string, requester: string, now: Date) {
    const { rows } = await this.pool.query<{ total: string; mine: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE request->'requestedBy'->>'id' = $2) AS mine
         FROM policy_engine_change_requests
        WHERE base = $1 AND status = 'pending' AND expires_at > $3 AND keep_until > now()`,
      [base, requester, now.toISOString()],
    );
    return { total: Number(rows[0].total), byRequester: Number(rows[0].mine) };
  }

  async decide(id: string, d: ChangeDecision): Promise<DecideResult> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ status: string; expires_at: Date; base: string }>(
        'SELECT status, expires_at, base FROM policy_engine_change_requests WHERE id = $1 AND keep_until > now() FOR UPDATE',
        [id],
      );
      const r = rows[0];
      if (!r) return { ok: false, conflict: 'unknown' };
      if (r.status !== 'pending') return { ok: false, conflict: 'not-pending' };
      if (d.at.getTime() >= r.expires_at.getTime()) return { ok: false, conflict: 'expired' };
      if (d.outcome === 'approved') {
        // Until when, on the caller's clock like the expiry. A rival's claim that still holds at `d.at` is
        // left alone (its row stays locked by this upsert until the transaction ends, so it cannot move).
        const claimed = await client.query(
          `INSERT INTO policy_engine_base_claims (base, holder, held_until) VALUES ($1, $2, $3)
           ON CONFLICT (base) DO UPDATE SET holder = EXCLUDED.holder, held_until = EXCLUDED.held_until
             WHERE policy_engine_base_claims.holder = EXCLUDED.holder OR policy_engine_base_claims.held_until <= $4`,
          [r.base, id, new Date(d.at.getTime() + this.baseClaimMs), d.at],
        );
        if (claimed.rowCount !== 1) {
          const holder = await client.query<{ holder: string }>('SELECT holder FROM policy_engine_base_claims WHERE base = $1', [r.base]);
          return { ok: false, conflict: 'base-taken', holder: holder.rows[0].holder };
        }
      }
      const decision: StoredDecision = { by: d.by, reason: d.reason, at: d.at.toISOString() };
      const updated = await client.query<Row>(
        'UPDATE policy_engine_change_requests SET status = $2, decision = $3 WHERE id = $1 RETURNING request, status, decision',
        [id, d.outcome, JSON.stringify(decision)],
      );
      return { ok: true, request: fromRow(updated.rows[0]) };
    });
  }

  /** Deletes the requests past their retention (they already read as absent); returns how many. */
  async deleteExpired(): Promise<number> {
    return (await this.pool.query('DELETE FROM policy_engine_change_requests WHERE keep_until <= now()')).rowCount ?? 0;
  }

  /** Runs `work` in a transaction: committed when it decided, rolled back when it found a conflict or threw. */
  private async transaction(work: (client: PoolClient) => Promise<DecideResult>): Promise<DecideResult> {
    return withConnection(this.pool, async (client) => {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(result.ok ? 'COMMIT' : 'ROLLBACK');
      return result;
    });
  }
}

/** Change requests in PostgreSQL, shared by every policy-engine instance. */
export const createChangeRequestStore = (pool: Pool, baseClaimMs?: number): PgChangeRequestStore => new PgChangeRequestStore(pool, baseClaimMs);

function fromRow(row: Row): ChangeRequest {
  // The stored request is one of the kinds as created (`kind` tells which); spreading loses the union, not the shape.
  return <ChangeRequest>{
    ...row.request,
    status: row.status,
    ...(row.decision && { decider: row.decision.by, decisionReason: row.decision.reason, decidedAt: row.decision.at }),
  };
}
