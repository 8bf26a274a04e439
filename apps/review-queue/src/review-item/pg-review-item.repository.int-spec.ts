import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { PgReviewItemRepository } from './pg-review-item.repository';
import { decisionEvent, reviewItem, reviewItemSuite } from './review-item.suite';

// real: PostgreSQL (a database cloned from the migrated template); fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
// A database per test, dropped at the end, all at once: one after another, the 45 drops took over a minute on a
// loaded 2-core machine (2026-12-07, load average 8) and failed the hook though every test had passed.
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
}, 180_000);

reviewItemSuite('postgres', async () => {
  const db = await createTestDatabase('review');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return new PgReviewItemRepository(pool);
});

describe('PgReviewItemRepository group commit (docs/adr/0028), on real PostgreSQL', () => {
  const setup = async () => {
    const db = await createTestDatabase('review');
    const pool: Pool = createPgPool(db.url);
    const other: Pool = createPgPool(db.url);
    cleanups.push(async () => {
      await pool.end();
      await other.end();
      await db.drop();
    });
    // Counts the statements the repository sends (the pool is real; only watched).
    const sent: string[] = [];
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      // A statement is its text, or a named one's config ({ name, text }).
      sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text));
      return query(...args);
    };
    return { repo: new PgReviewItemRepository(pool), other, sent };
  };
  const at = new Date('2026-11-24T10:02:00.000Z');

  it('writes decisions made at once in far fewer statements than decisions, each committed before it resolves', async () => {
    const { repo, other, sent } = await setup();
    const items = Array.from({ length: 20 }, (_, i) => reviewItem(`g${i}`, '2026-11-24T11:00:00.000Z'));
    for (const item of items) await repo.add(item);
    sent.length = 0;
    const decided = await Promise.all(
      items.map(async (item) => {
        const d = await repo.decide(item.actionId, 'approved', ['alice'], 'ok', at, decisionEvent(item, 'approved', 'alice'));
        // Resolved: committed, so another connection reads it at once.
        const seen = await other.query('SELECT status FROM review_items WHERE action_id = $1', [item.actionId]);
        return [d?.status, seen.rows[0].status];
      }),
    );
    expect(decided).toEqual(items.map(() => ['approved', 'approved']));
    const decideStatements = sent.filter((q) => q.includes('jsonb_to_recordset'));
    expect(decideStatements.length).toBeGreaterThanOrEqual(1);
    expect(decideStatements.length).toBeLessThanOrEqual(2);
  });

  it('fails only the decision PostgreSQL refuses, not the others of its batch', async () => {
    const { repo, other } = await setup();
    const items = ['ok1', 'bad', 'ok2'].map((id) => reviewItem(id, '2026-11-24T11:00:00.000Z'));
    for (const item of items) await repo.add(item);
    // A NUL character: PostgreSQL refuses it in text, which fails the batch's statement as a whole.
    const results = await Promise.allSettled(
      items.map((item) => repo.decide(item.actionId, 'rejected', ['alice'], item.actionId === 'bad' ? 'nul \u0000 here' : 'no', at)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const { rows } = await other.query('SELECT action_id, status FROM review_items ORDER BY action_id');
    expect(rows).toEqual([
      { action_id: 'bad', status: 'pending' },
      { action_id: 'ok1', status: 'rejected' },
      { action_id: 'ok2', status: 'rejected' },
    ]);
  });
});
