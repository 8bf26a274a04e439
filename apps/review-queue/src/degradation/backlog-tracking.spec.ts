import pino from 'pino';
import { createInMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { decisionEvent, reviewItem } from '../review-item/review-item.suite';
import type { BacklogGauges } from './backlog-gauges';
import { withBacklogGauges } from './backlog-tracking';
import { InMemoryBacklogGauges } from './in-memory-backlog-gauges';

// real: the in-memory review items and gauges (both pass their shared suites), the decorator under test; fake: a
// gauge store that fails when told to.

const logger = pino({ level: 'silent' });
const T = '2026-11-24T10:00:00.000Z';

describe('the backlog gauges kept beside the review items', () => {
  it('count an item queued, and no longer once it is decided or expired; an escalated one under its new roles', async () => {
    const gauges = new InMemoryBacklogGauges();
    const items = withBacklogGauges(createInMemoryReviewItemRepository(), gauges, logger);
    for (const id of ['decided', 'expired', 'escalated', 'waiting']) await items.add(reviewItem(id, '2026-11-24T10:30:00.000Z'));
    await items.add(reviewItem('sample', '2026-11-24T10:30:00.000Z', { kind: 'audit-sample' }));
    expect((await gauges.snapshot()).bySlaClass.high?.depth).toBe(4);

    await items.decide('decided', 'approved', ['alice'], 'fine', new Date(T));
    // The review clock's steps: one item expires, one escalates to the leads.
    await items.claimDue(new Date('2026-11-24T11:00:00.000Z'), 10, (item) =>
      item.actionId === 'expired'
        ? { kind: 'expire', by: ['review-clock'], reason: 'sla_expired', event: decisionEvent(item, 'expired', 'review-clock') }
        : item.actionId === 'escalated'
          ? { kind: 'escalate', requiredRoles: ['lead'], event: decisionEvent(item, 'escalated', 'review-clock') }
          : undefined,
    );
    const snap = await gauges.snapshot();
    expect(snap.bySlaClass.high?.depth).toBe(2);
    expect(snap.byRole.reviewer?.depth).toBe(1);
    expect(snap.byRole.lead?.depth).toBe(1);
  });

  it('ages a re-routed item from its re-route: its fallback team has a whole window (lifecycle probe, 2026-12-05)', async () => {
    const gauges = new InMemoryBacklogGauges();
    const items = withBacklogGauges(createInMemoryReviewItemRepository(), gauges, logger);
    await items.add(reviewItem('rerouted', '2026-11-24T10:30:00.000Z'));
    expect((await gauges.snapshot()).bySlaClass.high?.oldestCreatedAt).toBe(Date.parse(T));
    await items.claimDue(new Date('2026-11-24T10:30:00.000Z'), 10, (item) => ({
      kind: 'reroute',
      requiredRoles: ['on-call'],
      dueAt: '2026-11-24T11:00:00.000Z',
      event: decisionEvent(item, 'escalated', 'review-clock'),
    }));
    const rerouted = await items.get('rerouted');
    expect(rerouted?.reroutedAt).toBeDefined();
    expect((await gauges.snapshot()).bySlaClass.high).toEqual({ depth: 1, oldestCreatedAt: Date.parse(rerouted!.reroutedAt!) });
  });

  it('a gauge that could not be updated leaves the write done and says the gauges drifted', async () => {
    const real = new InMemoryBacklogGauges();
    let failing = false;
    const flaky: BacklogGauges = new Proxy(real, {
      get: (target, prop) => {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          failing && (prop === 'add' || prop === 'remove')
            ? Promise.reject(new Error('Redis is away'))
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const drifts: string[] = [];
    const items = withBacklogGauges(createInMemoryReviewItemRepository(), flaky, logger, () => drifts.push('drifted'));
    await items.add(reviewItem('a1', '2026-11-24T10:30:00.000Z'));
    expect(drifts).toEqual([]);
    failing = true;
    expect(await items.add(reviewItem('a2', '2026-11-24T10:30:00.000Z'))).toBe(true);
    expect(await items.decide('a1', 'rejected', ['alice'], 'no', new Date(T))).toMatchObject({ status: 'rejected' });
    expect(drifts).toEqual(['drifted', 'drifted']);
    expect((await items.get('a2'))?.status).toBe('pending');
  });
});
