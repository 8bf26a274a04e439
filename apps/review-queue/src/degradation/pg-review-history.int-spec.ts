import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { PgReviewItemRepository } from '../review-item/pg-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { createReviewHistory } from './pg-review-history';

// real: PostgreSQL (a database cloned from the migrated template), the review items' repository; fake: nothing.
describe("the SLO's decisions (overload probe, 2026-12-06)", () => {
  let pool: Pool;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase('review');
    pool = createPgPool(db.url);
    drop = db.drop;
  });
  afterAll(async () => {
    await pool.end();
    await drop();
  }, 60_000);

  it("counts reviewers' decisions and expiries, not the queue's own refusals of a proposer past its share", async () => {
    const items = new PgReviewItemRepository(pool);
    const due = '2026-12-06T10:15:00.000Z';
    for (const id of ['by-alice', 'late-alice', 'expired', 'capped-1', 'capped-2']) await items.add(reviewItem(id, due, { slaClass: 'high' }));
    const at = (t: string) => new Date(`2026-12-06T${t}.000Z`);
    expect(await items.decide('by-alice', 'approved', ['alice'], 'checked', at('10:05:00'))).toBeTruthy();
    expect(await items.decide('late-alice', 'rejected', ['alice'], 'no', at('10:14:00'))).toBeTruthy();
    await pool.query(`UPDATE review_items SET due_at = $2 WHERE action_id = $1`, ['late-alice', at('10:10:00')]);
    expect(await items.decide('expired', 'expired', ['review-queue'], 'no decision in time', at('10:15:00'))).toBeTruthy();
    for (const id of ['capped-1', 'capped-2'])
      expect(await items.decide(id, 'rejected', ['review-queue'], "the proposer's share of the queue is full", at('10:01:00'))).toBeTruthy();
    expect(await createReviewHistory(pool).decidedSince(at('10:00:00'))).toEqual([{ slaClass: 'high', decided: 3, late: 2 }]);
  });

  it('counts an action revised by approve with changes once, by its new version (auditor probe, 2026-12-07)', async () => {
    const items = new PgReviewItemRepository(pool);
    const due = '2026-12-06T12:15:00.000Z';
    const at = (t: string) => new Date(`2026-12-06T${t}.000Z`);
    await items.add(reviewItem('first', due, { slaClass: 'normal' }));
    expect(await items.decide('first', 'revised', ['alice'], 'narrowed the amount', at('12:02:00'))).toBeTruthy();
    await items.add(reviewItem('first-v2', due, { slaClass: 'normal', authoredBy: ['alice'], firstQueuedAt: '2026-12-06T11:50:00.000Z' }));
    expect((await items.get('first-v2'))!.firstQueuedAt).toBe('2026-12-06T11:50:00.000Z');
    expect(await items.decide('first-v2', 'approved', ['bob'], 'fine', at('12:05:00'))).toBeTruthy();
    expect(await createReviewHistory(pool).decidedSince(at('12:00:00'))).toEqual([{ slaClass: 'normal', decided: 1, late: 0 }]);
  });
});
