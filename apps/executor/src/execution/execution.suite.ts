import { refundProposal } from '@countersign/testing';
import type { Envelope, Proposal } from '@countersign/contracts';
import { ExecutionRepository, ReviewDecidedEvent } from './execution.repository';

const proposal: Proposal = refundProposal();
const decision = (actionId: string, decisionEventId = `d-${actionId}`) => ({
  actionId,
  correlationId: 'c',
  decisionEventId,
  digest: 'a'.repeat(64),
  lane: 'review' as const,
  proposal,
});

/** The execution-record contract: the PostgreSQL repository and its in-memory twin both pass it. */
export function executionSuite(name: string, make: () => Promise<ExecutionRepository>) {
  describe(`ExecutionRepository shared suite: ${name}`, () => {
    it('keeps the first decision for an action', async () => {
      const repo = await make();
      expect(await repo.saveDecision(decision('a1', 'first'))).toMatchObject({
        actionId: 'a1',
        decisionEventId: 'first',
        state: 'decided',
        proposal,
        lane: 'review',
      });
      // A second decision leaves the first in place, and says so by returning it.
      expect(await repo.saveDecision(decision('a1', 'second'))).toMatchObject({ decisionEventId: 'first', state: 'decided' });
      expect(await repo.get('a1')).toMatchObject({ decisionEventId: 'first', state: 'decided', proposal, lane: 'review' });
      expect(await repo.get('a2')).toBeUndefined();
    });

    it('gives every one of many concurrent deliveries the same stored decision', async () => {
      const repo = await make();
      const stored = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.saveDecision(decision('c1', `d-${i}`))));
      const kept = (await repo.get('c1'))!.decisionEventId;
      expect(stored.map((r) => r.decisionEventId)).toEqual(stored.map(() => kept));
    });

    it('lets exactly one of many concurrent claims execute', async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.claim('a1', `cause-${i}`, null, new Date())));
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const record = await repo.get('a1');
      expect(record).toMatchObject({ state: 'executing' });
      expect(record!.claimedAt).toBeDefined();
    });

    it('stores a decision already claimed only when none is stored: of many concurrent deliveries, one executes', async () => {
      const repo = await make();
      const now = new Date('2026-12-03T10:00:00.000Z');
      const first = await repo.saveClaimedDecision({ ...decision('k1', 'first'), lane: 'autonomous' }, 'first', now);
      expect(first).toEqual({
        stored: true,
        record: expect.objectContaining({ actionId: 'k1', decisionEventId: 'first', state: 'executing', authorisedBy: 'first' }),
      });
      expect(first.record.claimedAt).toBe(now.toISOString());
      // Stored already (claimed or not): nothing changes, and the record says how it stands.
      expect(await repo.saveClaimedDecision({ ...decision('k1', 'second'), lane: 'autonomous' }, 'second', new Date())).toEqual({
        stored: false,
        record: expect.objectContaining({ decisionEventId: 'first', state: 'executing', authorisedBy: 'first', claimedAt: now.toISOString() }),
      });
      // A claimed decision cannot be claimed again, and a decided one is not claimed by storing it again.
      expect(await repo.claim('k1', 'first', null, new Date())).toEqual({ claimed: false, reason: 'not-decided' });
      await repo.saveDecision(decision('k2'));
      expect(await repo.saveClaimedDecision(decision('k2', 'other'), 'other', new Date())).toMatchObject({ stored: false, record: { state: 'decided' } });
      expect((await repo.get('k2'))!.authorisedBy).toBeUndefined();
      const many = await Promise.all(
        Array.from({ length: 8 }, (_, i) => repo.saveClaimedDecision({ ...decision('k3', `d-${i}`), lane: 'autonomous' }, `d-${i}`, new Date())),
      );
      expect(many.filter((r) => r.stored)).toHaveLength(1);
      const kept = (await repo.get('k3'))!;
      expect(kept).toMatchObject({ state: 'executing', authorisedBy: kept.decisionEventId });
      expect(many.map((r) => r.record.decisionEventId)).toEqual(many.map(() => kept.decisionEventId));
    });

    it('answers each of many actions written at once with its own record, claim and outcome', async () => {
      const repo = await make();
      const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await repo.saveDecision(decision('m0', 'stored-before'));
      await repo.saveDecision(decision('m1'));
      await repo.claim('m1', 'claimed-before', null, new Date());
      const stored = await Promise.all(ids.map((id) => repo.saveDecision({ ...decision(id), lane: id === 'm2' ? 'autonomous' : 'review' })));
      expect(stored.map((r) => [r.actionId, r.decisionEventId, r.state])).toEqual(
        ids.map((id) => [id, id === 'm0' ? 'stored-before' : `d-${id}`, id === 'm1' ? 'executing' : 'decided']),
      );
      expect(stored[2].lane).toBe('autonomous');
      // Each claimed by one of two deliveries at once; m1 was claimed before, 'missing' was never decided.
      const claims = await Promise.all([...ids, ...ids, 'missing'].map((id, i) => repo.claim(id, `cause-${i}`, null, new Date())));
      const claimedIds = claims.flatMap((c, i) => (c.claimed ? [[...ids, ...ids, 'missing'][i]] : []));
      expect(claimedIds.sort()).toEqual(ids.filter((id) => id !== 'm1').sort());
      const event = (id: string) => ({ id: `ev-${id}`, type: 'execution.action.executed.v1', subject: id }) as unknown as Envelope;
      await Promise.all(ids.map((id) => repo.finish(id, 'executed', { topic: 'execution.action.executed.v1', data: { connector: id }, event: event(id) })));
      const half = ids.filter((_, i) => i % 2 === 0);
      await Promise.all(half.map((id) => repo.markOutcomePublished(id, `ev-${id}`)));
      const left = await repo.unpublishedOutcomes(new Date(Date.now() + 60_000), 100);
      expect(left.map((o) => o.actionId).sort()).toEqual(ids.filter((_, i) => i % 2 === 1).sort());
      for (const id of ids) expect((await repo.get(id))!.outcome).toMatchObject({ data: { connector: id }, event: { id: `ev-${id}` } });
    });

    it('consumes an approval nonce once, across actions', async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      await repo.saveDecision(decision('a2'));
      expect(await repo.claim('a1', 'e1', 'nonce-1', new Date())).toEqual({ claimed: true });
      expect(await repo.claim('a2', 'e2', 'nonce-1', new Date())).toEqual({ claimed: false, reason: 'approval-consumed' });
      expect((await repo.get('a2'))!.state).toBe('decided');
    });

    it('does not consume a nonce when the action cannot be claimed', async () => {
      const repo = await make();
      expect(await repo.claim('missing', 'e1', 'nonce-2', new Date())).toEqual({ claimed: false, reason: 'not-decided' });
      await repo.saveDecision(decision('later'));
      expect(await repo.claim('later', 'e1', 'nonce-2', new Date())).toEqual({ claimed: true });
    });

    it('records the outcome with the event to publish again', async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      await repo.claim('a1', 'cause', null, new Date());
      await repo.finish('a1', 'executed', { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } });
      expect(await repo.get('a1')).toMatchObject({
        state: 'executed',
        authorisedBy: 'cause',
        outcome: { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } },
      });
    });

    it("records a call's outcome only while its claim holds: a claim the reconciler took over keeps the reconciler's (hostile target probe, 2026-12-06)", async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      const claimedAt = new Date('2026-12-06T10:00:00.000Z');
      await repo.claim('a1', 'cause', null, claimedAt);
      // The call outlived its lease: the reconciler claimed the action and settled it.
      const [taken] = await repo.claimUnsettled(new Date('2026-12-06T10:02:00.000Z'), 60_000, 10);
      expect(taken.record.actionId).toBe('a1');
      expect(
        await repo.settle('a1', { state: 'reconciling', claimedAt: taken.record.claimedAt }, 'failed', {
          topic: 'execution.action.failed.v1',
          data: { outcome: 'failed' },
        }),
      ).toBe(true);
      // The call's late answer changes nothing.
      expect(
        await repo.finish('a1', 'executed', { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } }, { claimedAt: claimedAt.toISOString() }),
      ).toBe(false);
      expect(await repo.get('a1')).toMatchObject({ state: 'failed', outcome: { topic: 'execution.action.failed.v1' } });
      // Under the claim it was made under, it is recorded.
      await repo.saveDecision(decision('a2'));
      const at = new Date();
      await repo.claim('a2', 'cause', null, at);
      expect(await repo.finish('a2', 'executed', undefined, { claimedAt: at.toISOString() })).toBe(true);
      expect((await repo.get('a2'))!.state).toBe('executed');
    });

    it('keeps an outcome event to publish until it is known published (the outbox)', async () => {
      const repo = await make();
      const event = { id: 'ev-1', type: 'execution.action.executed.v1', subject: 'a1' } as unknown as Envelope;
      for (const id of ['a1', 'a2']) {
        await repo.saveDecision(decision(id));
        await repo.claim(id, `cause-${id}`, null, new Date());
      }
      await repo.finish('a1', 'executed', { topic: 'execution.action.executed.v1', data: { connector: 'webhook' }, event });
      await repo.finish('a2', 'executed', { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } }); // nothing to publish
      const later = new Date(Date.now() + 60_000);
      expect(await repo.unpublishedOutcomes(new Date(Date.now() - 60_000), 10)).toEqual([]); // still in its grace period
      expect(await repo.unpublishedOutcomes(later, 10)).toEqual([{ actionId: 'a1', topic: 'execution.action.executed.v1', event }]);
      await repo.markOutcomePublished('a1', 'another-event');
      expect(await repo.unpublishedOutcomes(later, 10)).toHaveLength(1);
      await repo.markOutcomePublished('a1', 'ev-1');
      expect(await repo.unpublishedOutcomes(later, 10)).toEqual([]);
      expect((await repo.get('a1'))!.outcome).toEqual({ topic: 'execution.action.executed.v1', data: { connector: 'webhook' }, event });
    });

    it('gives each unsettled action to one reconciler at a time: stranded past the lease, or unknown; a fresh lease each claim', async () => {
      const repo = await make();
      const t0 = new Date('2026-11-24T10:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);
      for (const id of ['stuck', 'live', 'unknown', 'done', 'waiting']) {
        await repo.saveDecision({ ...decision(id), proposerPrincipal: 'support-copilot', contractVersion: '2026.11.1' });
        await repo.claim(id, `cause-${id}`, null, id === 'live' ? at(30_000) : t0);
      }
      await repo.finish('unknown', 'outcome_unknown', { topic: 'execution.action.failed.v1', data: { outcome: 'outcome_unknown' } });
      await repo.finish('done', 'executed', undefined);
      await repo.finish('waiting', 'awaiting_check', undefined);
      // Two reconcilers at once: each action to one of them.
      const [a, b] = await Promise.all([repo.claimUnsettled(at(60_000), 60_000, 10), repo.claimUnsettled(at(60_000), 60_000, 10)]);
      const claimed = [...a, ...b];
      expect(claimed.map((c) => c.record.actionId).sort()).toEqual(['stuck', 'unknown']);
      const stuck = claimed.find((c) => c.record.actionId === 'stuck')!;
      expect(stuck).toMatchObject({
        previous: 'executing',
        previousClaimedAt: t0.toISOString(),
        record: {
          state: 'reconciling',
          claimedAt: at(60_000).toISOString(),
          reconcileAttempts: 1,
          proposerPrincipal: 'support-copilot',
          contractVersion: '2026.11.1',
        },
      });
      expect(claimed.find((c) => c.record.actionId === 'unknown')).toMatchObject({ previous: 'outcome_unknown' });
      // Claimed means leased: nobody else takes them until the lease runs out; then the next reconciler does.
      expect(await repo.claimUnsettled(at(89_999), 60_000, 10)).toEqual([]);
      const again = await repo.claimUnsettled(at(120_000), 60_000, 10);
      expect(again.map((c) => [c.record.actionId, c.previous, c.record.reconcileAttempts]).sort()).toEqual([
        ['live', 'executing', 1],
        ['stuck', 'reconciling', 2],
        ['unknown', 'reconciling', 2],
      ]);
      expect(await repo.claimUnsettled(at(999_999), 60_000, 1)).toHaveLength(1);
    });

    it("leaves an action whose target asked for time (Retry-After) to no reconciler before then, whether the call's answer or a re-send's said so", async () => {
      const repo = await make();
      const t0 = new Date('2026-11-24T10:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);
      for (const id of ['later', 'now']) {
        await repo.saveDecision(decision(id));
        await repo.claim(id, `cause-${id}`, null, t0);
      }
      // A call answered under a claim that no longer holds records nothing, its wait included.
      expect(await repo.finish('later', 'outcome_unknown', undefined, { claimedAt: at(1).toISOString() }, at(300_000))).toBe(false);
      expect(await repo.finish('later', 'outcome_unknown', undefined, { claimedAt: t0.toISOString() }, at(300_000))).toBe(true);
      expect(await repo.finish('now', 'outcome_unknown', undefined, { claimedAt: t0.toISOString() })).toBe(true);
      const [now] = await repo.claimUnsettled(at(1_000), 60_000, 10);
      expect(now.record.actionId).toBe('now');
      expect(await repo.settle('now', { state: 'reconciling', claimedAt: now.record.claimedAt }, 'executed', undefined)).toBe(true);
      expect(await repo.claimUnsettled(at(299_999), 60_000, 10)).toEqual([]);
      const [later] = await repo.claimUnsettled(at(300_000), 60_000, 10);
      expect(later.record).toMatchObject({ actionId: 'later', state: 'reconciling', reconcileAttempts: 1 });
      // A re-send answered with a wait: postponed only under the claim that made it; the claim then holds it past its lease.
      expect(await repo.postpone('later', { claimedAt: at(1).toISOString() }, at(900_000))).toBe(false);
      expect(await repo.postpone('later', { claimedAt: later.record.claimedAt! }, at(900_000))).toBe(true);
      expect(await repo.claimUnsettled(at(899_999), 60_000, 10)).toEqual([]);
      const [again] = await repo.claimUnsettled(at(900_000), 60_000, 10);
      expect(again.record).toMatchObject({ actionId: 'later', reconcileAttempts: 2 });
      // Claimed, the wait is spent: past this claim's lease the next reconciler takes it as any other.
      expect((await repo.claimUnsettled(at(960_000), 60_000, 10)).map((c) => c.record.actionId)).toEqual(['later']);
    });

    it('settles an action only as it was found: a reconciler whose lease was taken over changes nothing', async () => {
      const repo = await make();
      const t0 = new Date('2026-11-24T10:00:00.000Z');
      await repo.saveDecision(decision('a1'));
      await repo.claim('a1', 'cause', null, t0);
      const [first] = await repo.claimUnsettled(new Date(t0.getTime() + 60_000), 60_000, 10);
      const [second] = await repo.claimUnsettled(new Date(t0.getTime() + 120_000), 60_000, 10);
      const outcome = { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } };
      expect(await repo.settle('a1', { state: 'reconciling', claimedAt: first.record.claimedAt }, 'executed', outcome)).toBe(false);
      expect(await repo.settle('a1', { state: 'reconciling', claimedAt: second.record.claimedAt }, 'awaiting_check', undefined)).toBe(true);
      expect(await repo.settle('a1', { state: 'reconciling', claimedAt: second.record.claimedAt }, 'failed', undefined)).toBe(false);
      expect(await repo.settle('a1', { state: 'awaiting_check' }, 'executed', outcome)).toBe(true);
      expect(await repo.get('a1')).toMatchObject({ state: 'executed', outcome });
      expect(await repo.settle('missing', { state: 'awaiting_check' }, 'executed', outcome)).toBe(false);
    });

    it('gives a claim back only as it was taken, with the approval nonce it consumed; the same approval claims it again, once', async () => {
      const repo = await make();
      const t0 = new Date('2026-12-05T10:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);
      await repo.saveDecision(decision('r1'));
      expect(await repo.claim('r1', 'approval-1', 'nonce-r', t0)).toEqual({ claimed: true });
      const taken = { authorisedBy: 'approval-1', claimedAt: t0.toISOString(), approvalNonce: 'nonce-r' };
      // Not the claim as it was taken (another authorisation, another lease): nothing changes.
      expect(await repo.release('r1', { ...taken, authorisedBy: 'other' })).toBe(false);
      expect(await repo.release('r1', { ...taken, claimedAt: at(1).toISOString() })).toBe(false);
      expect(await repo.get('r1')).toMatchObject({ state: 'executing', authorisedBy: 'approval-1' });
      expect(await repo.release('r1', taken)).toBe(true);
      const released = (await repo.get('r1'))!;
      expect(released.state).toBe('decided');
      expect([released.authorisedBy, released.claimedAt]).toEqual([undefined, undefined]);
      expect(await repo.release('r1', taken)).toBe(false);
      // The nonce is consumed no more: the same approval claims the action again, and only once.
      expect(await repo.claim('r1', 'approval-1', 'nonce-r', at(1_000))).toEqual({ claimed: true });
      expect(await repo.claim('r1', 'approval-1', 'nonce-r', at(1_000))).toEqual({ claimed: false, reason: 'approval-consumed' });
      // A decision stored already claimed is given back the same way.
      const stored = await repo.saveClaimedDecision({ ...decision('r2'), lane: 'autonomous' }, 'd-r2', t0);
      expect(await repo.release('r2', { authorisedBy: 'd-r2', claimedAt: stored.record.claimedAt!, approvalNonce: null })).toBe(true);
      expect(await repo.get('r2')).toMatchObject({ state: 'decided' });
      // One a reconciler took over (its lease ran out first) is left to it.
      await repo.saveDecision(decision('r3'));
      await repo.claim('r3', 'd-r3', null, t0);
      expect((await repo.claimUnsettled(at(60_000), 60_000, 10)).map((c) => c.record.actionId)).toEqual(['r3']);
      expect(await repo.release('r3', { authorisedBy: 'd-r3', claimedAt: t0.toISOString(), approvalNonce: null })).toBe(false);
      expect(await repo.get('r3')).toMatchObject({ state: 'reconciling' });
    });

    it('counts an action stranded executing past its lease before a reconciler claims it, unsettled since its lease ran out', async () => {
      const repo = await make();
      const t0 = new Date('2026-11-24T10:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);
      for (const id of ['stranded', 'live']) {
        await repo.saveDecision(decision(id));
        await repo.claim(id, `cause-${id}`, null, id === 'live' ? at(30_000) : t0);
      }
      // Within their lease: calls in flight, not unsettled.
      expect(await repo.unsettledOutcomes(at(59_999), 60_000)).toEqual({ count: 0 });
      // Past its lease and claimed by no reconciler yet (a batch full, claims failing): unsettled since the lease ran out.
      expect(await repo.unsettledOutcomes(at(75_000), 60_000)).toEqual({ count: 1, oldestSince: at(60_000) });
      // Claimed later: still unsettled since its lease ran out, not since the claim.
      expect((await repo.claimUnsettled(at(75_000), 60_000, 10)).map((c) => c.record.actionId)).toEqual(['stranded']);
      expect(await repo.unsettledOutcomes(at(75_000), 60_000)).toEqual({ count: 1, oldestSince: at(60_000) });
      expect(await repo.unsettledOutcomes(at(95_000), 60_000)).toEqual({ count: 2, oldestSince: at(60_000) });
      // Finished, it is not counted however old its claim.
      await repo.finish('live', 'executed', undefined);
      expect(await repo.unsettledOutcomes(at(95_000), 60_000)).toEqual({ count: 1, oldestSince: at(60_000) });
    });

    it('counts the actions whose outcome is unsettled, and keeps since when from the first unknown to the settlement', async () => {
      const repo = await make();
      const t0 = new Date('2026-11-24T10:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);
      expect(await repo.unsettledOutcomes(at(59_999), 60_000)).toEqual({ count: 0 });
      for (const id of ['unknown', 'stranded', 'done']) {
        await repo.saveDecision(decision(id));
        await repo.claim(id, `cause-${id}`, null, t0);
      }
      await repo.finish('done', 'executed', undefined);
      const before = Date.now();
      await repo.finish('unknown', 'outcome_unknown', { topic: 'execution.action.failed.v1', data: { outcome: 'outcome_unknown' } });
      const after = Date.now();
      // Executed, or still in its call within its lease: not unsettled.
      const first = await repo.unsettledOutcomes(at(59_999), 60_000);
      expect(first.count).toBe(1);
      expect(first.oldestSince!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(first.oldestSince!.getTime()).toBeLessThanOrEqual(after + 1_000);
      // Stranded (the lease ran out at t0 + 60 s): unsettled since then.
      const claims = await repo.claimUnsettled(at(60_000), 60_000, 10);
      expect(claims.map((c) => c.record.actionId).sort()).toEqual(['stranded', 'unknown']);
      expect(await repo.unsettledOutcomes(at(60_000), 60_000)).toEqual({ count: 2, oldestSince: at(60_000) });
      // A fresh lease, a person asked, another claim: the time it became unsettled stays.
      const unknown = claims.find((c) => c.record.actionId === 'unknown')!;
      expect(await repo.settle('unknown', { state: 'reconciling', claimedAt: unknown.record.claimedAt }, 'awaiting_check', undefined)).toBe(true);
      const [again] = await repo.claimUnsettled(at(120_000), 60_000, 10);
      expect(again.record.actionId).toBe('stranded');
      const waiting = await repo.unsettledOutcomes(at(120_000), 60_000);
      expect(waiting.count).toBe(2);
      expect(waiting.oldestSince).toEqual(at(60_000));
      // Settled: no longer counted.
      expect(await repo.settle('stranded', { state: 'reconciling', claimedAt: again.record.claimedAt }, 'failed', undefined)).toBe(true);
      const outcome = { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } };
      expect(await repo.settle('unknown', { state: 'awaiting_check' }, 'executed', outcome)).toBe(true);
      expect(await repo.unsettledOutcomes(at(120_000), 60_000)).toEqual({ count: 0 });
    });

    it('keeps an early review decision until the one acted on is forgotten; a second one does not replace the first', async () => {
      const repo = await make();
      const event = { id: 'e1', subject: 'a9', data: { decision: 'approved' } } as unknown as ReviewDecidedEvent;
      await repo.keepEarlyApproval('a9', event);
      await repo.keepEarlyApproval('a9', { ...event, id: 'e2' });
      // Read as often as asked (a handler that failed after reading it reads it again).
      expect(await repo.earlyApproval('a9')).toEqual(event);
      expect(await repo.earlyApproval('a9')).toEqual(event);
      await repo.forgetEarlyApproval('a9', 'e2');
      expect(await repo.earlyApproval('a9')).toEqual(event);
      await repo.forgetEarlyApproval('a9', 'e1');
      expect(await repo.earlyApproval('a9')).toBeUndefined();
      expect(await repo.earlyApproval('other')).toBeUndefined();
    });
  });
}
