// real: InboxFeed over the in-memory review-item repository (the embedded twin); fake: nothing (the period is long,
// each look is asked for with `nudge`).
import { eventually } from '@countersign/testing';
import { createInMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { createInMemorySessionStore } from './in-memory-session.store';
import { InboxChange, InboxFeed } from './inbox-feed';

const due = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

describe('the inbox feed', () => {
  it('tells watchers what arrived, changed, was decided and expired since it started watching', async () => {
    const items = createInMemoryReviewItemRepository();
    await items.add(reviewItem('before', due(30)));
    await items.add(reviewItem('decided', due(40)));
    const feed = new InboxFeed(items, {
      issuer: 'x',
      clientId: 'c',
      clientSecret: 's',
      publicUrl: 'x',
      sessions: createInMemorySessionStore(),
      feedPeriodMs: 60_000,
    });
    const seen: InboxChange[] = [];
    const { stop, ready } = feed.watch((c) => seen.push(c));
    await ready;
    // What was there before the starting picture is not news.
    expect(seen).toEqual([]);

    await items.add(reviewItem('new', due(50), { requiredRoles: ['finance'] }));
    await items.decide('decided', 'approved', ['bob'], 'fine', new Date());
    feed.nudge();
    await eventually(() => expect(seen).toHaveLength(2));
    expect(seen).toEqual(
      expect.arrayContaining([
        { type: 'arrived', actionId: 'new', requiredRoles: ['finance'] },
        { type: 'decided', actionId: 'decided', requiredRoles: ['reviewer'] },
      ]),
    );

    await items.decide('before', 'expired', ['review-queue'], 'sla_expired', new Date());
    feed.nudge();
    await eventually(() => expect(seen).toContainEqual({ type: 'expired', actionId: 'before', requiredRoles: ['reviewer'] }));
    stop();
    feed.onModuleDestroy();
  });
});
