import type { DecisionQualityStore, ReviewerDecision } from './decision-quality.store';
import { summarize } from './statistics';

const decision = (over: Partial<ReviewerDecision> = {}): ReviewerDecision => ({
  actionId: 'a1',
  reviewer: 'fiona',
  decision: 'approved',
  slaClass: 'high',
  decidedAt: '2026-11-30T10:00:05.000Z',
  queuedAt: '2026-11-30T09:59:00.000Z',
  dwellMs: 5000,
  canary: false,
  ...over,
});

/** A blind second review still open, of a decision fiona approved. */
const openSecond = (actionId: string) => ({
  actionId,
  slaClass: 'high',
  requiredRoles: [],
  firstDecision: 'approved' as const,
  excluded: ['fiona'],
  createdAt: '2026-11-30T10:00:00.000Z',
});

/** The behaviour every decision-quality store has (PostgreSQL, in memory). */
export function decisionQualitySuite(name: string, make: () => Promise<DecisionQualityStore>) {
  describe(`decision-quality store (${name})`, () => {
    let store: DecisionQualityStore;
    beforeEach(async () => {
      store = await make();
    });

    it('keeps the first time a card was shown to a reviewer, not a later one', async () => {
      await store.cardShown('a1', 'fiona', new Date('2026-11-30T10:00:00Z'));
      await store.cardShown('a1', 'fiona', new Date('2026-11-30T10:03:00Z'));
      await store.cardShown('a1', 'bob', new Date('2026-11-30T10:01:00Z'));
      expect((await store.firstShown('a1', 'fiona'))?.toISOString()).toBe('2026-11-30T10:00:00.000Z');
      expect((await store.firstShown('a1', 'bob'))?.toISOString()).toBe('2026-11-30T10:01:00.000Z');
      expect(await store.firstShown('a1', 'carol')).toBeUndefined();
    });

    it('sums up the decisions as the governance page would from the decisions themselves (`summarize`), the newest `limit` of them', async () => {
      const edges = [1, 5, 15, 60];
      const t0 = Date.parse('2026-11-28T23:50:00.000Z');
      const at = (ms: number) => new Date(t0 + ms).toISOString();
      // Four reviewers over three UTC days; decisions close together (their dwell bounded by the one before), one at the
      // same millisecond as another of the same reviewer, dwell given, from a card shown, or none (unseen); canaries
      // caught and missed; latencies on each side of a bucket's edge (5 minutes exactly: in the 5-minute bucket).
      const reviewers = ['fiona', 'bob', 'Zoe', 'carol'];
      for (let i = 0; i < 40; i++) {
        const reviewer = reviewers[i % 4];
        const decidedMs = Math.floor(i / 4) * (i % 3 === 0 ? 400 : 3_700_000) + (i % 4) * 1_000 + (i === 9 ? -1_000 : 0);
        const d = decision({
          actionId: `s-${String(i).padStart(2, '0')}`,
          reviewer,
          decision: i % 5 === 0 ? 'rejected' : 'approved',
          slaClass: ['high', 'low', 'critical'][i % 3],
          decidedAt: at(decidedMs),
          queuedAt: at(decidedMs - [59_999, 60_000, 300_000, 300_001, 7_200_000][i % 5]),
          dwellMs: i % 6 === 0 ? undefined : 2_000 + i * 1_500,
          canary: i % 7 === 3,
        });
        if (i % 6 === 0 && i % 12 === 0) await store.cardShown(d.actionId, reviewer, new Date(decidedMs + t0 - 4_321));
        await store.recordDecision(d);
      }
      // Fiona's second decision in the millisecond of her first (s-00): ordered after it by action id, so bounded by it (a
      // class of its own: its median is its own dwell as bounded).
      await store.recordDecision(decision({ actionId: 's-40', reviewer: 'fiona', slaClass: 'solo', decidedAt: at(0), queuedAt: at(-1_000), dwellMs: 700 }));
      // Two decisions sampled for a blind second review: left out while it is open (its first decision must not show in
      // the counts, red team 2026-12-08), counted once the verdict is in.
      for (const actionId of ['s-38', 's-39'])
        await store.addSecondReview({
          actionId,
          correlationId: `c-${actionId}`,
          slaClass: 'high',
          requiredRoles: ['finance'],
          firstDecision: 'approved',
          excluded: [],
          createdAt: at(0),
        });
      expect(await store.decideSecondReview('s-39', 'frank', 'approved', 'agree', new Date(at(1)))).toBe(true);
      const since = new Date(t0 - 86_400_000);
      for (const limit of [100, 17]) {
        const newest = await store.decisionsSince(since, limit);
        expect(newest.map((d) => d.actionId)).toContain('s-38');
        const expected = summarize(
          newest.filter((d) => d.actionId !== 's-38'),
          edges,
        );
        expect(await store.decisionSummary(since, limit, edges)).toEqual(expected);
        expect(expected).not.toEqual(summarize(newest, edges));
        // What it is held to is not empty: every part has something in it.
        expect(expected.reviewers.length).toBeGreaterThan(2);
        expect(expected.canaries.length).toBeGreaterThan(0);
        expect(expected.latency.filter((n) => n > 0).length).toBeGreaterThan(1);
        expect(Object.keys(expected.rejectionsByDay).length).toBeGreaterThan(0);
      }
      // The bound by the decision before applies somewhere (else the attended dwell would not be tested).
      const all = await store.decisionsSince(since, 100);
      expect(summarize(all, edges).dwell).not.toEqual(
        summarize(
          all.map((d) => ({ ...d, decidedAt: new Date(Date.parse(d.decidedAt) + Number(d.actionId.slice(2)) * 86_400_000).toISOString() })),
          edges,
        ).dwell,
      );
    });

    it('records a reviewer decision once (a retry is no second decision) and lists them by time', async () => {
      expect(await store.recordDecision(decision())).toBe(true);
      expect(await store.recordDecision(decision({ decision: 'rejected' }))).toBe(false);
      await store.recordDecision(decision({ actionId: 'a0', decidedAt: '2026-11-30T09:00:00.000Z', dwellMs: undefined }));
      const all = await store.decisionsSince(new Date('2026-11-30T00:00:00Z'), 100);
      expect(all.map((d) => [d.actionId, d.decision, d.dwellMs])).toEqual([
        ['a0', 'approved', undefined],
        ['a1', 'approved', 5000],
      ]);
      expect(await store.decisionsSince(new Date('2026-11-30T09:30:00Z'), 100)).toHaveLength(1);
      // Past the limit, the newest are kept (still oldest first), not the oldest (scale probe, 2026-12-06).
      expect((await store.decisionsSince(new Date('2026-11-30T00:00:00Z'), 1)).map((d) => d.actionId)).toEqual(['a1']);
    });

    it('answers reads and records made at the same time each with its own result (a batch is no shared answer)', async () => {
      await store.cardShown('b1', 'fiona', new Date('2026-11-30T10:00:01Z'));
      await store.cardShown('b2', 'bob', new Date('2026-11-30T10:00:02Z'));
      const shown = await Promise.all([
        store.firstShown('b1', 'fiona'),
        store.firstShown('b1', 'bob'),
        store.firstShown('b2', 'bob'),
        store.firstShown('b2', 'fiona'),
      ]);
      expect(shown.map((d) => d?.toISOString())).toEqual(['2026-11-30T10:00:01.000Z', undefined, '2026-11-30T10:00:02.000Z', undefined]);
      // Two reviewers of one item, another item, and the same decision twice: each answered for itself. Without a
      // dwell given, it is the time since the card was first shown to that reviewer (b2 to bob: 3 s), none if never.
      const recorded = await Promise.all([
        store.recordDecision(decision({ actionId: 'b1', reviewer: 'fiona' })),
        store.recordDecision(decision({ actionId: 'b1', reviewer: 'bob', decision: 'rejected', dwellMs: undefined })),
        store.recordDecision(decision({ actionId: 'b2', reviewer: 'bob', canary: true, dwellMs: undefined })),
        store.recordDecision(decision({ actionId: 'b1', reviewer: 'fiona', decision: 'rejected' })),
      ]);
      expect(recorded).toEqual([true, true, true, false]);
      const all = await store.decisionsSince(new Date('2026-11-30T00:00:00Z'), 100);
      expect(all.map((d) => [d.actionId, d.reviewer, d.decision, d.dwellMs, d.canary])).toEqual([
        ['b1', 'bob', 'rejected', undefined, false],
        ['b1', 'fiona', 'approved', 5000, false],
        ['b2', 'bob', 'approved', 3000, true],
      ]);
      // Second reviews sampled at once: each kept, the first of one item's kept.
      const second = (actionId: string, firstDecision: 'approved' | 'rejected') => ({
        actionId,
        slaClass: 'high',
        requiredRoles: ['finance', 'reviewer'],
        firstDecision,
        excluded: ['fiona', 'support-copilot'],
        createdAt: '2026-11-30T10:00:10.000Z',
      });
      await Promise.all([
        store.addSecondReview(second('b1', 'approved')),
        store.addSecondReview(second('b2', 'rejected')),
        store.addSecondReview(second('b1', 'rejected')),
      ]);
      expect(await store.secondReview('b1')).toEqual(second('b1', 'approved'));
      expect(await store.secondReview('b2')).toEqual(second('b2', 'rejected'));
      // Open until the second verdict is in: meanwhile the first decision is withheld from reviewers.
      expect(await store.underSecondReview(['b1', 'b2', 'none'])).toEqual(new Set(['b1', 'b2']));
      expect(await store.decideSecondReview('b1', 'gina', 'rejected', 'no receipt', new Date('2026-11-30T10:01:00Z'))).toBe(true);
      expect(await store.underSecondReview(['b1', 'b2'])).toEqual(new Set(['b2']));
      expect(await store.underSecondReview([])).toEqual(new Set());
    });

    it('finds the open second reviews of a story (every version of an action shares its correlation id)', async () => {
      const review = (actionId: string, correlationId?: string) => ({
        actionId,
        ...(correlationId && { correlationId }),
        slaClass: 'high',
        requiredRoles: ['reviewer'],
        firstDecision: 'approved' as const,
        excluded: ['fiona'],
        createdAt: '2026-11-30T10:00:10.000Z',
      });
      await store.addSecondReview(review('v1', 'story-a'));
      await store.addSecondReview(review('v2', 'story-b'));
      await store.addSecondReview(review('v3'));
      expect(await store.secondReview('v1')).toEqual(review('v1', 'story-a'));
      expect((await store.openInStories(['story-a', 'story-c'])).map((r) => [r.actionId, r.correlationId])).toEqual([['v1', 'story-a']]);
      expect(await store.openInStories([])).toEqual([]);
      await store.decideSecondReview('v1', 'gina', 'approved', 'fine', new Date('2026-11-30T10:01:00Z'));
      expect(await store.openInStories(['story-a', 'story-b'])).toMatchObject([{ actionId: 'v2' }]);
    });

    it('lists canary misses until their audit event is out', async () => {
      await store.recordDecision(decision({ actionId: 'c1', canary: true }));
      await store.recordDecision(decision({ actionId: 'c2', canary: true, decision: 'rejected' }));
      await store.recordDecision(decision({ actionId: 'r1' }));
      expect((await store.unauditedMisses(10)).map((d) => d.actionId)).toEqual(['c1']);
      // Oldest first, and a limit keeps the oldest: each miss is audited in turn.
      await store.recordDecision(decision({ actionId: 'c3', canary: true, decidedAt: '2026-12-01T10:00:00.000Z' }));
      expect((await store.unauditedMisses(1)).map((d) => d.actionId)).toEqual(['c1']);
      await store.markMissAudited('c1', 'fiona', new Date('2026-11-30T10:00:06Z'));
      await store.markMissAudited('c3', 'fiona', new Date('2026-12-01T10:00:06Z'));
      expect(await store.unauditedMisses(10)).toEqual([]);
    });

    it('keeps canaries and their retirement', async () => {
      await store.addCanary({ actionId: 'c1', template: 't', actionType: 'support.refund', slaClass: 'high', createdAt: '2026-11-30T10:00:00.000Z' });
      expect((await store.canary('c1'))?.template).toBe('t');
      expect(await store.canary('r1')).toBeUndefined();
      expect((await store.openCanaries(10)).map((c) => c.actionId)).toEqual(['c1']);
      await store.retireCanary('c1', new Date('2026-11-30T11:00:00Z'));
      expect(await store.openCanaries(10)).toEqual([]);
      expect((await store.canary('c1'))?.retiredAt).toBe('2026-11-30T11:00:00.000Z');
    });

    it('offers a second review only to an eligible other reviewer, and takes one verdict', async () => {
      await store.addSecondReview({
        actionId: 'a1',
        slaClass: 'high',
        requiredRoles: ['finance'],
        firstDecision: 'approved',
        excluded: ['fiona', 'support-copilot'],
        createdAt: '2026-11-30T10:00:10.000Z',
      });
      expect(await store.openSecondReviews('fiona', ['finance'], 10)).toEqual([]);
      expect(await store.openSecondReviews('bob', ['reviewer'], 10)).toEqual([]);
      expect((await store.openSecondReviews('frank', ['finance'], 10)).map((r) => r.actionId)).toEqual(['a1']);
      expect(await store.decideSecondReview('a1', 'fiona', 'rejected', 'not mine to judge', new Date())).toBe(false);
      expect(await store.decideSecondReview('a1', 'frank', 'rejected', 'the card was never used', new Date('2026-11-30T10:05:00Z'))).toBe(true);
      expect(await store.decideSecondReview('a1', 'gina', 'approved', 'fine', new Date())).toBe(false);
      const [done] = await store.secondReviewsSince(new Date('2026-11-30T10:00:00Z'), 10);
      expect(done).toMatchObject({ actionId: 'a1', reviewer: 'frank', verdict: 'rejected', firstDecision: 'approved' });
      expect(done.reviewerAuth).toBeUndefined();
      expect(await store.openSecondReviews('frank', ['finance'], 10)).toEqual([]);
    });

    it('keeps how the second reviewer signed in with the verdict, for its audit event (security probe M3)', async () => {
      const open = (actionId: string) => ({
        actionId,
        slaClass: 'critical',
        requiredRoles: ['finance'],
        firstDecision: 'approved' as const,
        excluded: ['fiona'],
        createdAt: '2026-11-30T10:00:10.000Z',
      });
      await store.addSecondReview(open('m1'));
      await store.addSecondReview(open('m2'));
      const signedIn = { authMethod: 'oidc' as const, amr: ['pwd', 'otp', 'mfa'], authTime: Date.parse('2026-11-30T09:58:00.123Z') };
      expect(await store.decideSecondReview('m1', 'frank', 'approved', 'fine', new Date('2026-11-30T10:05:00Z'), signedIn)).toBe(true);
      expect(await store.decideSecondReview('m2', 'gina', 'rejected', 'no', new Date('2026-11-30T10:06:00Z'), { authMethod: 'bearer-token' })).toBe(true);
      expect((await store.unauditedSecondVerdicts(10)).map((r) => [r.actionId, r.reviewerAuth])).toEqual([
        ['m1', signedIn],
        ['m2', { authMethod: 'bearer-token' }],
      ]);
      expect((await store.secondReview('m1'))!.reviewerAuth).toEqual(signedIn);
    });

    it('keeps what the second reviewer was shown with the verdict, as shown, and none for a verdict given without it', async () => {
      await store.addSecondReview(openSecond('w1'));
      await store.addSecondReview(openSecond('w2'));
      const view = {
        actionId: 'w1',
        actionType: 'support.refund',
        target: 'order-1',
        parameters: { amount: 450, iban: 'DE89 [iban …3000]' },
        reasons: ['amount over 200'],
      };
      expect(await store.decideSecondReview('w1', 'gina', 'approved', 'fine', new Date('2026-11-30T10:05:00Z'), undefined, { view, echoed: true })).toBe(true);
      expect(await store.decideSecondReview('w2', 'gina', 'rejected', 'no', new Date('2026-11-30T10:06:00Z'))).toBe(true);
      const verdicts = await store.unauditedSecondVerdicts(10);
      expect(verdicts.map((r) => [r.actionId, r.shown])).toEqual([
        ['w1', { view, echoed: true }],
        ['w2', undefined],
      ]);
      expect((await store.secondReview('w1'))!.shown).toEqual({ view, echoed: true });
    });

    it('lists second verdicts whose audit event is still to emit, oldest first, until each is marked (red team, 2026-12-05)', async () => {
      for (const id of ['v1', 'v2', 'v3']) await store.addSecondReview(openSecond(id));
      // No verdict yet: nothing to audit.
      expect(await store.unauditedSecondVerdicts(10)).toEqual([]);
      await store.decideSecondReview('v2', 'frank', 'rejected', 'no receipt', new Date('2026-11-30T10:02:00Z'));
      await store.decideSecondReview('v1', 'gina', 'approved', 'fine', new Date('2026-11-30T10:03:00Z'));
      expect((await store.unauditedSecondVerdicts(10)).map((r) => [r.actionId, r.reviewer, r.verdict])).toEqual([
        ['v2', 'frank', 'rejected'],
        ['v1', 'gina', 'approved'],
      ]);
      expect((await store.unauditedSecondVerdicts(1)).map((r) => r.actionId)).toEqual(['v2']);
      await store.markSecondVerdictAudited('v2', new Date('2026-11-30T10:04:00Z'));
      await store.markSecondVerdictAudited('v3', new Date('2026-11-30T10:04:00Z'));
      expect((await store.unauditedSecondVerdicts(10)).map((r) => r.actionId)).toEqual(['v1']);
      expect((await store.secondReview('v2'))!.verdictAuditedAt).toBe('2026-11-30T10:04:00.000Z');
      // An open review marked by mistake is not: its verdict, once in, is still audited.
      expect((await store.secondReview('v3'))!.verdictAuditedAt).toBeUndefined();
    });

    it('purges decisions, audited second verdicts and retired canaries after the retention, never what is still to audit or open', async () => {
      const before = new Date('2026-11-30T12:00:00Z');
      const old = '2026-11-30T11:00:00.000Z';
      const recent = '2026-11-30T12:30:00.000Z';
      // Decisions: an old one, an old canary rejected (caught), an old canary approved whose miss is audited, one whose
      // miss is not yet (kept until it is), and a recent one.
      await store.recordDecision(decision({ actionId: 'd-old', decidedAt: old }));
      await store.recordDecision(decision({ actionId: 'c-caught', canary: true, decision: 'rejected', decidedAt: old }));
      await store.recordDecision(decision({ actionId: 'c-missed', canary: true, decidedAt: old }));
      await store.markMissAudited('c-missed', 'fiona', new Date(old));
      await store.recordDecision(decision({ actionId: 'c-unaudited', canary: true, decidedAt: old }));
      await store.recordDecision(decision({ actionId: 'd-new', decidedAt: recent }));
      // Canaries: retired long ago, retired long ago with its miss still to audit, still open, retired lately.
      const canary = (actionId: string) => ({ actionId, template: 't', actionType: 'support.refund', slaClass: 'high', createdAt: '2026-11-30T09:00:00.000Z' });
      for (const id of ['c-missed', 'c-unaudited', 'c-open', 'c-late']) await store.addCanary(canary(id));
      for (const id of ['c-missed', 'c-unaudited']) await store.retireCanary(id, new Date(old));
      await store.retireCanary('c-late', new Date(recent));
      // Second reviews: decided long ago and audited, decided long ago not audited yet, open, decided lately.
      for (const id of ['s-audited', 's-unaudited', 's-open', 's-late']) await store.addSecondReview(openSecond(id));
      await store.decideSecondReview('s-audited', 'frank', 'approved', 'fine', new Date(old));
      await store.markSecondVerdictAudited('s-audited', new Date(old));
      await store.decideSecondReview('s-unaudited', 'frank', 'rejected', 'no', new Date(old));
      await store.decideSecondReview('s-late', 'frank', 'approved', 'fine', new Date(recent));
      await store.markSecondVerdictAudited('s-late', new Date(recent));

      await store.purge(before);

      expect((await store.decisionsSince(new Date(0), 100)).map((d) => d.actionId)).toEqual(['c-unaudited', 'd-new']);
      expect((await store.unauditedMisses(10)).map((d) => d.actionId)).toEqual(['c-unaudited']);
      const canaries = await Promise.all(['c-missed', 'c-unaudited', 'c-open', 'c-late'].map((id) => store.canary(id)));
      expect(canaries.map((c) => c?.actionId)).toEqual([undefined, 'c-unaudited', 'c-open', 'c-late']);
      const seconds = await Promise.all(['s-audited', 's-unaudited', 's-open', 's-late'].map((id) => store.secondReview(id)));
      expect(seconds.map((r) => r?.actionId)).toEqual([undefined, 's-unaudited', 's-open', 's-late']);
      expect((await store.unauditedSecondVerdicts(10)).map((r) => r.actionId)).toEqual(['s-unaudited']);
      // An open second review still withholds its item (`underSecondReview`), however old.
      expect([...(await store.underSecondReview(['s-open', 's-audited']))]).toEqual(['s-open']);
    });

    it('keeps queue samples in order and purges them after the retention', async () => {
      await store.addQueueSamples([
        { sampledAt: '2026-11-30T10:01:00.000Z', slaClass: 'high', depth: 3, oldestAgeMs: 60_000 },
        { sampledAt: '2026-11-30T10:00:00.000Z', slaClass: 'high', depth: 1 },
      ]);
      await store.addQueueSamples([{ sampledAt: '2026-11-30T10:01:00.000Z', slaClass: 'high', depth: 9 }]);
      expect((await store.queueSamplesSince(new Date('2026-11-30T09:00:00Z'))).map((s) => [s.depth, s.oldestAgeMs])).toEqual([
        [1, undefined],
        [3, 60_000],
      ]);
      await store.purge(new Date('2026-11-30T10:00:30Z'));
      expect((await store.queueSamplesSince(new Date(0))).map((s) => s.depth)).toEqual([3]);
    });

    it('counts each policy decision once per lane and hour (a redelivery counts once), and purges them', async () => {
      await store.recordLane('e1', 'autonomous', new Date('2026-11-30T10:05:00Z'));
      await store.recordLane('e2', 'autonomous', new Date('2026-11-30T10:59:59Z'));
      await store.recordLane('e2', 'autonomous', new Date('2026-11-30T10:59:59Z'));
      await store.recordLane('e3', 'review', new Date('2026-11-30T10:30:00Z'));
      await store.recordLane('e4', 'prohibited', new Date('2026-11-30T11:00:00Z'));
      await store.recordLane('e0', 'review', new Date('2026-11-30T08:00:00Z'));
      expect(await store.laneCountsSince(new Date('2026-11-30T09:00:00Z'))).toEqual([
        { hour: '2026-11-30T10:00:00.000Z', autonomous: 2, review: 1, prohibited: 0 },
        { hour: '2026-11-30T11:00:00.000Z', autonomous: 0, review: 0, prohibited: 1 },
      ]);
      // From the hour of `since`, whole: the page's 24 hours are counted by hour (scale probe, 2026-12-06).
      expect(await store.laneCountsSince(new Date('2026-11-30T10:45:00Z'))).toEqual([
        { hour: '2026-11-30T10:00:00.000Z', autonomous: 2, review: 1, prohibited: 0 },
        { hour: '2026-11-30T11:00:00.000Z', autonomous: 0, review: 0, prohibited: 1 },
      ]);
      // Purged by whole hours before the hour of `before`; a redelivery of a counted event still counts once.
      await store.purge(new Date('2026-11-30T10:30:00Z'));
      await store.recordLane('e3', 'review', new Date('2026-11-30T10:30:00Z'));
      expect(await store.laneCountsSince(new Date(0))).toEqual([
        { hour: '2026-11-30T10:00:00.000Z', autonomous: 2, review: 1, prohibited: 0 },
        { hour: '2026-11-30T11:00:00.000Z', autonomous: 0, review: 0, prohibited: 1 },
      ]);
    });

    it('counts many policy decisions recorded at once each once, a redelivery in the same burst included', async () => {
      const at = new Date('2026-11-30T12:10:00Z');
      const lanes = ['autonomous', 'review', 'prohibited'] as const;
      await Promise.all([
        ...Array.from({ length: 300 }, (_, i) => store.recordLane(`burst-${i}`, lanes[i % 3], at)),
        store.recordLane('burst-7', 'review', at),
      ]);
      expect(await store.laneCountsSince(new Date('2026-11-30T12:00:00Z'))).toEqual([
        { hour: '2026-11-30T12:00:00.000Z', autonomous: 100, review: 100, prohibited: 100 },
      ]);
    });

    it('keeps operator overrides once per event, in order', async () => {
      await store.recordOverride({ eventId: 'o2', kind: 'autonomy-change', at: '2026-11-30T10:10:00.000Z' });
      await store.recordOverride({ eventId: 'o1', kind: 'mode-override', at: '2026-11-30T10:00:00.000Z' });
      await store.recordOverride({ eventId: 'o1', kind: 'mode-override', at: '2026-11-30T10:00:00.000Z' });
      expect((await store.overridesSince(new Date('2026-11-30T09:00:00Z'))).map((o) => [o.eventId, o.kind])).toEqual([
        ['o1', 'mode-override'],
        ['o2', 'autonomy-change'],
      ]);
      expect(await store.overridesSince(new Date('2026-11-30T10:05:00Z'))).toHaveLength(1);
    });
  });
}
