import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { decisionQualitySuite } from './decision-quality.suite';
import { PgDecisionQualityStore } from './pg-decision-quality.store';

// real: PostgreSQL (a database cloned from the migrated template); fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
}, 60_000);

decisionQualitySuite('postgres', async () => {
  const db = await createTestDatabase('quality');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return new PgDecisionQualityStore(pool);
});
