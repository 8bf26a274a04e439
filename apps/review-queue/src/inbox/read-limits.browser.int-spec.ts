// real: Chromium (Debian's, driven by playwright-core), the local OpenID Connect provider (oidc-provider, code + PKCE),
// openid-client, the review queue's HTTP app (Nest) with its inbox, sessions and read limits (libs/platform/nest
// read-rate.ts), decision quality (the governance page), PostgreSQL (a database cloned from the migrated template);
// fake: the bus (in memory, recording what is published) and intake. (All started by `startInboxHarness`.)
import type { Page } from 'playwright-core';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { MAX_STREAMS_PER_REVIEWER } from './inbox-feed';
import { InboxHarness, quietDecisionQuality, startInboxHarness } from './testing/inbox.harness';

jest.setTimeout(180_000);

/** A read from the signed-in page, as its script makes them (the session's cookie). */
const read = (page: Page, path: string) =>
  page.evaluate(async (path) => {
    const res = await fetch(path, { headers: { Accept: 'text/html' } });
    return { status: res.status, retryAfter: res.headers.get('Retry-After'), text: await res.text() };
  }, path);

/** Until the page's own first fetch of the list (on the live stream's `ready`) has been answered. */
const listFetched = (page: Page) => page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('/reviews/list')));

describe("a signed-in person's reads are limited as a token's are (ADR 0048, addendum 2026-12-07)", () => {
  let h: InboxHarness;
  beforeAll(async () => {
    h = await startInboxHarness('inbox-read-limits', {
      // Twelve reads, then one every 1,000 s: nothing comes back while the test runs. One read at a time: the live
      // stream, open all along, must not hold it.
      readRate: { perSecond: 0.001, burst: 12, inFlight: 1 },
      withPool: quietDecisionQuality,
    });
  }, 180_000);
  afterAll(() => h?.close(), 60_000);

  const refusals = () =>
    h.bus.published
      .filter((p) => p.topic === TOPICS.requestRejected)
      .map((p) => p.event as TopicMap[typeof TOPICS.requestRejected])
      .filter((e) => e.data.status === 429)
      .map((e) => [e.actor.id, e.data.path]);

  it("answers a reviewer's reads past her burst 429 with Retry-After, audited under her name; her live stream holds no read; another reviewer reads on", async () => {
    // The page, its live stream and its first list: three of Alice's twelve.
    const alice = (await h.signIn('alice')).page;
    await listFetched(alice);
    const answers: Array<{ status: number; retryAfter: string | null; text: string }> = [];
    for (let i = 0; i < 12; i++) answers.push(await read(alice, '/reviews/list'));
    const statuses = answers.map((a) => a.status);
    const admitted = statuses.indexOf(429);
    // Some admitted (the stream, open throughout with one read allowed at a time, took no slot), then none.
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(12);
    expect(statuses).toEqual([...Array(admitted).fill(200), ...Array(12 - admitted).fill(429)]);
    expect(answers[admitted].retryAfter).toMatch(/^\d+$/);
    expect(JSON.parse(answers[admitted].text).message).toMatch(
      /^principal alice reads faster than its rate \(0\.001 a second, 12 at once\): retry after \d+ s$/,
    );
    // A card and the page itself are reads as well.
    expect((await read(alice, '/reviews/no-such-action/card')).status).toBe(429);
    expect((await read(alice, '/reviews')).status).toBe(429);
    expect(refusals()).toContainEqual(['alice', '/reviews/list']);
    expect(refusals().every(([who]) => who === 'alice')).toBe(true);

    // Bob's budget is his own.
    const bob = (await h.signIn('bob')).page;
    await listFetched(bob);
    expect((await read(bob, '/reviews/list')).status).toBe(200);
  });

  it('counts the governance page, which sums up to 50,000 decisions a load', async () => {
    const lena = (await h.signIn('lena')).page;
    await listFetched(lena);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await read(lena, '/reviews/governance')).status);
    const admitted = statuses.indexOf(429);
    expect(admitted).toBeGreaterThan(0);
    expect(statuses).toEqual([...Array(admitted).fill(200), ...Array(12 - admitted).fill(429)]);
    expect(refusals()).toContainEqual(['lena', '/reviews/governance']);
  });
});

describe('the inbox page past its reviewer’s read rate (ADR 0048, addendum 2026-12-07)', () => {
  let h: InboxHarness;
  // One read every 5 s after a burst of 4: past it, a 429 says to wait up to 5 s, and then there is a read again.
  beforeAll(async () => void (h = await startInboxHarness('inbox-read-retry', { readRate: { perSecond: 0.2, burst: 4, inFlight: 16 } })), 180_000);
  afterAll(() => h?.close(), 60_000);

  it('waits out a refused refresh of the list and asks again: news that came while the budget was spent is shown', async () => {
    const carol = (await h.signIn('carol')).page;
    await listFetched(carol);
    // Carol's budget spent (the page took three of the four).
    for (let i = 0; i < 10 && (await read(carol, '/reviews/no-such-action/card')).status !== 429; i++);
    const id = await h.queue({ target: 'order-while-limited' });
    // The page's refresh on the news is refused, waited out, and asked again.
    await carol.waitForSelector(`.items a[data-action-id="${id}"]`, { timeout: 30_000 });
    const refused = h.bus.published
      .filter((p) => p.topic === TOPICS.requestRejected)
      .map((p) => p.event as TopicMap[typeof TOPICS.requestRejected])
      .filter((e) => e.data.status === 429 && e.actor.id === 'carol')
      .map((e) => e.data.path);
    expect(refused.some((path) => path.startsWith('/reviews/list'))).toBe(true);
  });
});

describe('the inbox page’s live stream, refused (its reviewer’s 8 streams open elsewhere)', () => {
  let h: InboxHarness;
  beforeAll(async () => void (h = await startInboxHarness('inbox-stream-reopen')), 180_000);
  afterAll(() => h?.close(), 60_000);

  it('opens its stream again once one is free, and shows what came meanwhile (a browser does not reconnect a refused stream)', async () => {
    const { context, page } = await h.signIn('fiona');
    const cookie = (await context.cookies(h.url)).map((c) => `${c.name}=${c.value}`).join('; ');
    await page.goto('about:blank');
    // All of Fiona's streams taken from elsewhere (the page's own is let go as it left: tried until it has been).
    const held: AbortController[] = [];
    for (let tries = 0; held.length < MAX_STREAMS_PER_REVIEWER && tries < 200; tries++) {
      const abort = new AbortController();
      const res = await fetch(`${h.url}/reviews/events`, { headers: { cookie }, signal: abort.signal });
      if (res.status === 200) held.push(abort);
      else {
        expect(res.status).toBe(429);
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(held).toHaveLength(MAX_STREAMS_PER_REVIEWER);

    await page.goto(`${h.url}/reviews`);
    await page.waitForSelector('body[data-live="closed"]');
    // The reviewer sees that the list is not kept up to date; and no longer once it is again.
    expect(await page.isVisible('#live-paused')).toBe(true);
    const id = await h.queue({ target: 'order-while-streamless' });
    held.pop()!.abort();
    await page.waitForSelector('body[data-live="ready"]', { timeout: 20_000 });
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    expect(await page.isVisible('#live-paused')).toBe(false);
    for (const abort of held) abort.abort();
  });
});
