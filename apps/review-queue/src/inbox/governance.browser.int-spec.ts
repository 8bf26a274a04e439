import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionSigner } from '@countersign/approval';
import { emitControlFact, emitSealed } from '@countersign/nest';
import { emitTestDecision, eventually, testPolicyEngineKey } from '@countersign/testing';
import { createDecisionQualityStore } from '../decision-quality/pg-decision-quality.store';
import type { DecisionQualityStore } from '../decision-quality/decision-quality.store';
import { InboxHarness, startInboxHarness } from './testing/inbox.harness';
import { readFileSync } from 'node:fs';
import { canonicalDigest, newId, TOPICS, TopicMap } from '@countersign/contracts';
import type { ReviewItemRepository } from '../review-item/review-item.repository';
import { APPROVAL_SIGNING_KEY, BACKLOG_GAUGES, DECISION_QUALITY, REVIEW_ITEMS } from '../tokens';
import type { BacklogGauges } from '../degradation/backlog-gauges';
import type { ReviewHistory } from '../degradation/review-history';
import type { DecisionQuality } from '../decision-quality/decision-quality';
import { degradationContract, PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';
import { OVERRIDE_REQUEST_SUBJECT, OVERRIDE_SUBJECT } from '../degradation/control-state';
import { createInMemoryBacklogGauges } from '../degradation/in-memory-backlog-gauges';
import { createInMemoryLeaderLease } from '../degradation/in-memory-leader-lease';
import { createReviewHistory } from '../degradation/pg-review-history';

// real: Chromium (Debian's, playwright-core), the review queue's HTTP app with its inbox and decision quality on
// PostgreSQL, the local OpenID Connect provider; fake: the bus (in memory, recording).
jest.setTimeout(240_000);

let h: InboxHarness;
let store: DecisionQualityStore;
let history: ReviewHistory;
// Every real refund brings a canary (rate 1, a fixed random source): the test knows one waits beside each.
const TEMPLATE = {
  id: 'refund-to-unrelated-card',
  actionType: 'support.refund',
  target: 'order-90431',
  parameters: { amount: 4800, currency: 'EUR', reason: 'customer asked for a refund to a new card', card: '5500 0000 0000 0004' },
  reasons: ['refund above the autonomous limit of 200 EUR'],
  why: 'ten times the order value to a card never used',
};

beforeAll(async () => {
  h = await startInboxHarness('governance', {
    withPool: (pool) => {
      store = createDecisionQualityStore(pool);
      history = createReviewHistory(pool);
      return {
        // The degradation controller as a main runs it (in memory, like the embedded mode): the page's mode badge.
        degradation: {
          gauges: createInMemoryBacklogGauges(),
          lease: createInMemoryLeaderLease(),
          history,
          contract: degradationContract(PROJECT_CONTRACT_PATH),
          settings: { tickMs: 200 },
        },
        decisionQuality: {
          store,
          contract: { canaries: { rate: 1, templates: [TEMPLATE] }, secondReview: { rate: 0 }, outliers: { minDecisions: 10, threshold: 3 } },
          random: () => 0,
          sampleEveryMs: 500,
          tickMs: 200,
          // Longer than this file runs: a summary the page shows again is one no decision recorded here has changed.
          summaryKeptMs: 3_600_000,
        },
      };
    },
  });
}, 240_000);
afterAll(() => h?.close(), 60_000);

it('a canary approved shows as missed for that reviewer on the governance page (plots, with data), audited; non-leads get 403', async () => {
  // Through the review queue's own store (as intake adds items), so decision quality sees the item queued.
  const items = h.provider<ReviewItemRepository>(REVIEW_ITEMS);
  const real = await h.queue();
  const queued = (await h.items.get(real))!;
  await h.items.decide(real, 'rejected', ['nobody'], 'moved aside for this test', new Date());
  await items.add({ ...queued, actionId: `${real}-again`, status: 'pending' });
  const quality = h.provider<DecisionQuality>(DECISION_QUALITY);
  const canary = (await h.items.pending(100)).find((i) => !i.actionId.startsWith(real) && quality.isCanary(i));
  expect(canary).toBeDefined();

  // The lead's page before fiona's decision: its summary is shared until a decision is recorded here (SummaryMemo).
  const lead = await h.signIn('lena');
  await lead.page.goto(`${h.url}/reviews/governance`);
  expect(await lead.page.textContent('#canaries figcaption')).not.toContain('fiona');

  // fiona opens the canary's card and approves it like any item.
  const { page } = await h.signIn('fiona');
  await page.waitForSelector(`.items a[data-action-id="${canary!.actionId}"]`);
  await page.click(`.items a[data-action-id="${canary!.actionId}"]`);
  await page.waitForSelector(`article.card[data-action-id="${canary!.actionId}"] #decide`);
  // Opening the card claims it (the inbox's claims): decide once the claim is hers.
  await page.waitForSelector('article.card[data-claim="mine"]');
  await page.click('button.preset-approve');
  await page.click('button.approve');
  await h.decided(page);

  // Nothing left the review queue about it but the audit of the miss.
  const about = () => h.bus.published.filter((p) => p.event.subject === canary!.actionId).map((p) => p.topic);
  await eventually(() => expect(about()).toContain(TOPICS.canaryMissed));
  expect(about()).toEqual([TOPICS.canaryMissed]);
  // Audited as fiona; how she signed in is not recorded with her decision, so the event does not claim one.
  expect(h.bus.published.find((p) => p.event.subject === canary!.actionId)!.event.actor).toEqual({ id: 'fiona', kind: 'human' });
  const [decision] = (await store.decisionsSince(new Date(0), 10)).filter((d) => d.actionId === canary!.actionId);
  expect(decision).toMatchObject({ reviewer: 'fiona', decision: 'approved', canary: true });
  expect(decision.dwellMs).toBeGreaterThanOrEqual(0);

  // A reviewer who is no lead is refused.
  const res = await page.goto(`${h.url}/reviews/governance`);
  expect(res?.status()).toBe(403);

  // History for the other plots, as the review queue would have recorded it: five reviewers' decisions over the
  // month (one approves everything in seconds: the outlier), canaries caught, blind second reviews (one disagreeing),
  // hours of queue samples, and policy decisions and overrides heard on the bus (through the automation consumer).
  const seeded = await seedHistory();
  await eventually(async () => expect((await store.laneCountsSince(new Date(0))).reduce((a, l) => a + l.autonomous + l.prohibited, 0)).toBe(seeded.onBus));
  await eventually(async () => expect(await store.overridesSince(new Date(0))).toHaveLength(3));

  await lead.page.goto(`${h.url}/reviews/governance`);
  await lead.page.waitForSelector('#canaries svg[role="img"]');
  expect(await lead.page.textContent('#mode')).toMatch(/normal/i);
  expect(await lead.page.textContent('#canaries figcaption')).toContain('fiona: caught 0, missed 1');
  expect(Number(await lead.page.getAttribute('#queue-depth svg', 'data-points'))).toBeGreaterThan(0);
  expect(await lead.page.locator('svg[role="img"] title').count()).toBeGreaterThanOrEqual(10);
  expect(await lead.page.textContent('#automation figcaption')).toMatch(/autonomous share: \d+ samples/);
  expect(await lead.page.textContent('#overrides figcaption')).toContain(
    `${seeded.overrideDay}: rejections ${seeded.rejectionsThatDay}, mode overrides 1, autonomy changes 1`,
  );
  expect(await lead.page.textContent('#outliers figcaption')).toContain('ivan');
  expect(await lead.page.textContent('#disagreements')).toContain('the card was never used');
  expect(await h.seriousViolations(lead.page)).toEqual([]);
  if (process.env.SCREENSHOTS === '1') {
    const dir = join(__dirname, '../../../../docs/screenshots');
    mkdirSync(dir, { recursive: true });
    await lead.page.setViewportSize({ width: 1440, height: 900 });
    await lead.page.screenshot({ path: join(dir, 'governance.png'), fullPage: true });
  }
});

it('counts a canary in the queue depth the dashboards show, as `GET /v1/reviews` lists it, until it leaves (red team, 2026-12-05)', async () => {
  const items = h.provider<ReviewItemRepository>(REVIEW_ITEMS);
  const gauges = h.provider<BacklogGauges>(BACKLOG_GAUGES);
  const quality = h.provider<DecisionQuality>(DECISION_QUALITY);
  const depth = async () => Object.values((await gauges.snapshot()).bySlaClass).reduce((n, g) => n + g.depth, 0);
  const real = await h.queue();
  const queued = (await h.items.get(real))!;
  await h.items.decide(real, 'rejected', ['nobody'], 'moved aside for this test', new Date());
  const before = await depth();
  const listedBefore = (await items.pending(500)).length;
  // Queued as intake queues it: a canary joins beside it (rate 1, no delay).
  await items.add({ ...queued, actionId: `${real}-gauged`, status: 'pending' });
  const canary = (await items.pending(500)).find((i) => !i.actionId.startsWith(real) && quality.isCanary(i) && i.createdAt >= queued.createdAt);
  expect(canary).toBeDefined();
  // Both listed, both counted: the depth moves with the list, so it tells no canary apart (it moved by one).
  expect((await items.pending(500)).length - listedBefore).toBe(2);
  expect((await depth()) - before).toBe(2);
  // The rebuild from PostgreSQL (after a Redis flush) counts it too.
  expect((await history.pendingItems()).map((i) => i.actionId)).toContain(canary!.actionId);
  // Decided like any item: it leaves the gauges as any item does.
  await items.decide(canary!.actionId, 'rejected', ['nobody'], 'moved aside for this test', new Date());
  expect((await depth()) - before).toBe(1);
});

it('shows leads an override below the computed mode that waits for a second admin: who asked, for what, until when', async () => {
  const expiresAt = new Date(Date.now() + 2 * 3_600_000).toISOString();
  await emitControlFact(
    h.bus,
    h.provider<DecisionSigner>(APPROVAL_SIGNING_KEY),
    TOPICS.degradationOverrideSet,
    {
      override: { mode: 'normal', reason: 'the backlog is <b>canaries</b>, not real work', by: 'ada', expiresAt },
      reason: 'ada asks to override the mode to normal, below the computed elevated: waiting for a second admin',
    },
    { subject: OVERRIDE_REQUEST_SUBJECT, actor: { id: 'ada', kind: 'human', roles: ['admin'] } },
  );
  const lead = await h.signIn('lena');
  await eventually(async () => {
    await lead.page.goto(`${h.url}/reviews/governance`);
    expect(await lead.page.locator('#override-request').count()).toBe(1);
  });
  const text = await lead.page.textContent('#override-request');
  expect(text).toContain('Waiting for a second admin: ada asked at');
  expect(text).toContain(`to hold the mode at normal until ${expiresAt}`);
  // Escaped: the reason is text, never markup.
  expect(text).toContain('the backlog is <b>canaries</b>, not real work');
  expect(await lead.page.locator('#override-request b').count()).toBe(0);
  expect(await h.seriousViolations(lead.page)).toEqual([]);
});

it('shows leads the override in force and those that resume after it, in order (ADR 0013 addendum 2026-12-08)', async () => {
  const at = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
  const [adaUntil, graceUntil] = [at(1), at(2)];
  const set = (override?: TopicMap[typeof TOPICS.degradationOverrideSet]['data']['override']) =>
    emitControlFact(
      h.bus,
      h.provider<DecisionSigner>(APPROVAL_SIGNING_KEY),
      TOPICS.degradationOverrideSet,
      { ...(override && { override }), reason: override ? 'an emergency halt over a longer constrained' : 'override cleared by ada: test over' },
      { subject: OVERRIDE_SUBJECT, actor: { id: 'ada', kind: 'human', roles: ['admin'] } },
    );
  await set({
    mode: 'halted',
    reason: 'incident <i>two</i>',
    by: 'ada',
    expiresAt: adaUntil,
    resumes: [{ mode: 'constrained', reason: 'incident one', by: 'grace', expiresAt: graceUntil }],
  });
  try {
    const lead = await h.signIn('lena');
    await eventually(async () => {
      await lead.page.goto(`${h.url}/reviews/governance`);
      expect(await lead.page.textContent('#mode')).toContain(`(operator override until ${adaUntil}, then constrained by grace until ${graceUntil})`);
    });
  } finally {
    await set(undefined);
  }
});

/** A month of realistic history (deterministic: a fixed pseudo-random sequence), written as the review queue writes it. */
it('keeps the blind second-review page a verdict was given on, the digest the page sent back its own (auditor pass, 2026-12-07)', async () => {
  const id = await h.queue();
  await h.items.decide(id, 'approved', ['alice'], 'fine', new Date());
  await store.addSecondReview({
    actionId: id,
    correlationId: `c-${id}`,
    slaClass: 'high',
    requiredRoles: ['finance'],
    firstDecision: 'approved',
    excluded: ['alice', 'support-copilot'],
    createdAt: new Date().toISOString(),
  });
  const { page } = await h.signIn('bob');
  await page.goto(`${h.url}/reviews/second-review`);
  const form = page.locator(`form[action="/reviews/second-review/${id}"]`);
  const digest = await form.getAttribute('data-shown-digest');
  expect(digest).toMatch(/^[0-9a-f]{64}$/);
  const section = await page.locator(`section[aria-label="Second review of ${id}"]`).textContent();
  await form.locator('input[value="rejected"]').check();
  await form.locator('input[name="reason"]').fill('no receipt attached');
  await form.locator('button[type="submit"]').click();
  await eventually(async () => expect((await store.secondReview(id))?.verdict).toBe('rejected'));
  const { shown } = (await store.secondReview(id))!;
  expect(shown?.echoed).toBe(true);
  expect(canonicalDigest(shown!.view)).toBe(digest);
  // What the page showed: the target and the masked card, and nothing of the first decision.
  const view = shown!.view as { target: string; parameters: { card: string } };
  expect(section).toContain(view.target);
  expect(section).toContain(view.parameters.card);
  expect(view.parameters.card).not.toContain('4111 1111');
  expect(JSON.stringify(view)).not.toContain('alice');
});

async function seedHistory() {
  let x = 42;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const now = Date.now();
  const reviewers = [
    { id: 'alice', approve: 0.72, dwell: 95 },
    { id: 'bob', approve: 0.64, dwell: 140 },
    { id: 'carol', approve: 0.7, dwell: 110 },
    { id: 'sam', approve: 0.61, dwell: 160 },
    // Approves everything in seconds: the outlier a lead should look at.
    { id: 'ivan', approve: 1, dwell: 4 },
  ];
  let n = 0;
  for (const r of reviewers)
    for (let i = 0; i < 14 + Math.floor(rnd() * 10); i++) {
      const decidedAt = now - Math.floor(rnd() * 29 * 86_400_000) - 60_000;
      const latency = [0.5, 3, 10, 40, 180, 900][Math.floor(rnd() * rnd() * 6)] * 60_000;
      await store.recordDecision({
        actionId: `hist-${++n}`,
        reviewer: r.id,
        decision: rnd() < r.approve ? 'approved' : 'rejected',
        slaClass: rnd() < 0.6 ? 'high' : 'normal',
        decidedAt: new Date(decidedAt).toISOString(),
        queuedAt: new Date(decidedAt - latency).toISOString(),
        dwellMs: Math.round(r.dwell * (0.5 + rnd()) * 1000),
        canary: false,
      });
    }
  // Canaries caught (rejected) by three reviewers; fiona's miss comes from the page.
  for (const [reviewer, count] of [
    ['bob', 2],
    ['carol', 1],
    ['sam', 1],
  ] as const)
    for (let i = 0; i < count; i++)
      await store.recordDecision({
        actionId: `canary-${reviewer}-${i}`,
        reviewer,
        decision: 'rejected',
        slaClass: 'high',
        decidedAt: new Date(now - (i + 2) * 86_400_000).toISOString(),
        queuedAt: new Date(now - (i + 2) * 86_400_000 - 600_000).toISOString(),
        dwellMs: 210_000,
        canary: true,
      });
  // Blind second reviews: most agree, one does not.
  const seconds: Array<[string, 'approved' | 'rejected', 'approved' | 'rejected', string]> = [
    ['high', 'approved', 'approved', 'receipt matches'],
    ['high', 'rejected', 'rejected', 'card not on file'],
    ['high', 'approved', 'approved', 'within policy'],
    ['high', 'approved', 'rejected', 'the card was never used by this customer'],
    ['normal', 'approved', 'approved', 'fine'],
    ['normal', 'rejected', 'rejected', 'duplicate request'],
    ['normal', 'approved', 'approved', 'as agreed with the customer'],
  ];
  for (const [i, [slaClass, first, second, reason]] of seconds.entries()) {
    const at = new Date(now - (i + 1) * 3 * 3600_000);
    await store.addSecondReview({
      actionId: `second-${i}`,
      slaClass,
      requiredRoles: ['reviewer'],
      firstDecision: first,
      excluded: ['alice'],
      createdAt: at.toISOString(),
    });
    await store.decideSecondReview(`second-${i}`, i % 2 ? 'bob' : 'carol', second, reason, new Date(at.getTime() + 600_000));
  }
  // Eight hours of queue samples every five minutes: a morning peak in the high class.
  const samples = [];
  for (let t = now - 8 * 3600_000; t < now - 60_000; t += 5 * 60_000) {
    const hour = (t - (now - 8 * 3600_000)) / 3600_000;
    const peak = Math.max(0, 9 - 2.2 * Math.abs(hour - 3));
    samples.push(
      {
        sampledAt: new Date(t).toISOString(),
        slaClass: 'high',
        depth: Math.round(2 + peak + rnd() * 2),
        oldestAgeMs: Math.round((4 + peak * 3 + rnd() * 3) * 60_000),
      },
      { sampledAt: new Date(t).toISOString(), slaClass: 'normal', depth: Math.round(5 + rnd() * 3), oldestAgeMs: Math.round((20 + rnd() * 15) * 60_000) },
    );
  }
  await store.addQueueSamples(samples);
  // Twelve hours of policy decisions: autonomous and prohibited ones on the bus (the review queue hears them), the
  // review-lane ones recorded as heard (on the bus they would queue real items beside the test's).
  const fixture = JSON.parse(
    readFileSync(join(__dirname, '../../../../libs/contracts/fixtures/policy.decision.made.v1.json'), 'utf8'),
  ) as TopicMap[typeof TOPICS.policyDecided];
  let onBus = 0;
  for (let hour = 12; hour >= 1; hour--) {
    const autonomous = 20 + Math.floor(rnd() * 12) - (hour === 7 ? 14 : 0);
    const review = 6 + Math.floor(rnd() * 6) + (hour === 7 ? 8 : 0);
    for (let i = 0; i < autonomous + 1; i++) {
      const time = new Date(now - hour * 3600_000 + i * 60_000);
      await emitTestDecision(h.bus, { ...fixture.data, lane: i === autonomous ? 'prohibited' : 'autonomous' }, { subject: newId(), time });
      onBus++;
    }
    for (let i = 0; i < review; i++) await store.recordLane(newId(), 'review', new Date(now - hour * 3600_000 + i * 90_000));
  }
  // Two days ago (at noon UTC, so that both facts fall on that day whenever the test runs) an operator held the mode at
  // elevated and lowered the refunds' autonomy ten minutes later.
  const twoDaysAgo = new Date(now - 2 * 86_400_000);
  const overrideAt = new Date(Date.UTC(twoDaysAgo.getUTCFullYear(), twoDaysAgo.getUTCMonth(), twoDaysAgo.getUTCDate(), 12));
  await emitControlFact(
    h.bus,
    h.provider<DecisionSigner>(APPROVAL_SIGNING_KEY),
    TOPICS.degradationOverrideSet,
    {
      override: { mode: 'elevated', reason: 'payment provider incident', by: 'ada', expiresAt: new Date(overrideAt.getTime() + 3600_000).toISOString() },
      reason: 'payment provider incident',
    },
    { subject: 'degradation', time: overrideAt },
  );
  // Sealed by the policy engine, as the override count takes it (an unsealed one is not counted).
  await emitSealed(
    h.bus,
    testPolicyEngineKey.signing,
    TOPICS.autonomyChanged,
    {
      flag: 'countersign.autonomy.support.refund',
      actionType: 'support.refund',
      control: 'autonomy',
      value: 'review-all',
      previous: 'autonomous',
      change: 'lowered',
      reason: 'refund fraud spike',
    },
    { subject: 'support.refund', time: new Date(overrideAt.getTime() + 600_000) },
    'decision',
  );
  await emitControlFact(
    h.bus,
    h.provider<DecisionSigner>(APPROVAL_SIGNING_KEY),
    TOPICS.degradationOverrideSet,
    { reason: 'incident over: back to the controller' },
    { subject: 'degradation', time: new Date(now - 5 * 86_400_000) },
  );
  const overrideDay = overrideAt.toISOString().slice(0, 10);
  const rejectionsThatDay = (await store.decisionsSince(new Date(0), 10_000)).filter(
    (d) => !d.canary && d.decision === 'rejected' && d.decidedAt.startsWith(overrideDay),
  ).length;
  return { onBus, overrideDay, rejectionsThatDay };
}
