import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import type { StoredDecision } from './decision.repository';
import { decisionSuite } from './decision.suite';
import { PgDecisionRepository } from './pg-decision.repository';

// real: PostgreSQL; fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function database() {
  const db = await createTestDatabase('decisions');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return pool;
}

decisionSuite('postgres', async () => new PgDecisionRepository(await database()));

describe('PgDecisionRepository: expiry', () => {
  it('reads a decision past its expiry as absent: a new evaluation stands then, and the old row can be deleted', async () => {
    const pool = await database();
    const repo = new PgDecisionRepository(pool);
    const first = { id: 'd1', subject: 'a1', data: { lane: 'review' } } as unknown as StoredDecision;
    const second = { id: 'd1', subject: 'a1', data: { lane: 'autonomous' } } as unknown as StoredDecision;
    await repo.keep(first, 'n1');
    await pool.query("UPDATE policy_engine_decisions SET expires_at = now() - interval '1 second'");
    expect(await repo.get('a1')).toBeUndefined();
    expect(await repo.deleteExpired()).toBe(1);
    await repo.keep(first, 'n1');
    await pool.query("UPDATE policy_engine_decisions SET expires_at = now() - interval '1 second'");
    expect(await repo.keep(second, 'n2')).toEqual({ decision: second, mine: true });
    expect(await repo.keep(first, 'n3')).toEqual({ decision: second, mine: false });
  });
});
