import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { actionViewSuite } from './action-view.suite';
import { PgActionViewRepository } from './pg-action-view.repository';

// real: PostgreSQL; fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

actionViewSuite('postgres', async () => {
  const db = await createTestDatabase('views');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return new PgActionViewRepository(pool);
});
