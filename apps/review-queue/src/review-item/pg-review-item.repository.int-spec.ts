import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { PgReviewItemRepository } from './pg-review-item.repository';
import { reviewItemSuite } from './review-item.suite';

// real: PostgreSQL (a database cloned from the migrated template); fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
// A database per test, dropped at the end: more than the default 5 s on a busy machine.
afterAll(async () => {
  for (const c of cleanups) await c();
}, 60_000);

reviewItemSuite('postgres', async () => {
  const db = await createTestDatabase('review');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return new PgReviewItemRepository(pool);
});
