import { TOPICS, TopicMap } from '@countersign/contracts';
import { ActionViewConsumer } from './action-view.consumer';
import { InMemoryActionViewRepository } from './in-memory-action-view.repository';

// real: ActionViewConsumer, the in-memory read model (the PostgreSQL one stores the same entries); fake: nothing.

/** A read model and the consumer's handlers that fill it, by topic. */
function readModel() {
  const views = new InMemoryActionViewRepository();
  const handlers = (new ActionViewConsumer(views) as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
  return { views, handlers };
}
describe('action timeline', () => {
  it('keeps no regulated data in clear: neither in the detail nor in the actor', async () => {
    const { views, handlers } = readModel();
    const reviewer = { id: 'jane.doe@example.org', kind: 'human' as const, authMethod: 'bearer-token' as const };
    const event: TopicMap[typeof TOPICS.reviewDecided] = {
      id: 'e-1',
      type: TOPICS.reviewDecided,
      version: 1,
      source: 'review-queue',
      time: '2026-11-24T10:00:00.000Z',
      subject: 'a-1',
      correlationId: 'c-1',
      causationId: 'd-1',
      actor: reviewer,
      data: { decision: 'rejected', reviewers: [reviewer], reason: 'card 4111.1111.1111.1111 is not the customer’s', digest: 'a'.repeat(64) },
    };
    await handlers[TOPICS.reviewDecided](event);
    const [entry] = await views.timeline('a-1');
    expect(entry).toMatchObject({ status: 'rejected', actor: 'j***@[email]' });
    expect(JSON.stringify(entry)).not.toMatch(/jane\.doe|4111/);
  });

  it('shows an escalation as still in review (to whom, due when) and an expiry as final, with its reason code', async () => {
    const { views, handlers } = readModel();
    const clock = { id: 'review-queue', kind: 'service' as const, authMethod: 'service' as const };
    const decided = (id: string, time: string, data: Partial<TopicMap[typeof TOPICS.reviewDecided]['data']>): TopicMap[typeof TOPICS.reviewDecided] => ({
      id,
      type: TOPICS.reviewDecided,
      version: 1,
      source: 'review-queue',
      time,
      subject: 'a-2',
      correlationId: 'c-2',
      causationId: 'd-2',
      actor: clock,
      data: { decision: 'escalated', reviewers: [clock], reason: 'r', digest: 'a'.repeat(64), ...data },
    });
    await handlers[TOPICS.reviewDecided](
      decided('e-esc', '2026-11-24T10:07:30.000Z', {
        reason: 'still undecided past its escalation time: escalated to finance-lead',
        escalation: { kind: 'escalated', requiredRoles: ['finance', 'finance-lead'], dueAt: '2026-11-24T10:15:00.000Z' },
      }),
    );
    await handlers[TOPICS.reviewDecided](
      decided('e-exp', '2026-11-24T10:15:00.000Z', { decision: 'expired', reason: 'no decision within the high SLA', reasonCode: 'sla_expired' }),
    );
    const timeline = await views.timeline('a-2');
    expect(timeline.map((t) => [t.status, t.detail])).toEqual([
      [
        'in_review',
        'review-queue: still undecided past its escalation time: escalated to finance-lead (escalated: roles finance, finance-lead, due 2026-11-24T10:15:00.000Z)',
      ],
      ['expired', 'review-queue: sla_expired: no decision within the high SLA'],
    ]);
  });

  it('shows an action the executor holds as held, with the reason', async () => {
    const { views, handlers } = readModel();
    const executor = { id: 'executor', kind: 'service' as const, authMethod: 'service' as const };
    const held: TopicMap[typeof TOPICS.actionHeld] = {
      id: 'e-held',
      type: TOPICS.actionHeld,
      version: 1,
      source: 'executor',
      time: '2026-11-24T10:00:00.000Z',
      subject: 'a-3',
      correlationId: 'c-3',
      causationId: 'd-3',
      actor: executor,
      data: { code: 'trust-stack-unhealthy', reason: 'the trust stack is failed: runs once it is healthy again', trustHealthEventId: 't-1' },
    };
    await handlers[TOPICS.actionHeld](held);
    expect(await views.timeline('a-3')).toEqual([
      expect.objectContaining({ status: 'held', detail: 'trust-stack-unhealthy: the trust stack is failed: runs once it is healthy again' }),
    ]);
  });
});
