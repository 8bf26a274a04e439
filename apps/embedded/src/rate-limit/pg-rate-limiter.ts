import type { Pool } from 'pg';
import { AggregateTotals, PRUNE_SKEW_MS, RateLimiter, SweepClock, verdict } from '@countersign/policy';

// One statement per hit, over the key's sliding log ($1 kind, $2 key, $3 window ms, $4 hit id, $5 now, $6 amount):
// rows at or before min(now, the key's newest row + PRUNE_SKEW_MS) - window leave, so a clock that jumped ahead
// deletes no window it may come back to (clock probe, 2026-12-05); the answer given before to this hit id if its
// row is still in the window, or the window's count and sum with this hit added (and that answer recorded for a
// redelivery). The window is (now - window, ...): rows later than now still count (a clock that went back a
// little), older rows the prune left do not. The embedded database has one session, so statements never
// interleave. Every part reads the statement's snapshot; the hit's own row, if it is old, is overwritten rather
// than deleted (one statement may not delete and insert the same row).
//
// The window's count and sum come from the log's totals (`embedded_rate_totals`, migration 0006), less what this hit
// prunes, what lies past the window unpruned (a clock that jumped: a short index range, usually empty) and the hit's
// own old row: not from reading the window, which cost 2.4 ms per 1,000 rows in it (a scale probe, 2026-12-06). A log
// left empty starts again from an exact zero, as the Redis limiter's does.
const RECORD = `
WITH bounds AS (
  SELECT least($5::bigint, (SELECT max(at) FROM embedded_rate_log WHERE kind = $1 AND key = $2 AND window_ms = $3) + ${PRUNE_SKEW_MS}) - $3::bigint AS cutoff,
         $5::bigint - $3::bigint AS floor
), pruned AS (
  -- The bounds as scalars (a join with them made PostgreSQL read the key's whole log, then filter it).
  DELETE FROM embedded_rate_log l
  WHERE l.kind = $1 AND l.key = $2 AND l.window_ms = $3 AND l.hit_id <> $4 AND l.at <= (SELECT cutoff FROM bounds)
  RETURNING l.amount
), gone AS (
  SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM pruned
), stale AS (
  SELECT count(*) AS n, coalesce(sum(l.amount), 0) AS s FROM embedded_rate_log l
  WHERE l.kind = $1 AND l.key = $2 AND l.window_ms = $3 AND l.hit_id <> $4 AND l.at > (SELECT cutoff FROM bounds) AND l.at <= $5::bigint - $3::bigint
), own AS (
  SELECT at, amount, count, sum FROM embedded_rate_log WHERE kind = $1 AND key = $2 AND window_ms = $3 AND hit_id = $4
), totals AS (
  SELECT coalesce(max(count), 0) AS n, coalesce(max(sum), 0) AS s FROM embedded_rate_totals WHERE kind = $1 AND key = $2 AND window_ms = $3
), seen AS (
  SELECT own.count, own.sum FROM own, bounds b WHERE own.at > b.floor
), others AS (
  -- The log's rows after the prune, but for this hit's own row.
  SELECT t.n - g.n - (SELECT count(*) FROM own) AS n, t.s - g.s - coalesce((SELECT amount FROM own), 0) AS s FROM totals t, gone g
), counted AS (
  INSERT INTO embedded_rate_log (kind, key, window_ms, hit_id, at, amount, count, sum)
  SELECT $1, $2, $3, $4, $5, $6, o.n - st.n + 1, CASE WHEN o.n - st.n = 0 THEN $6::double precision ELSE o.s - st.s + $6::double precision END
  FROM others o, stale st WHERE NOT EXISTS (SELECT 1 FROM seen)
  ON CONFLICT (kind, key, window_ms, hit_id) DO UPDATE SET at = EXCLUDED.at, amount = EXCLUDED.amount, count = EXCLUDED.count, sum = EXCLUDED.sum
  RETURNING count, sum
), kept AS (
  -- After it: the others, and this hit's row (kept as it was when seen, else written with this amount).
  INSERT INTO embedded_rate_totals (kind, key, window_ms, count, sum)
  SELECT $1, $2, $3, o.n + 1, CASE WHEN o.n = 0 THEN 0 ELSE o.s END + coalesce((SELECT own.amount FROM own, bounds b WHERE own.at > b.floor), $6::double precision)
  FROM others o
  ON CONFLICT (kind, key, window_ms) DO UPDATE SET count = EXCLUDED.count, sum = EXCLUDED.sum
)
SELECT count, sum FROM seen UNION ALL SELECT count, sum FROM counted`;

