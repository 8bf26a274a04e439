import type { Pool } from 'pg';
import { IdempotencyRecord, IdempotencyRepository } from './idempotency.repository';

/** How long a key holds: a client retries within minutes; a day leaves room for a long outage on its side. */
const DEFAULT_TTL_SECONDS = 24 * 3600;

/**
 * Client idempotency keys in PostgreSQL (`apps/orchestrator/migrations`, applied at boot by `main.ts`): a
 * record of truth, so a Redis flush can no longer make a retried POST execute twice.
 */
export class PgIdempotencyRepository implements IdempotencyRepository {
  constructor(
    private readonly pool: Pool,
    private readonly ttlSeconds = DEFAULT_TTL_SECONDS,
  ) {}

  async claim(principal: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    for (let attempt = 1; ; attempt++) {
      // One statement, one round trip for a new key: the insert wins, or takes over a key past its expiry. The
      // primary key serialises concurrent claims: the losers wait for the winner's commit, then do nothing.
      const claimed = await this.pool.query(
        `INSERT INTO orchestrator_idempotency_keys (principal, idempotency_key, action_id, request_digest, correlation_id, proposed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT (principal, idempotency_key) DO UPDATE
           SET action_id = EXCLUDED.action_id, request_digest = EXCLUDED.request_digest, correlation_id = EXCLUDED.correlation_id,
               proposed_at = EXCLUDED.proposed_at, created_at = now(), expires_at = EXCLUDED.expires_at
           WHERE orchestrator_idempotency_keys.expires_at <= now()
         RETURNING 1`,
        [principal, key, record.actionId, record.requestDigest, record.correlationId, record.proposedAt, this.ttlSeconds],
      );
      if (claimed.rowCount === 1) return undefined;
      // Held by an earlier request: a new statement sees it (the insert's snapshot may predate its commit).
      const { rows } = await this.pool.query<{
        action_id: string;
        request_digest: string;
        correlation_id: string | null;
        proposed_at: Date | null;
        created_at: Date;
      }>(
        `SELECT action_id, request_digest, correlation_id, proposed_at, created_at FROM orchestrator_idempotency_keys
          WHERE principal = $1 AND idempotency_key = $2 AND expires_at > now()`,
        [principal, key],
      );
      const row = rows[0];
      if (row) {
        return {
          actionId: row.action_id,
          requestDigest: row.request_digest,
          // A row written before migration 0002 kept neither: the action id and the claim's time stand in.
          correlationId: row.correlation_id ?? row.action_id,
          proposedAt: new Date(row.proposed_at ?? row.created_at).toISOString(),
        };
      }
      // Expired in between: claim again.
      if (attempt === 3) throw new Error(`Idempotency-Key ${key} could neither be claimed nor read after ${attempt} attempts`);
    }
  }

  /** Deletes the keys past their expiry (they already read as absent); returns how many. */
  async deleteExpired(): Promise<number> {
    return (await this.pool.query('DELETE FROM orchestrator_idempotency_keys WHERE expires_at <= now()')).rowCount ?? 0;
  }
}

/** Client idempotency keys in PostgreSQL, shared by every orchestrator instance, each held `ttlSeconds` (a day by default). */
export const createIdempotencyRepository = (pool: Pool, ttlSeconds?: number): PgIdempotencyRepository => new PgIdempotencyRepository(pool, ttlSeconds);
