import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { createPrincipalRoster } from './pg-principal-roster';
import { principalRosterSuite } from './principal-roster.suite';

// real: PostgreSQL (a database cloned from the migrated template); fake: nothing. A restart is a new pool on the database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
}, 60_000);

principalRosterSuite('postgres', async () => {
  const db = await createTestDatabase('review');
  const pools: Pool[] = [createPgPool(db.url)];
  cleanups.push(async () => {
    for (const p of pools) await p.end();
    await db.drop();
  });
  return {
    roster: createPrincipalRoster(pools[0]),
    reopened: () => {
      const pool = createPgPool(db.url);
      pools.push(pool);
      return createPrincipalRoster(pool);
    },
  };
});
