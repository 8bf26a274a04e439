import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDatabase, migrate, openEmbeddedDatabase } from '@countersign/storage';
// The limiter's shared suite lives with the policy engine (the port itself is libs/policy's): test code, not exported
// from the app's entry. Moving the suite beside the port (libs/policy) would remove this exception.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { rateLimiterSuite } from '../../../policy-engine/src/rate-limit/rate-limiter.suite';
import { EMBEDDED_MIGRATIONS } from '../home/home-database';
import { createPgRateLimiter } from './pg-rate-limiter';

// real: the embedded PostgreSQL (PGlite, in a temp folder) and the embedded mode's migrations; fake: nothing.
let dir: string;
let db: EmbeddedDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'countersign-limits-'));
  db = await openEmbeddedDatabase(join(dir, 'db'));
  await migrate(db.pool, { service: 'embedded', dir: EMBEDDED_MIGRATIONS });
}, 60_000);
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

rateLimiterSuite('PostgreSQL (embedded)', async () => {
  await db.pool.query('TRUNCATE embedded_rate_log, embedded_rate_totals');
  return createPgRateLimiter(db.pool);
});

it('keeps a full window across a new limiter on the same database (a restart)', async () => {
  const t0 = new Date('2026-11-24T10:00:00.000Z');
  const before = createPgRateLimiter(db.pool);
  for (let i = 0; i < 10; i++) expect((await before.hit('export:acme', `x-${i}`, 10, 3_600_000, t0)).allowed).toBe(true);
  const after = createPgRateLimiter(db.pool);
  expect((await after.hit('export:acme', 'x-10', 10, 3_600_000, t0)).allowed).toBe(false);
  expect((await after.hit('export:acme', 'x-3', 10, 3_600_000, t0)).allowed).toBe(true);
});

it('sweeps by the newest row, not by a clock that jumped ahead (clock probe, 2026-12-05)', async () => {
  const t0 = new Date('2026-11-24T10:00:00.000Z');
  const day = 86_400_000;
  await db.pool.query('TRUNCATE embedded_rate_log, embedded_rate_totals');
  const before = createPgRateLimiter(db.pool);
  for (let i = 0; i < 2; i++) expect((await before.hit('order:4712', `o-${i}`, 2, day, t0)).allowed).toBe(true);
  // A restart two days ahead: its first call sweeps, and must leave order:4712's rows.
  const ahead = createPgRateLimiter(db.pool);
  expect((await ahead.hit('order:4713', 'o-0', 2, day, new Date(t0.getTime() + 2 * day))).allowed).toBe(true);
  expect(await ahead.hit('order:4712', 'o-2', 2, day, new Date(t0.getTime() + 10_000))).toEqual({ allowed: false, remaining: 0 });
  // Traffic on other keys while the clock is ahead, and the next sweep (red team, 2026-12-05: bounded by the newest row
  // of all keys, it erased every window not hit during the jump).
  for (let i = 0; i < 500; i++) await ahead.hit(`order:j${i}`, `j-${i}`, 2, day, new Date(t0.getTime() + 2 * day));
  expect(await ahead.hit('order:4712', 'o-3', 2, day, new Date(t0.getTime() + 20_000))).toEqual({ allowed: false, remaining: 0 });
});

it("keeps each log's totals equal to its rows through prunes, sweeps, redeliveries and clock jumps (scale probe, 2026-12-06: a hit no longer reads its window to count it)", async () => {
  await db.pool.query('TRUNCATE embedded_rate_log, embedded_rate_totals');
  const limiter = createPgRateLimiter(db.pool);
  const t0 = Date.parse('2026-11-24T10:00:00.000Z');
  const minute = 60_000;
  // A deterministic walk: three keys, two window lengths, amounts, redeliveries, a clock that jumps ahead and back.
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  let clock = t0;
  for (let i = 0; i < 600; i++) {
    clock += next(4) === 0 ? -next(3) * minute : next(20) * 1_000;
    if (i % 97 === 0) clock += 2 * 24 * 60 * minute; // ahead two days…
    if (i % 97 === 5) clock -= 2 * 24 * 60 * minute; // …and back
    const id = next(5) === 0 && i > 10 ? `h-${i - 1 - next(10)}` : `h-${i}`;
    await limiter.add(`k${next(3)}`, id, next(1000) / 10, next(2) ? 10 * minute : 60 * minute, new Date(clock));
  }
  const { rows: logs } = await db.pool.query<{ kind: string; key: string; window_ms: string; n: string; s: number }>(
    'SELECT kind, key, window_ms, count(*) AS n, sum(amount) AS s FROM embedded_rate_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3',
  );
  const { rows: totals } = await db.pool.query<{ kind: string; key: string; window_ms: string; n: string; s: number }>(
    'SELECT kind, key, window_ms, count AS n, sum AS s FROM embedded_rate_totals WHERE count > 0 ORDER BY 1, 2, 3',
  );
  expect(totals.map((t) => [t.kind, t.key, String(t.window_ms), Number(t.n)])).toEqual(logs.map((l) => [l.kind, l.key, String(l.window_ms), Number(l.n)]));
  totals.forEach((t, i) => expect(t.s).toBeCloseTo(logs[i].s, 6));
});
