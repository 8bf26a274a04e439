import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { executionSuite } from './execution.suite';
import { PgExecutionRepository } from './pg-execution.repository';

// real: PostgreSQL; fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

executionSuite('postgres', async () => {
  const db = await createTestDatabase('exec');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return new PgExecutionRepository(pool);
});
