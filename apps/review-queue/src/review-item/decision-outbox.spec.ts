import pino from 'pino';
import { PublishError } from '@countersign/bus';
import { RecordingBus } from '@countersign/testing';
import { DecisionOutbox } from './decision-outbox';
import { InMemoryReviewItemRepository } from './in-memory-review-item.repository';
import { decisionEvent, reviewItem } from './review-item.suite';

// real: DecisionOutbox's sweep, the in-memory review items (the PostgreSQL ones pass the same shared suite), the
// in-memory bus recording what it publishes; fake: one event the bus refuses for good (as it refuses one over its size).
describe('the decision outbox sweep', () => {
  it('goes on past an event the bus refuses for good, so the decisions after it are still heard of', async () => {
    const logger = pino({ level: 'silent' });
    const items = new InMemoryReviewItemRepository();
    const bus = new RecordingBus({ source: 'review-queue', logger });
    const at = new Date('2026-11-24T10:02:00.000Z');
    for (const id of ['a1', 'a2', 'a3']) {
      const item = reviewItem(id, '2026-11-24T12:00:00.000Z');
      await items.add(item);
      await items.decide(id, 'rejected', ['alice'], 'no', new Date(at.getTime() + Number(id[1]) * 1000), decisionEvent(item, 'rejected', 'alice'));
    }
    const poison = (await items.decisionEvent('a1'))!.event.id;
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, event) => {
      if (event.id === poison) throw new PublishError('event for review.decision.made.v1 is 262752 bytes, over the 262144-byte limit');
      return publish(topic, event);
    };
    const outbox = new DecisionOutbox(bus, items, logger);
    expect(await outbox.sweep(new Date(at.getTime() + 60_000))).toBe(2);
    expect(bus.published.map((p) => p.event.subject)).toEqual(['a2', 'a3']);
    // A bus that is away still stops the sweep, and the next one tries again.
    bus.down = true;
    const item = reviewItem('a4', '2026-11-24T12:00:00.000Z');
    await items.add(item);
    await items.decide('a4', 'rejected', ['alice'], 'no', at, decisionEvent(item, 'rejected', 'alice'));
    expect(await outbox.sweep(new Date(at.getTime() + 60_000))).toBe(0);
    bus.down = false;
    expect(await outbox.sweep(new Date(at.getTime() + 60_000))).toBe(1);
    expect(bus.published.map((p) => p.event.subject)).toEqual(['a2', 'a3', 'a4']);
  });
});