/** Calls between two sweeps of the logs that went quiet (a key seen once is pruned by no later call). */
const SWEEP_EVERY = 500;

/**
 * The embedded mode's sliding-window rate and aggregate limits, in its PostgreSQL (PGlite) database, so a restart
 * does not forget a full window. Tables from `apps/embedded/migrations`. Meant for one session (the embedded
 * database): on a shared server, a redelivery racing its first delivery could be counted twice.
 */
export class PgRateLimiter implements RateLimiter {
  private calls = 0;
  private readonly sweepClock = new SweepClock();

  constructor(private readonly pool: Pool) {}

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    const { count } = await this.record('hit', key, hitId, 0, windowMs, now);
    return verdict(count, limit);
  }

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    return this.record('add', key, hitId, amount, windowMs, now);
  }

  private async record(kind: 'hit' | 'add', key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    if (++this.calls % SWEEP_EVERY === 1) await this.sweep(now);
    const { rows } = await this.pool.query<{ count: number; sum: number }>(RECORD, [kind, key, windowMs, hitId, now.getTime(), amount]);
    return { count: Number(rows[0].count), sum: Number(rows[0].sum) };
  }

  /**
   * Rows that left their window go, as Redis expires a quiet key; by `now` no further than the monotonic clock since the
   * process's first call allows (`SweepClock`, anchored no later than the newest row then), so a sweep on a clock that
   * jumped ahead leaves the quiet keys' windows (clock probe and red team, 2026-12-05). A process started after hits made
   * while its clock was ahead anchors at them: nothing tells it otherwise.
   */
  private async sweep(now: Date): Promise<void> {
    // A process's first sweep, at its first call, is anchored no later than the newest row it finds (its clock may be
    // ahead already); every later one by the monotonic clock since.
    if (this.calls === 1) {
      const { rows } = await this.pool.query<{ newest: string | null }>('SELECT max(at) AS newest FROM embedded_rate_log');
      this.sweepClock.see(Math.min(now.getTime(), rows[0].newest === null ? Infinity : Number(rows[0].newest)));
    }
    // The totals lose what leaves, and a log left empty leaves with its totals.
    await this.pool.query(
      `WITH gone AS (DELETE FROM embedded_rate_log WHERE at + window_ms <= $1 RETURNING kind, key, window_ms, amount),
            per AS (SELECT kind, key, window_ms, count(*) AS n, coalesce(sum(amount), 0) AS s FROM gone GROUP BY 1, 2, 3)
       UPDATE embedded_rate_totals t SET count = t.count - per.n, sum = CASE WHEN t.count - per.n = 0 THEN 0 ELSE t.sum - per.s END
       FROM per WHERE t.kind = per.kind AND t.key = per.key AND t.window_ms = per.window_ms`,
      [this.sweepClock.bound(now.getTime())],
    );
    await this.pool.query('DELETE FROM embedded_rate_totals WHERE count <= 0');
    // The planner's view of the logs, which nothing else refreshes in the embedded database: without it, a hit's own row
    // was looked up through the window's index, reading the key's whole log, not through the primary key.
    await this.pool.query('ANALYZE embedded_rate_log');
  }
}

/** Rate and aggregate limits in the embedded database (`embedded.ts` picks it). */
export const createPgRateLimiter = (pool: Pool): RateLimiter => new PgRateLimiter(pool);
