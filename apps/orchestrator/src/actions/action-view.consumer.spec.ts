import { TOPICS, TopicMap } from '@countersign/contracts';
import { ActionViewConsumer } from './action-view.consumer';
import { InMemoryActionViewRepository } from './in-memory-action-view.repository';

// real: ActionViewConsumer, the in-memory read model (the PostgreSQL one stores the same entries); fake: nothing.
describe('action timeline', () => {
  it('keeps no regulated data in clear: neither in the detail nor in the actor', async () => {
    const views = new InMemoryActionViewRepository();
    const consumer = new ActionViewConsumer(views);
    const handlers = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
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
});
