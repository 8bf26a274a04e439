import pino from 'pino';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { Principal } from '@countersign/nest';
import { RecordingBus } from '@countersign/testing';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { ReviewItem } from '../review-item/review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { ClaimBreakService } from './claim-break.service';
import { CLAIM_TTL_MS, ClaimService } from './claim.service';

// real: ClaimBreakService and ClaimService on the in-memory review items, the in-memory bus (recording what it is given);
// fake: nothing (times are given, not waited for).
const t0 = new Date('2026-11-24T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const alice: Principal = { id: 'alice', kind: 'human', roles: ['reviewer'] };
const bob: Principal = { id: 'bob', kind: 'human', roles: ['reviewer'] };
const lena: Principal = { id: 'lena', kind: 'human', roles: ['lead', 'reviewer'] };

function setup() {
  const logger = pino({ level: 'silent' });
  const bus = new RecordingBus({ source: 'review-queue', logger });
  const items = new InMemoryReviewItemRepository();
  const item = (actionId: string, over: Partial<ReviewItem> = {}) => reviewItem(actionId, at(3_600_000).toISOString(), over);
  const broken = () => bus.published.filter((p) => p.topic === TOPICS.claimBroken).map((p) => p.event as TopicMap[typeof TOPICS.claimBroken]);
  return { bus, items, item, broken, claims: new ClaimService(items, logger), breaks: new ClaimBreakService(items, bus, logger) };
}

describe("ClaimBreakService: a lead ends a reviewer's claim, on the record", () => {
  it('frees the item for the others, audits who held it and why under the lead, and the holder learns it at the next renewal', async () => {
    const t = setup();
    await t.items.add(t.item('a1'));
    await t.claims.claim('a1', alice, 'Alice', t0);
    await expect(t.claims.claim('a1', bob, 'Bob', at(60_000))).rejects.toThrow(/claimed by Alice/);

    const done = await t.breaks.breakClaim('a1', lena, 'alice is away until tomorrow', at(60_000));
    expect(done).toEqual({ released: { by: 'alice', name: 'Alice', until: at(CLAIM_TTL_MS).toISOString() } });
    expect(t.broken()).toEqual([
      expect.objectContaining({
        subject: 'a1',
        correlationId: 'c-a1',
        causationId: 'd-a1',
        actor: expect.objectContaining({ id: 'lena' }),
        data: { heldBy: 'alice', heldUntil: at(CLAIM_TTL_MS).toISOString(), reason: 'alice is away until tomorrow' },
      }),
    ]);
    expect((await t.items.get('a1'))?.claim).toBeUndefined();
    // Alice's open card renews: her claim has ended. Bob claims it now; the item is still pending.
    await expect(t.claims.renew('a1', alice, 'Alice', at(120_000))).rejects.toThrow(/your claim on action a1 has ended/);
    expect(await t.claims.claim('a1', bob, 'Bob', at(120_000))).toMatchObject({ by: 'bob' });
    expect((await t.items.get('a1'))?.status).toBe('pending');
  });

  it('breaks nothing that is not there: no claim, a claim run out, their own claim, a decided item, an unknown action', async () => {
    const t = setup();
    await t.items.add(t.item('free'));
    await expect(t.breaks.breakClaim('free', lena, 'nobody is on it', t0)).rejects.toThrow(/nobody holds a claim on action free: there is nothing to break/);
    await t.items.add(t.item('ran-out'));
    await t.claims.claim('ran-out', alice, 'Alice', t0);
    await expect(t.breaks.breakClaim('ran-out', lena, 'alice is away', at(CLAIM_TTL_MS))).rejects.toThrow(/nobody holds a claim/);
    await t.items.add(t.item('mine'));
    await t.claims.claim('mine', lena, 'Lena', t0);
    await expect(t.breaks.breakClaim('mine', lena, 'my own', at(1_000))).rejects.toThrow(/you hold the claim on action mine yourself: release it/);
    await t.items.add(t.item('decided', { status: 'approved', claim: { by: 'alice', name: 'Alice', until: at(CLAIM_TTL_MS).toISOString() } }));
    await expect(t.breaks.breakClaim('decided', lena, 'alice is away', at(1_000))).rejects.toThrow(/already decided: there is no claim to break/);
    await expect(t.breaks.breakClaim('nope', lena, 'alice is away', t0)).rejects.toThrow(/no review item for action nope/);
    expect(t.broken()).toEqual([]);
  });

  it('ends no claim it could not put on the record: the bus down leaves the claim holding (fail closed)', async () => {
    const t = setup();
    await t.items.add(t.item('a1'));
    await t.claims.claim('a1', alice, 'Alice', t0);
    t.bus.down = true;
    await expect(t.breaks.breakClaim('a1', lena, 'alice is away', at(1_000))).rejects.toThrow(/kafka is down/);
    expect((await t.items.get('a1'))?.claim).toMatchObject({ by: 'alice' });
    t.bus.down = false;
    await t.breaks.breakClaim('a1', lena, 'alice is away', at(2_000));
    expect((await t.items.get('a1'))?.claim).toBeUndefined();
    expect(t.broken()).toHaveLength(1);
  });
});
