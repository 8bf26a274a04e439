// real: InboxFeed over the in-memory review-item repository (the embedded twin); fake: nothing (the period is long,
// each look is asked for with `nudge`).
import { eventually } from '@countersign/testing';
import { createInMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import type { ReviewItemRepository } from '../review-item/review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { createInMemorySessionStore } from './in-memory-session.store';
import { hearsOf, InboxChange, InboxFeed, MAX_STREAMS_PER_REVIEWER } from './inbox-feed';

const due = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
/** A feed over `items` that looks only when asked (`nudge`): its period is a minute. */
const feedOver = (items: ReviewItemRepository) =>
  new InboxFeed(items, { issuer: 'x', clientId: 'c', clientSecret: 's', publicUrl: 'x', sessions: createInMemorySessionStore(), feedPeriodMs: 60_000 });

describe('the inbox feed', () => {
  it('tells watchers what arrived, changed, was decided and expired since it started watching', async () => {
    const items = createInMemoryReviewItemRepository();
    await items.add(reviewItem('before', due(30)));
    await items.add(reviewItem('decided', due(40)));
    const feed = feedOver(items);
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
        { type: 'arrived', actionId: 'new', requiredRoles: ['finance'], proposal: { tenant: 'acme' } },
        { type: 'decided', actionId: 'decided', requiredRoles: ['reviewer'], proposal: { tenant: 'acme' } },
      ]),
    );

    await items.decide('before', 'expired', ['review-queue'], 'sla_expired', new Date());
    feed.nudge();
    await eventually(() => expect(seen).toContainEqual({ type: 'expired', actionId: 'before', requiredRoles: ['reviewer'], proposal: { tenant: 'acme' } }));
    stop();
    feed.onModuleDestroy();
  });

  it('starts a watcher who comes after everyone stopped from a fresh picture, not from a look begun before the stop', async () => {
    const items = createInMemoryReviewItemRepository();
    await items.add(reviewItem('early', due(30)));
    // The first look is held until the test lets it go: it reads the items as they stood before the stop.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let looks = 0;
    const gated = Object.create(items) as typeof items;
    gated.pending = async (limit) => {
      const picture = await items.pending(limit);
      if (++looks === 1) await held;
      return picture;
    };
    const feed = feedOver(gated);
    const first = feed.watch(() => undefined);
    first.stop();
    // Between the stop and the next watcher, an item arrives: the next watcher's page shows it already.
    await items.add(reviewItem('meanwhile', due(40)));
    const seen: InboxChange[] = [];
    const second = feed.watch((c) => seen.push(c));
    let ready = false;
    void second.ready.then(() => (ready = true));
    release();
    await second.ready;
    expect(looks).toBe(2);
    expect(ready).toBe(true);
    // The stale look (without "meanwhile") was not kept as the picture: nothing is told of an item the page shows.
    feed.nudge();
    await eventually(() => expect(looks).toBe(3));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    // And what changes after ready is told.
    await items.decide('early', 'approved', ['bob'], 'fine', new Date());
    feed.nudge();
    await eventually(() => expect(seen).toEqual([{ type: 'decided', actionId: 'early', requiredRoles: ['reviewer'], proposal: { tenant: 'acme' } }]));
    second.stop();
    feed.onModuleDestroy();
  });

  it('tells of an item that arrived and was decided between two looks, once, and of nothing that left before it started', async () => {
    const items = createInMemoryReviewItemRepository();
    await items.add(reviewItem('gone-before', due(30)));
    await items.decide('gone-before', 'approved', ['bob'], 'fine', new Date());
    const feed = feedOver(items);
    const seen: InboxChange[] = [];
    const { stop, ready } = feed.watch((c) => seen.push(c));
    await ready;
    // Between the starting picture and the next look, an item arrives (a page fetching its list now shows it) and is
    // decided; another arrives and expires. Neither look sees them pending.
    await items.add(reviewItem('brief', due(40), { requiredRoles: ['finance'] }));
    await items.decide('brief', 'rejected', ['bob'], 'no', new Date());
    await items.add(reviewItem('briefer', due(50)));
    await items.decide('briefer', 'expired', ['review-queue'], 'sla_expired', new Date());
    feed.nudge();
    await eventually(() => expect(seen).toHaveLength(2));
    expect(seen).toEqual(
      expect.arrayContaining([
        { type: 'decided', actionId: 'brief', requiredRoles: ['finance'], proposal: { tenant: 'acme' } },
        { type: 'expired', actionId: 'briefer', requiredRoles: ['reviewer'], proposal: { tenant: 'acme' } },
      ]),
    );
    // Later looks read them again (they left within the margin): they are not told twice.
    feed.nudge();
    await new Promise((r) => setImmediate(r));
    feed.nudge();
    await items.add(reviewItem('next', due(60)));
    feed.nudge();
    await eventually(() => expect(seen.map((c) => c.actionId)).toContain('next'));
    expect(seen.map((c) => c.actionId).sort()).toEqual(['brief', 'briefer', 'next']);
    stop();
    feed.onModuleDestroy();
  });

  it('gives up on a look that never answers and looks again, so that a hung query does not freeze the feed', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
    try {
      const items = createInMemoryReviewItemRepository();
      await items.add(reviewItem('early', due(30)));
      let looks = 0;
      const gated = Object.create(items) as typeof items;
      // The second look's query never answers (the first is the starting picture).
      gated.pending = (limit) => (++looks === 2 ? new Promise(() => undefined) : items.pending(limit));
      const feed = feedOver(gated);
      const seen: InboxChange[] = [];
      const { stop, ready } = feed.watch((c) => seen.push(c));
      await ready;
      await items.decide('early', 'approved', ['bob'], 'fine', new Date());
      feed.nudge();
      await jest.advanceTimersByTimeAsync(0);
      expect(looks).toBe(2);
      // Asked again while the hung look is under way: nothing new starts yet …
      feed.nudge();
      expect(looks).toBe(2);
      // … until the look has run out of time; the look asked for meanwhile then runs and tells what happened.
      await jest.advanceTimersByTimeAsync(9_999);
      expect(looks).toBe(2);
      await jest.advanceTimersByTimeAsync(1);
      await new Promise((r) => setImmediate(r));
      expect(looks).toBe(3);
      expect(seen).toEqual([{ type: 'decided', actionId: 'early', requiredRoles: ['reviewer'], proposal: { tenant: 'acme' } }]);
      stop();
      feed.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('live streams per reviewer', () => {
  it(`gives one reviewer at most ${MAX_STREAMS_PER_REVIEWER} at once, another reviewer slots of their own, and a slot back once its stream ends`, () => {
    const feed = feedOver(createInMemoryReviewItemRepository());
    const alice = Array.from({ length: MAX_STREAMS_PER_REVIEWER }, () => feed.openStream('alice'));
    expect(alice.every((release) => typeof release === 'function')).toBe(true);
    expect(feed.openStream('alice')).toBeUndefined();
    expect(feed.openStream('bob')).toEqual(expect.any(Function));
    // A release counts once, however often the stream's close is heard.
    alice[0]!();
    alice[0]!();
    expect(feed.openStream('alice')).toEqual(expect.any(Function));
    expect(feed.openStream('alice')).toBeUndefined();
  });
});

describe("a reviewer's live stream (ADR 0052)", () => {
  it("tells a reviewer bound to tenants only of their tenants' items in their roles; one bound to none, of every tenant's", () => {
    const change = (tenant: string, requiredRoles = ['finance']): InboxChange => ({ type: 'arrived', actionId: 'a-1', requiredRoles, proposal: { tenant } });
    const dana = { roles: ['reviewer', 'finance'], tenants: ['acme'] };
    expect(hearsOf(dana, change('acme'))).toBe(true);
    expect(hearsOf(dana, change('globex'))).toBe(false);
    expect(hearsOf(dana, change('Acme'))).toBe(false);
    expect(hearsOf(dana, change('acme', ['security']))).toBe(false);
    expect(hearsOf({ roles: ['finance'] }, change('globex'))).toBe(true);
  });
});
