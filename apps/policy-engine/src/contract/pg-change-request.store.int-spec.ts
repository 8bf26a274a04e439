import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { changeRequestStoreSuite } from './change-request.store.suite';
import { PgChangeRequestStore } from './pg-change-request.store';

// real: PostgreSQL; fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

changeRequestStoreSuite('postgres', async (baseClaimMs) => {
  const db = await createTestDatabase('changes');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return new PgChangeRequestStore(pool, baseClaimMs);
});
