import type { Pool } from 'pg';
import { AggregateTotals, RateLimiter, verdict } from '@countersign/policy';

// One statement per hit: the answer given before to this hit id, or the window's totals bumped by it (and that
// answer recorded for a redelivery). The embedded database has one session, so statements never interleave.
const COUNT = `
WITH seen AS (
  SELECT count, sum FROM embedded_rate_hits WHERE kind = $1 AND key = $2 AND window_start = $3 AND hit_id = $4
), bumped AS (
  INSERT INTO embedded_rate_windows (kind, key, window_start, expires_at, count, sum)
  SELECT $1, $2, $3, $5, 1, $6 WHERE NOT EXISTS (SELECT 1 FROM seen)
  ON CONFLICT (kind, key, window_start) DO UPDATE SET count = embedded_rate_windows.count + 1, sum = embedded_rate_windows.sum + EXCLUDED.sum
  RETURNING count, sum
), recorded AS (
  INSERT INTO embedded_rate_hits (kind, key, window_start, hit_id, expires_at, count, sum)
  SELECT $1, $2, $3, $4, $5, count, sum FROM bumped
)
SELECT count, sum FROM seen UNION ALL SELECT count, sum FROM bumped`;

/** Hits between two sweeps of ended windows. */
const SWEEP_EVERY = 500;

/**
 * The embedded mode's rate and aggregate limits, in its PostgreSQL (PGlite) database, so a restart does not
 * forget a full window. Tables from `apps/embedded/migrations`. Meant for one session (the embedded database):
 * on a shared server, a redelivery racing its first delivery could be counted twice.
 */
export class PgRateLimiter implements RateLimiter {
  private calls = 0;

  constructor(private readonly pool: Pool) {}

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    const { count } = await this.count('hit', key, hitId, 0, windowMs, now);
    return verdict(count, limit);
  }

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    return this.count('add', key, hitId, amount, windowMs, now);
  }

  private async count(kind: 'hit' | 'add', key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    const start = Math.floor(now.getTime() / windowMs) * windowMs;
    if (++this.calls % SWEEP_EVERY === 1) await this.sweep(now);
    const { rows } = await this.pool.query<{ count: number; sum: number }>(COUNT, [kind, key, start, hitId, start + windowMs, amount]);
    return { count: Number(rows[0].count), sum: Number(rows[0].sum) };
  }

  /** Ended windows go, as Redis expires them. */
  private async sweep(now: Date): Promise<void> {
    await this.pool.query('DELETE FROM embedded_rate_windows WHERE expires_at <= $1', [now.getTime()]);
    await this.pool.query('DELETE FROM embedded_rate_hits WHERE expires_at <= $1', [now.getTime()]);
  }
}

/** Rate and aggregate limits in the embedded database (`embedded.ts` picks it). */
export const createPgRateLimiter = (pool: Pool): RateLimiter => new PgRateLimiter(pool);
