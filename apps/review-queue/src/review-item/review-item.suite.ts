import { buildEnvelope } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { refundProposal } from '@countersign/testing';
import { ClockStep, DecisionEvent, InboxQuery, ReviewItem, ReviewItemRepository } from './review-item.repository';

export const reviewItem = (actionId: string, dueAt: string, over: Partial<ReviewItem> = {}): ReviewItem => ({
  kind: 'approval',
  actionId,
  correlationId: `c-${actionId}`,
  decisionEventId: `d-${actionId}`,
  digest: 'a'.repeat(64),
  proposal: refundProposal(),
  proposerPrincipal: 'support-copilot',
  contractVersion: '1',
  reasons: ['amount above limit'],
  slaClass: 'high',
  requiredRoles: ['reviewer'],
  quorum: 1,
  createdAt: '2026-11-24T10:00:00.000Z',
  dueAt,
  status: 'pending',
  ...over,
});

/** A signed review decision's event, as the approvals build it before deciding (the signature is opaque here). */
export const decisionEvent = (
  item: ReviewItem,
  decision: 'approved' | 'rejected' | 'expired' | 'escalated',
  by: string,
  discriminator?: string,
): DecisionEvent => ({
  topic: TOPICS.reviewDecided,
  event: buildEnvelope(
    TOPICS.reviewDecided,
    { decision, reviewers: [{ id: by, kind: 'human' }], reason: 'checked', digest: item.digest, signature: 'signed.token' },
    'review-queue',
    {
      cause: { id: item.decisionEventId, subject: item.actionId, correlationId: item.correlationId },
      discriminator,
      time: new Date('2026-11-24T10:02:00.000Z'),
    },
  ),
});

/** The clock's steps as a test takes them: escalate when the escalation time came, expire when the due time came. */
/** The review clock's step that re-routes an item with a fallback team to it, due at `dueAt` (none for the others). */
export const rerouteToFallback =
  (dueAt: string) =>
  (item: ReviewItem): ClockStep | undefined =>
    item.fallbackTeam
      ? { kind: 'reroute', requiredRoles: [item.fallbackTeam], dueAt, event: decisionEvent(item, 'escalated', 'review-queue', 'clock-1') }
      : undefined;

export const escalateOrExpire =
  (now: Date) =>
  (item: ReviewItem): ClockStep | undefined =>
    Date.parse(item.dueAt) <= now.getTime()
      ? { kind: 'expire', by: ['review-queue'], reason: 'sla_expired', event: decisionEvent(item, 'expired', 'review-queue') }
      : item.escalateAt
        ? {
            kind: 'escalate',
            requiredRoles: [...item.requiredRoles, ...(item.escalateTo ?? [])],
            event: decisionEvent(item, 'escalated', 'review-queue', `clock-${(item.clockStep ?? 0) + 1}`),
          }
        : undefined;

/** What every review-item store does: the PostgreSQL repository and its in-memory twin both pass it. */
export function reviewItemSuite(name: string, make: () => Promise<ReviewItemRepository>) {
  describe(`ReviewItemRepository shared suite: ${name}`, () => {
    it('adds an item once and reads it back', async () => {
      const repo = await make();
      expect(await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'))).toBe(true);
      expect(await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'))).toBe(false);
      expect(await repo.get('a1')).toEqual(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      expect(await repo.get('nope')).toBeUndefined();
    });

    it('of concurrent deliveries of one decision, exactly one adds the item', async () => {
      const repo = await make();
      const added = await Promise.all([0, 1, 2].map((n) => repo.add(reviewItem('a1', `2026-11-24T10:1${n}:00.000Z`))));
      expect(added.filter(Boolean)).toHaveLength(1);
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['a1']);
    });

    it('lists pending items most urgent first, and no decided ones', async () => {
      const repo = await make();
      await repo.add(reviewItem('late', '2026-11-24T14:00:00.000Z'));
      await repo.add(reviewItem('soon', '2026-11-24T10:05:00.000Z'));
      await repo.add(reviewItem('mid', '2026-11-24T10:15:00.000Z'));
      await repo.decide('mid', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:01:00Z'));
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['soon', 'late']);
      expect((await repo.pending(1)).map((i) => i.actionId)).toEqual(['soon']);
    });

    it("fills a reviewer's inbox page with what they may decide, filtered where the items are", async () => {
      const repo = await make();
      const bob = { id: 'bob', roles: ['reviewer', 'finance'] };
      // Ahead of bob's items: more of another team's than a page holds, one he proposed, one of his own agent id.
      for (let n = 0; n < 5; n++) await repo.add(reviewItem(`sec-${n}`, `2026-11-24T10:0${n}:00.000Z`, { requiredRoles: ['security'] }));
      await repo.add(reviewItem('his', '2026-11-24T10:06:00.000Z', { proposerPrincipal: 'bob' }));
      await repo.add(reviewItem('sample', '2026-11-24T10:07:00.000Z', { kind: 'audit-sample', requiredRoles: [] }));
      await repo.add(reviewItem('fin-1', '2026-11-24T10:10:00.000Z'));
      await repo.add(reviewItem('open', '2026-11-24T10:11:00.000Z', { requiredRoles: [] }));
      await repo.add(reviewItem('fin-2', '2026-11-24T10:12:00.000Z', { slaClass: 'critical' }));
      await repo.add(reviewItem('fin-3', '2026-11-24T10:13:00.000Z'));
      await repo.decide('fin-3', 'rejected', ['carol'], 'no', new Date('2026-11-24T10:01:00Z'));
      const ids = async (q: Partial<InboxQuery> = {}) => (await repo.inbox({ reviewer: bob, limit: 3, ...q })).map((i) => i.actionId);
      expect(await ids()).toEqual(['fin-1', 'open', 'fin-2']);
      expect(await ids({ limit: 10, slaClass: 'critical' })).toEqual(['fin-2']);
      expect(await ids({ limit: 10, actionType: 'support.refund', tenant: 'nobody' })).toEqual([]);
      // By the agent that proposed it: another agent's item, further down, is the only one on that page.
      const other = refundProposal();
      await repo.add(reviewItem('rogue', '2026-11-24T10:30:00.000Z', { proposal: { ...other, proposer: { ...other.proposer, agentId: 'rogue-bot' } } }));
      await repo.add(reviewItem('credit', '2026-11-24T10:31:00.000Z', { proposal: { ...other, actionType: 'billing.credit_note' } }));
      expect(await ids({ limit: 10, actionType: 'billing.credit_note' })).toEqual(['credit']);
      expect(await ids({ limit: 10, actionType: 'billing.credit_note', agentId: 'rogue-bot' })).toEqual([]);
      await repo.decide('credit', 'rejected', ['carol'], 'no', new Date('2026-11-24T10:01:00Z'));
      expect(await ids({ limit: 10, actionType: 'billing.credit_note' })).toEqual([]);
      expect(await ids({ limit: 10, agentId: 'rogue-bot' })).toEqual(['rogue']);
      expect(await ids({ limit: 10, agentId: 'rogue-bot', slaClass: 'critical' })).toEqual([]);
      expect(await ids({ limit: 2, agentId: 'support-copilot' })).toEqual(['fin-1', 'open']);
      await repo.decide('rogue', 'rejected', ['carol'], 'no', new Date('2026-11-24T10:01:00Z'));
      // An approver of a quorum has done their part: the item leaves their page (and stays on others').
      await repo.add(reviewItem('q2', '2026-11-24T10:14:00.000Z', { quorum: 2 }));
      await repo.addApproval('q2', 'bob', 'fine');
      expect(await ids({ limit: 10 })).toEqual(['fin-1', 'open', 'fin-2']);
      expect((await repo.inbox({ reviewer: { id: 'dan', roles: ['reviewer'] }, limit: 10 })).map((i) => i.actionId)).toContain('q2');
      // A version bob wrote (approve with changes) is not on his page, and he cannot claim it; it is on others' (red team, 2026-12-04).
      await repo.add(reviewItem('his-revision', '2026-11-24T10:15:00.000Z', { authoredBy: ['carol', 'bob'] }));
      expect(await repo.get('his-revision')).toMatchObject({ authoredBy: ['carol', 'bob'] });
      expect(await ids({ limit: 10 })).not.toContain('his-revision');
      expect((await repo.inbox({ reviewer: { id: 'dan', roles: ['reviewer'] }, limit: 10 })).map((i) => i.actionId)).toContain('his-revision');
      const lease = { by: 'bob', name: 'Bob', until: '2026-11-24T11:00:00.000Z' };
      expect(await repo.claimFor('his-revision', bob, lease, new Date('2026-11-24T10:05:00.000Z'))).toBeUndefined();
      // Someone who may propose as the items' agent (support-copilot) through any of their tokens gets none of them.
      expect(await ids({ limit: 10, reviewer: { ...bob, proposesAs: ['bob', 'support-copilot'] } })).toEqual([]);
      expect(await ids({ limit: 10, reviewer: { ...bob, agentIds: ['support-copilot'] } })).toEqual([]);
    });

    it("lists the pending items of given roles, whatever number of other roles' items are due before them", async () => {
      const repo = await make();
      for (let i = 0; i < 30; i++) await repo.add(reviewItem(`sec-${String(i).padStart(2, '0')}`, '2026-11-24T10:01:00.000Z', { requiredRoles: ['security'] }));
      await repo.add(reviewItem('fin', '2026-11-24T10:30:00.000Z', { requiredRoles: ['finance'] }));
      await repo.add(reviewItem('any', '2026-11-24T10:20:00.000Z', { requiredRoles: [] }));
      expect((await repo.pending(2, { roles: ['finance'] })).map((i) => i.actionId)).toEqual(['any', 'fin']);
      expect((await repo.pending(1, { roles: ['finance', 'reviewer'] })).map((i) => i.actionId)).toEqual(['any']);
      expect((await repo.pending(5, { roles: ['security'] })).map((i) => i.actionId)).toEqual(['sec-00', 'sec-01', 'sec-02', 'sec-03', 'sec-04']);
      expect(await repo.pending(5, { roles: [] })).toHaveLength(1); // no roles: only what names none
      expect(await repo.pending(100)).toHaveLength(32);
    });

    it("fills a page of a reviewer bound to tenants with their tenants' items, whatever number of another tenant's are due first (ADR 0052)", async () => {
      const repo = await make();
      const ofTenant = (tenant: string) => ({ proposal: { ...refundProposal(), tenant } });
      // More of globex's items than a page holds, due before any of acme's: filtered after the LIMIT, acme's page would be empty.
      for (let i = 0; i < 30; i++) await repo.add(reviewItem(`globex-${String(i).padStart(2, '0')}`, '2026-11-24T10:01:00.000Z', ofTenant('globex')));
      for (let i = 0; i < 4; i++) await repo.add(reviewItem(`acme-${i}`, `2026-11-24T10:2${i}:00.000Z`, ofTenant('acme')));
      // A tenant spelled otherwise is another tenant (`mayActFor` compares exactly).
      await repo.add(reviewItem('acme-cased', '2026-11-24T10:02:00.000Z', ofTenant('Acme')));
      const dana = { id: 'dana', roles: ['reviewer'], tenants: ['acme'] };
      expect((await repo.pending(3, dana)).map((i) => i.actionId)).toEqual(['acme-0', 'acme-1', 'acme-2']);
      expect((await repo.inbox({ reviewer: dana, limit: 3 })).map((i) => i.actionId)).toEqual(['acme-0', 'acme-1', 'acme-2']);
      // Two tenants: both; the inbox's tenant filter narrows within them and never widens past them.
      const both = { ...dana, tenants: ['acme', 'globex'] };
      expect((await repo.pending(100, both)).map((i) => i.actionId)).toHaveLength(34);
      expect(await repo.inbox({ reviewer: dana, tenant: 'globex', limit: 10 })).toEqual([]);
      // Unbound: every tenant, as before.
      expect(await repo.pending(100, { roles: ['reviewer'] })).toHaveLength(35);
      // The one-step claim is refused on another tenant's item (nothing changed), and given on their own.
      const lease = { by: 'dana', name: 'Dana', until: '2026-11-24T11:00:00.000Z' };
      const now = new Date('2026-11-24T10:00:00.000Z');
      expect(await repo.claimFor('globex-00', dana, lease, now)).toBeUndefined();
      expect((await repo.get('globex-00'))!.claim).toBeUndefined();
      expect(await repo.claimFor('acme-cased', dana, lease, now)).toBeUndefined();
      expect((await repo.claimFor('acme-0', dana, lease, now))!.claim).toMatchObject({ by: 'dana' });
    });

    it('orders items due at the same time by action id, and keeps an item decided off the pending list', async () => {
      const repo = await make();
      for (const id of ['b', 'c', 'a']) await repo.add(reviewItem(id, '2026-11-24T10:15:00.000Z'));
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['a', 'b', 'c']);
      await repo.decide('b', 'approved', ['alice'], 'ok', new Date('2026-11-24T10:01:00Z'));
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['a', 'c']);
    });

    it('lists what left the queue at or after a time, newest first, bounded, with what the inbox feed tells of it', async () => {
      const repo = await make();
      for (const id of ['early', 'late', 'expired', 'later', 'waiting']) {
        await repo.add(reviewItem(id, '2026-11-24T10:15:00.000Z', { requiredRoles: ['finance'] }));
      }
      await repo.decide('early', 'approved', ['alice'], 'ok', new Date('2026-11-24T10:00:59.999Z'));
      await repo.decide('late', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:01:00.000Z'));
      await repo.decide('expired', 'expired', ['review-queue'], 'sla_expired', new Date('2026-11-24T10:02:00.000Z'));
      await repo.decide('later', 'approved', ['bob'], 'ok', new Date('2026-11-24T10:03:00.000Z'));
      const since = new Date('2026-11-24T10:01:00.000Z');
      expect(await repo.leftSince(since, 10)).toEqual([
        { actionId: 'later', status: 'approved', requiredRoles: ['finance'], decidedAt: '2026-11-24T10:03:00.000Z', proposal: { tenant: 'acme' } },
        { actionId: 'expired', status: 'expired', requiredRoles: ['finance'], decidedAt: '2026-11-24T10:02:00.000Z', proposal: { tenant: 'acme' } },
        { actionId: 'late', status: 'rejected', requiredRoles: ['finance'], decidedAt: '2026-11-24T10:01:00.000Z', proposal: { tenant: 'acme' } },
      ]);
      expect((await repo.leftSince(since, 2)).map((l) => l.actionId)).toEqual(['later', 'expired']);
      expect(await repo.leftSince(new Date('2026-11-24T10:03:00.001Z'), 10)).toEqual([]);
    });

    it("counts a proposer's pending approvals queued ahead of an item, by queue time then action id, up to a bound", async () => {
      const repo = await make();
      const at = (s: number) => new Date(Date.parse('2026-11-24T10:00:00.000Z') + s * 1000).toISOString();
      const due = '2026-11-24T12:00:00.000Z';
      for (let i = 0; i < 4; i++) await repo.add(reviewItem(`p-${i}`, due, { createdAt: at(i) }));
      await repo.add(reviewItem('p-1b', due, { createdAt: at(1) })); // queued at the same time as p-1: after it by id
      await repo.add(reviewItem('other', due, { createdAt: at(0), proposerPrincipal: 'ops-copilot' }));
      await repo.add(reviewItem('sample', due, { createdAt: at(0), kind: 'audit-sample' }));
      await repo.decide('p-0', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:10:00Z'));
      const ahead = async (id: string, atMost = 100) => repo.pendingAhead((await repo.get(id))!, atMost);
      expect(await ahead('p-1')).toBe(0); // p-0 is decided; other proposers and audit samples do not count
      expect(await ahead('p-1b')).toBe(1);
      expect(await ahead('p-2')).toBe(2);
      expect(await ahead('p-3')).toBe(3);
      expect(await ahead('p-3', 2)).toBe(2);
      expect(await ahead('other')).toBe(0);
      expect(await repo.pendingAhead({ actionId: 'new', proposerPrincipal: 'support-copilot', createdAt: at(9) }, 100)).toBe(4);
    });

    it("counts a tenant's pending approvals queued ahead of an item, whichever proposer's, up to a bound", async () => {
      const repo = await make();
      const at = (s: number) => new Date(Date.parse('2026-11-24T10:00:00.000Z') + s * 1000).toISOString();
      const due = '2026-11-24T12:00:00.000Z';
      const of = (tenant: string) => ({ proposal: { ...refundProposal(), tenant } });
      // Two agents of globex (the probe of 2026-12-05), one of acme, an audit sample and a decided item of globex.
      for (let i = 0; i < 4; i++) await repo.add(reviewItem(`g-${i}`, due, { createdAt: at(i), proposerPrincipal: `globex-${i % 2}`, ...of('globex') }));
      await repo.add(reviewItem('g-1b', due, { createdAt: at(1), proposerPrincipal: 'globex-0', ...of('globex') })); // same time as g-1: after it by id
      await repo.add(reviewItem('acme', due, { createdAt: at(0), ...of('acme') }));
      await repo.add(reviewItem('sample', due, { createdAt: at(0), kind: 'audit-sample', ...of('globex') }));
      await repo.decide('g-0', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:10:00Z'));
      const ahead = async (id: string, atMost = 100) => repo.tenantPendingAhead((await repo.get(id))!, atMost);
      expect(await ahead('g-1')).toBe(0); // g-0 is decided; other tenants and audit samples do not count
      expect(await ahead('g-1b')).toBe(1);
      expect(await ahead('g-2')).toBe(2);
      expect(await ahead('g-3')).toBe(3);
      expect(await ahead('g-3', 2)).toBe(2);
      expect(await ahead('acme')).toBe(0);
      expect(await repo.tenantPendingAhead({ actionId: 'new', createdAt: at(9), proposal: { tenant: 'globex' } }, 100)).toBe(4);
      expect(await repo.tenantPendingAhead({ actionId: 'new', createdAt: at(9), proposal: { tenant: 'acme' } }, 100)).toBe(1);
      // The tenant exactly as stored: no folding of case.
      expect(await repo.tenantPendingAhead({ actionId: 'new', createdAt: at(9), proposal: { tenant: 'Globex' } }, 100)).toBe(0);
    });

    it('keeps an audit sample as an audit sample, with its times and roles, through its assessment', async () => {
      const repo = await make();
      const sample = reviewItem('s1', '2026-11-24T14:00:00.000Z', { kind: 'audit-sample', requiredRoles: [], reasons: [], quorum: 1, slaClass: 'normal' });
      expect(await repo.add(sample)).toBe(true);
      expect(await repo.get('s1')).toEqual(sample);
      const assessed = await repo.decide('s1', 'disagreed', ['bob'], 'should have been reviewed', new Date('2026-11-24T11:00:00.000Z'));
      expect(assessed).toEqual({
        ...sample,
        status: 'disagreed',
        deciders: ['bob'],
        decisionReason: 'should have been reviewed',
        decidedAt: '2026-11-24T11:00:00.000Z',
      });
      expect(await repo.get('s1')).toEqual(assessed);
    });

    it('decides a pending item once: of concurrent decisions exactly one wins', async () => {
      const repo = await make();
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      const at = new Date('2026-11-24T10:02:00.000Z');
      const results = await Promise.all([
        repo.decide('a1', 'approved', ['alice'], 'fine', at),
        repo.decide('a1', 'rejected', ['bob'], 'not fine', at),
        repo.decide('a1', 'approved', ['carol'], 'ok', at),
      ]);
      const winners = results.filter(Boolean);
      expect(winners).toHaveLength(1);
      expect(await repo.get('a1')).toEqual(winners[0]);
      expect(winners[0]!.decidedAt).toBe(at.toISOString());
      expect(await repo.decide('missing', 'approved', ['alice'], 'x', at)).toBeUndefined();
    });

    it('takes no decision on a pending item past its due time, but the clock may still expire it', async () => {
      const repo = await make();
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      const due = new Date('2026-11-24T10:15:00.000Z');
      // The clock has not turned yet: the item is still pending, but a reviewer's decision is too late, at the due time or after.
      expect(await repo.decide('a1', 'approved', ['alice'], 'fine', due)).toBeUndefined();
      expect(await repo.decide('a1', 'rejected', ['alice'], 'no', new Date(due.getTime() + 50))).toBeUndefined();
      expect((await repo.get('a1'))!.status).toBe('pending');
      expect(await repo.decide('a1', 'approved', ['alice'], 'fine', new Date(due.getTime() - 1))).toMatchObject({ status: 'approved' });
      await repo.add(reviewItem('a2', '2026-11-24T10:15:00.000Z'));
      expect(await repo.decide('a2', 'expired', ['review-queue'], 'sla_expired', new Date(due.getTime() + 50))).toMatchObject({ status: 'expired' });
    });

    it('keeps the sealed real proposal through a decision', async () => {
      const repo = await make();
      const sealed = 'v1.k.aXY.c2VhbGVk.dGFn';
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z', { sealed }));
      expect((await repo.decide('a1', 'approved', ['alice'], 'fine', new Date('2026-11-24T10:02:00.000Z')))!.sealed).toBe(sealed);
      expect((await repo.get('a1'))!.sealed).toBe(sealed);
    });

    it('collects distinct approvers towards a quorum', async () => {
      const repo = await make();
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z', { quorum: 2 }));
      await repo.addApproval('a1', 'alice', 'first');
      await repo.addApproval('a1', 'alice', 'again');
      const all = await repo.addApproval('a1', 'bob', 'second');
      expect(all.sort((x, y) => x.approver.localeCompare(y.approver))).toEqual([
        { approver: 'alice', reason: 'first' },
        { approver: 'bob', reason: 'second' },
      ]);
    });

    it('counts two approvers approving at once each once, and exactly one of them completes the quorum', async () => {
      const repo = await make();
      for (let round = 0; round < 5; round++) {
        const id = `q${round}`;
        await repo.add(reviewItem(id, '2026-11-24T10:15:00.000Z', { quorum: 2 }));
        const seen = await Promise.all([repo.addApproval(id, 'alice', 'yes'), repo.addApproval(id, 'bob', 'yes too')]);
        expect(seen.filter((all) => all.length >= 2)).toHaveLength(1);
        expect(seen.map((all) => all.length).sort()).toEqual([1, 2]);
        expect((await repo.addApproval(id, 'alice', 'again')).map((a) => a.approver).sort()).toEqual(['alice', 'bob']);
      }
    });

    it('keeps how each approver signed in, and the event of an approval short of the quorum with it (red team, 2026-12-05)', async () => {
      const repo = await make();
      const item = reviewItem('a1', '2026-11-24T10:15:00.000Z', { quorum: 3 });
      await repo.add(item);
      const told: string[][] = [];
      const recordedEvent =
        (approver: string) =>
        (approvers: string[]): DecisionEvent => {
          told.push(approvers);
          return {
            topic: TOPICS.approvalRecorded,
            event: buildEnvelope(TOPICS.approvalRecorded, { reason: 'yes', digest: item.digest, approvers, quorum: 3 }, 'review-queue', {
              cause: { id: item.decisionEventId, subject: item.actionId, correlationId: item.correlationId },
              discriminator: `approval:${approver}`,
            }),
          };
        };
      await repo.addApproval('a1', 'alice', 'yes', { auth: { authMethod: 'oidc', amr: ['pwd', 'mfa'] }, event: recordedEvent('alice') });
      await repo.addApproval('a1', 'bob', 'yes', { auth: { authMethod: 'bearer-token' }, event: recordedEvent('bob') });
      // Counted already: nothing built, nothing stored twice.
      await repo.addApproval('a1', 'alice', 'again', { auth: { authMethod: 'bearer-token' }, event: recordedEvent('alice') });
      expect(told).toEqual([['alice'], ['alice', 'bob']]);
      expect((await repo.approvals('a1')).map(({ approver, authMethod, amr }) => ({ approver, authMethod, amr }))).toEqual([
        { approver: 'alice', authMethod: 'oidc', amr: ['pwd', 'mfa'] },
        { approver: 'bob', authMethod: 'bearer-token', amr: undefined },
      ]);
      const stored = await repo.unpublishedClockEvents(new Date(Date.now() + 60_000), 10);
      const approversOf = (e: (typeof stored)[number]) => (e.event.data as { approvers: string[] }).approvers;
      // Two stored within one millisecond: in the order of the approvers so far.
      stored.sort((x, y) => approversOf(x).length - approversOf(y).length);
      expect(stored.map((e) => [e.topic, e.actionId, approversOf(e)])).toEqual([
        [TOPICS.approvalRecorded, 'a1', ['alice']],
        [TOPICS.approvalRecorded, 'a1', ['alice', 'bob']],
      ]);
      // An approval recorded without its method (before it was kept) reads as unknown; the one completing a quorum keeps its own.
      await repo.addApproval('a1', 'carol', 'yes');
      expect((await repo.approvals('a1')).find((a) => a.approver === 'carol')).toMatchObject({ authMethod: 'unknown' });
      await repo.add(reviewItem('a2', '2026-11-24T10:15:00.000Z', { quorum: 1 }));
      const approval = { approver: 'dan', reason: 'fine', after: [], auth: { authMethod: 'oidc', amr: ['pwd'] } };
      await repo.decide('a2', 'approved', ['dan'], 'fine', new Date('2026-11-24T10:02:00.000Z'), undefined, { approval });
      expect(await repo.approvals('a2')).toMatchObject([{ approver: 'dan', authMethod: 'oidc', amr: ['pwd'] }]);
    });

    it('keeps what a reviser sent with the revision, and shows it to no one', async () => {
      const repo = await make();
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      const revisionAsked = 'a'.repeat(64);
      await repo.decide('a1', 'revised', ['alice'], 'less', new Date('2026-11-24T10:02:00.000Z'), undefined, { revisionAsked });
      expect(await repo.get('a1')).toMatchObject({ status: 'revised', revisionAsked });
    });

    it('records no approval for an unknown item', async () => {
      const repo = await make();
      expect(await repo.addApproval('nope', 'alice', 'yes')).toEqual([]);
      await repo.add(reviewItem('nope', '2026-11-24T10:15:00.000Z'));
      expect(await repo.addApproval('nope', 'bob', 'yes')).toEqual([{ approver: 'bob', reason: 'yes' }]);
    });

    it('stores the decision event with the decision, unpublished until marked: the outbox', async () => {
      const repo = await make();
      const [a1, a2, a3] = ['a1', 'a2', 'a3'].map((id) => reviewItem(id, '2026-11-24T10:15:00.000Z'));
      for (const item of [a1, a2, a3]) await repo.add(item);
      const e1 = decisionEvent(a1, 'rejected', 'alice');
      const e2 = decisionEvent(a2, 'approved', 'bob');
      expect(await repo.decisionEvent('a1')).toBeUndefined();
      await repo.decide('a2', 'approved', ['bob'], 'ok', new Date('2026-11-24T10:03:00.000Z'), e2);
      await repo.decide('a1', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:02:00.000Z'), e1);
      await repo.decide('a3', 'expired', [], 'no event for this one', new Date('2026-11-24T10:01:00.000Z'));
      // A losing decision stores nothing: the winner's event stays.
      await repo.decide('a1', 'approved', ['carol'], 'late', new Date('2026-11-24T10:04:00.000Z'), decisionEvent(a1, 'approved', 'carol'));
      expect(await repo.decisionEvent('a1')).toEqual({ ...e1, actionId: 'a1', decidedAt: '2026-11-24T10:02:00.000Z' });
      expect(await repo.decisionEvent('a3')).toBeUndefined();
      // Oldest decision first; none decided after `decidedBefore`.
      expect((await repo.unpublished(new Date('2026-11-24T10:05:00.000Z'), 10)).map((e) => [e.actionId, e.event.id])).toEqual([
        ['a1', e1.event.id],
        ['a2', e2.event.id],
      ]);
      expect((await repo.unpublished(new Date('2026-11-24T10:02:30.000Z'), 10)).map((e) => e.actionId)).toEqual(['a1']);
      expect((await repo.unpublished(new Date('2026-11-24T10:05:00.000Z'), 1)).map((e) => e.actionId)).toEqual(['a1']);
      await repo.markPublished('a1', new Date('2026-11-24T10:06:00.000Z'));
      await repo.markPublished('a1', new Date('2026-11-24T10:07:00.000Z'));
      expect((await repo.unpublished(new Date('2026-11-24T10:05:00.000Z'), 10)).map((e) => e.actionId)).toEqual(['a2']);
      expect(await repo.decisionEvent('a1')).toEqual({ ...e1, actionId: 'a1', decidedAt: '2026-11-24T10:02:00.000Z', publishedAt: '2026-11-24T10:06:00.000Z' });
      // The item itself reads as before: the outbox is not part of what reviewers are shown.
      expect(await repo.get('a1')).toEqual({ ...a1, status: 'rejected', deciders: ['alice'], decisionReason: 'no', decidedAt: '2026-11-24T10:02:00.000Z' });
    });

    describe('claims (leases), approvals and recent decisions', () => {
      const t0 = new Date('2026-11-24T10:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);
      const lease = (by: string, name: string, untilMs: number) => ({ by, name, until: at(untilMs).toISOString() });

      it('gives a free item to the first claimer, refuses others while the lease holds, renews the holder, frees it when it runs out', async () => {
        const repo = await make();
        await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'));
        expect(await repo.claim('a1', lease('alice', 'Alice', 300_000), t0)).toEqual(lease('alice', 'Alice', 300_000));
        expect((await repo.get('a1'))!.claim).toEqual(lease('alice', 'Alice', 300_000));
        // Bob is told who holds it; nothing changes.
        expect(await repo.claim('a1', lease('bob', 'Bob', 360_000), at(60_000))).toEqual(lease('alice', 'Alice', 300_000));
        // Alice's card is still open: her lease is renewed.
        expect(await repo.claim('a1', lease('alice', 'Alice', 400_000), at(100_000))).toEqual(lease('alice', 'Alice', 400_000));
        // Her lease runs out: the item is free for Bob.
        expect(await repo.claim('a1', lease('bob', 'Bob', 700_000), at(400_000))).toEqual(lease('bob', 'Bob', 700_000));
        expect((await repo.get('a1'))!.claim).toEqual(lease('bob', 'Bob', 700_000));
      });

      it('of two reviewers claiming a free item at once, exactly one holds it', async () => {
        const repo = await make();
        for (let round = 0; round < 5; round++) {
          const id = `race${round}`;
          await repo.add(reviewItem(id, '2026-11-24T11:00:00.000Z'));
          const seen = await Promise.all([repo.claim(id, lease('alice', 'Alice', 300_000), t0), repo.claim(id, lease('bob', 'Bob', 300_000), t0)]);
          expect(seen[0]!.by).toBe(seen[1]!.by);
          expect((await repo.get(id))!.claim!.by).toBe(seen[0]!.by);
        }
      });

      it("releases only the holder's claim, and claims nothing on an unknown or decided item", async () => {
        const repo = await make();
        await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'));
        await repo.claim('a1', lease('alice', 'Alice', 300_000), t0);
        expect(await repo.releaseClaim('a1', 'bob')).toBe(false);
        expect((await repo.get('a1'))!.claim!.by).toBe('alice');
        expect(await repo.releaseClaim('a1', 'alice')).toBe(true);
        expect((await repo.get('a1'))!.claim).toBeUndefined();
        expect(await repo.claim('a1', lease('bob', 'Bob', 300_000), t0)).toEqual(lease('bob', 'Bob', 300_000));
        await repo.decide('a1', 'approved', ['carol'], 'ok', at(1000));
        expect(await repo.claim('a1', lease('bob', 'Bob', 600_000), at(2000))).toBeUndefined();
        expect(await repo.claim('nope', lease('bob', 'Bob', 300_000), t0)).toBeUndefined();
      });

      it('claims nothing past its due time, in either way of claiming: the review clock expires it (race probe, 2026-12-05)', async () => {
        const repo = await make();
        await repo.add(reviewItem('a1', at(60_000).toISOString()));
        const bob = { id: 'bob', roles: ['reviewer'] };
        // A millisecond before it is due: taken.
        expect(await repo.claim('a1', lease('alice', 'Alice', 300_000), at(59_999))).toEqual(lease('alice', 'Alice', 300_000));
        await repo.releaseClaim('a1', 'alice');
        // At its due time and after: neither the lease nor the one-step claim takes it.
        expect(await repo.claim('a1', lease('alice', 'Alice', 300_000), at(60_000))).toBeUndefined();
        expect(await repo.claimFor('a1', bob, lease('bob', 'Bob', 300_000), at(60_005))).toBeUndefined();
        expect((await repo.get('a1'))!.claim).toBeUndefined();
      });

      it('claims in one step only an item the reviewer may decide, free or theirs, and returns it as claimed', async () => {
        const repo = await make();
        const alice = { id: 'alice', roles: ['reviewer'] };
        await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'));
        await repo.add(reviewItem('other-role', '2026-11-24T11:00:00.000Z', { requiredRoles: ['finance'] }));
        await repo.add(reviewItem('own', '2026-11-24T11:00:00.000Z', { proposerPrincipal: 'alice' }));
        await repo.add(reviewItem('sample', '2026-11-24T11:00:00.000Z', { kind: 'audit-sample' }));
        await repo.add(reviewItem('q2', '2026-11-24T11:00:00.000Z', { quorum: 2 }));
        await repo.addApproval('q2', 'alice', 'first');
        expect(await repo.claimFor('a1', alice, lease('alice', 'Alice', 300_000), t0)).toEqual({
          ...reviewItem('a1', '2026-11-24T11:00:00.000Z'),
          claim: lease('alice', 'Alice', 300_000),
        });
        // Renewed by its holder; refused to Bob while it holds, his once it ran out.
        expect((await repo.claimFor('a1', alice, lease('alice', 'Alice', 400_000), at(100_000)))!.claim).toEqual(lease('alice', 'Alice', 400_000));
        expect(await repo.claimFor('a1', { id: 'bob', roles: ['reviewer'] }, lease('bob', 'Bob', 500_000), at(200_000))).toBeUndefined();
        expect((await repo.get('a1'))!.claim).toEqual(lease('alice', 'Alice', 400_000));
        expect((await repo.claimFor('a1', { id: 'bob', roles: ['reviewer'] }, lease('bob', 'Bob', 900_000), at(400_000)))!.claim!.by).toBe('bob');
        // Nothing claimed (nothing changed) on what Alice may not decide, what is not an approval, or unknown.
        for (const id of ['other-role', 'own', 'sample', 'q2', 'nope']) {
          expect(await repo.claimFor(id, alice, lease('alice', 'Alice', 300_000), t0)).toBeUndefined();
          expect((await repo.get(id))?.claim).toBeUndefined();
        }
        // Nor for someone who may propose as the item's agent through another token of theirs.
        await repo.add(reviewItem('agents', '2026-11-24T11:00:00.000Z'));
        const fiona = { id: 'fiona', roles: ['reviewer'], proposesAs: ['fiona', 'support-copilot'] };
        expect(await repo.claimFor('agents', fiona, lease('fiona', 'Fiona', 300_000), t0)).toBeUndefined();
        expect((await repo.get('agents'))!.claim).toBeUndefined();
        expect((await repo.claimFor('agents', alice, lease('alice', 'Alice', 300_000), t0))!.claim!.by).toBe('alice');
        // Nor on a decided item.
        await repo.decide('a1', 'approved', ['bob'], 'ok', at(500_000));
        expect(await repo.claimFor('a1', { id: 'carol', roles: ['reviewer'] }, lease('carol', 'Carol', 900_000), at(600_000))).toBeUndefined();
      });

      it('lists the pending items whose claim a reviewer holds now, and no other', async () => {
        const repo = await make();
        for (const id of ['c1', 'c2', 'c3', 'c4']) await repo.add(reviewItem(id, '2026-11-24T11:00:00.000Z'));
        await repo.claim('c2', lease('alice', 'Alice', 300_000), t0);
        await repo.claim('c1', lease('alice', 'Alice', 100_000), t0);
        await repo.claim('c3', lease('bob', 'Bob', 300_000), t0);
        await repo.claim('c4', lease('alice', 'Alice', 300_000), t0);
        await repo.decide('c4', 'approved', ['alice'], 'ok', at(1000));
        expect(await repo.claimsHeldBy('alice', at(1000))).toEqual(['c1', 'c2']);
        // A lease that ran out is held no more.
        expect(await repo.claimsHeldBy('alice', at(100_000))).toEqual(['c2']);
        expect(await repo.claimsHeldBy('carol', at(1000))).toEqual([]);
      });

      it('of two reviewers claiming a free item in one step at once, exactly one gets it', async () => {
        const repo = await make();
        for (let round = 0; round < 5; round++) {
          const id = `one-step${round}`;
          await repo.add(reviewItem(id, '2026-11-24T11:00:00.000Z'));
          const seen = await Promise.all(['alice', 'bob'].map((by) => repo.claimFor(id, { id: by, roles: ['reviewer'] }, lease(by, by, 300_000), t0)));
          expect(seen.filter(Boolean)).toHaveLength(1);
          expect((await repo.get(id))!.claim!.by).toBe(seen.find(Boolean)!.claim!.by);
        }
      });

      it('records the approval completing a quorum with the decision, in one write, only if the approvers so far are unchanged', async () => {
        const repo = await make();
        await repo.add(reviewItem('q2', '2026-11-24T11:00:00.000Z', { quorum: 2 }));
        await repo.addApproval('q2', 'alice', 'first');
        const event = decisionEvent(reviewItem('q2', '2026-11-24T11:00:00.000Z'), 'approved', 'bob');
        // Read before Alice approved: nothing written, no approval counted.
        expect(
          await repo.decide('q2', 'approved', ['bob'], 'second', at(1000), event, { approval: { approver: 'bob', reason: 'second', after: [] } }),
        ).toBeUndefined();
        expect((await repo.approvals('q2')).map((a) => a.approver)).toEqual(['alice']);
        expect((await repo.get('q2'))!.status).toBe('pending');
        const decided = await repo.decide('q2', 'approved', ['alice', 'bob'], 'second', at(1000), event, {
          approval: { approver: 'bob', reason: 'second', after: ['alice'] },
        });
        expect(decided).toMatchObject({ status: 'approved', deciders: ['alice', 'bob'], approvedBy: ['alice', 'bob'] });
        expect((await repo.approvals('q2')).map((a) => [a.approver, a.reason])).toEqual([
          ['alice', 'first'],
          ['bob', 'second'],
        ]);
        expect((await repo.decisionEvent('q2'))!.event.id).toBe(event.event.id);
      });

      it("decides nothing for a claimant while another reviewer's claim holds, and decides once it ran out", async () => {
        const repo = await make();
        await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'));
        await repo.claim('a1', lease('alice', 'Alice', 300_000), t0);
        const withBob = { approval: { approver: 'bob', reason: 'ok', after: [] }, claimant: 'bob' };
        expect(await repo.decide('a1', 'approved', ['bob'], 'ok', at(1000), undefined, withBob)).toBeUndefined();
        expect(await repo.approvals('a1')).toEqual([]);
        expect((await repo.decide('a1', 'approved', ['bob'], 'ok', at(300_000), undefined, withBob))!.status).toBe('approved');
        // The holder decides while holding it.
        await repo.add(reviewItem('a2', '2026-11-24T11:00:00.000Z'));
        await repo.claim('a2', lease('alice', 'Alice', 300_000), t0);
        const withAlice = { approval: { approver: 'alice', reason: 'ok', after: [] }, claimant: 'alice' };
        expect((await repo.decide('a2', 'approved', ['alice'], 'ok', at(1000), undefined, withAlice))!.deciders).toEqual(['alice']);
      });

      it('of many decisions at once on many items, each item is decided once, with its own event', async () => {
        const repo = await make();
        const items = Array.from({ length: 40 }, (_, i) => reviewItem(`m${i}`, '2026-11-24T11:00:00.000Z'));
        for (const item of items) await repo.add(item);
        // Two reviewers race on every item: one decision per item wins, whatever batch each landed in.
        const results = await Promise.all(
          items.flatMap((item) =>
            ['alice', 'bob'].map((by) =>
              repo.decide(item.actionId, 'approved', [by], 'ok', at(1000), decisionEvent(item, 'approved', by), {
                approval: { approver: by, reason: 'ok', after: [] },
                claimant: by,
              }),
            ),
          ),
        );
        for (let i = 0; i < items.length; i++) {
          const won = [results[2 * i], results[2 * i + 1]].filter(Boolean);
          expect(won).toHaveLength(1);
          expect((await repo.approvals(items[i].actionId)).map((a) => a.approver)).toEqual(won[0]!.deciders);
          expect(((await repo.decisionEvent(items[i].actionId))!.event.data as { reviewers: unknown }).reviewers).toEqual([
            { id: won[0]!.deciders![0], kind: 'human' },
          ]);
        }
      });

      it('lists the approvals with their times, and keeps the approvers on the item', async () => {
        const repo = await make();
        await repo.add(reviewItem('q1', '2026-11-24T11:00:00.000Z', { quorum: 2 }));
        expect(await repo.approvals('q1')).toEqual([]);
        const before = Date.now();
        await repo.addApproval('q1', 'alice', 'first');
        expect((await repo.get('q1'))!.approvedBy).toEqual(['alice']);
        await repo.addApproval('q1', 'bob', 'second');
        const approvals = await repo.approvals('q1');
        expect(approvals.map((a) => [a.approver, a.reason])).toEqual([
          ['alice', 'first'],
          ['bob', 'second'],
        ]);
        for (const a of approvals) expect(Date.parse(a.approvedAt)).toBeGreaterThanOrEqual(before - 5_000);
        expect((await repo.get('q1'))!.approvedBy).toEqual(['alice', 'bob']);
        expect(await repo.approvals('nope')).toEqual([]);
      });

      it("keeps the policy decision's risk score, rules fired and risk class", async () => {
        const repo = await make();
        const item = reviewItem('r1', '2026-11-24T11:00:00.000Z', { score: 0.87, rulesFired: ['amount-over-limit', 'new-payee'], riskClass: 'high' });
        await repo.add(item);
        expect(await repo.get('r1')).toEqual(item);
      });

      it("finds the tenant's recent decisions on the same target and by the same agent, newest first, never pending ones", async () => {
        const repo = await make();
        const on = (id: string, target: string, agentId: string, tenant = 'acme') => {
          const p = refundProposal();
          return reviewItem(id, '2026-11-24T11:00:00.000Z', { proposal: { ...p, tenant, target, proposer: { ...p.proposer, agentId } } });
        };
        await repo.add(on('now', 'order-1', 'copilot'));
        await repo.add(on('t-old', 'order-1', 'other-agent'));
        await repo.add(on('t-new', 'order-1', 'other-agent'));
        await repo.add(on('t-pending', 'order-1', 'copilot'));
        await repo.add(on('a-only', 'order-9', 'copilot'));
        await repo.add(on('elsewhere', 'order-7', 'someone'));
        await repo.add(reviewItem('sample', '2026-11-24T11:00:00.000Z', { kind: 'audit-sample', proposal: on('x', 'order-1', 'copilot').proposal }));
        // Another tenant's decisions on a target and by an agent of the same names: never shown (security probe M4).
        await repo.add(on('globex-t', 'order-1', 'other-agent', 'globex'));
        await repo.add(on('globex-a', 'order-8', 'copilot', 'globex'));
        await repo.decide('globex-t', 'approved', ['carol'], 'already refunded', at(3500));
        await repo.decide('globex-a', 'rejected', ['carol'], 'no', at(2500));
        await repo.decide('t-old', 'rejected', ['bob'], 'no', at(1000));
        await repo.decide('t-new', 'approved', ['alice'], 'ok', at(3000));
        await repo.decide('a-only', 'expired', ['review-queue'], 'sla_expired', at(2000));
        await repo.decide('elsewhere', 'approved', ['alice'], 'ok', at(4000));
        await repo.decide('sample', 'agreed', ['alice'], 'ok', at(5000));
        await repo.decide('now', 'approved', ['alice'], 'ok', at(6000));
        expect((await repo.recentDecisions({ tenant: 'acme', target: 'order-1' }, 'now', 5)).map((i) => [i.actionId, i.status])).toEqual([
          ['t-new', 'approved'],
          ['t-old', 'rejected'],
        ]);
        expect((await repo.recentDecisions({ tenant: 'acme', target: 'order-1' }, 'now', 1)).map((i) => i.actionId)).toEqual(['t-new']);
        expect((await repo.recentDecisions({ tenant: 'acme', agentId: 'copilot' }, 'now', 5)).map((i) => i.actionId)).toEqual(['a-only']);
        expect(await repo.recentDecisions({ tenant: 'acme', agentId: 'nobody' }, 'now', 5)).toEqual([]);
        expect((await repo.recentDecisions({ tenant: 'globex', target: 'order-1' }, 'now', 5)).map((i) => i.actionId)).toEqual(['globex-t']);
        expect((await repo.recentDecisions({ tenant: 'globex', agentId: 'copilot' }, 'now', 5)).map((i) => i.actionId)).toEqual(['globex-a']);
        expect(await repo.recentDecisions({ tenant: 'initech', target: 'order-1' }, 'now', 5)).toEqual([]);
      });
    });

    describe('the review clock', () => {
      const clocked = (id: string, over: Partial<ReviewItem> = {}) =>
        reviewItem(id, '2026-11-24T10:15:00.000Z', {
          requiredRoles: ['finance'],
          escalateAt: '2026-11-24T10:07:30.000Z',
          escalateTo: ['finance-lead'],
          slaSeconds: 900,
          ...over,
        });

      it('keeps the clock times of an item, and claims nothing before they come', async () => {
        const repo = await make();
        const item = clocked('a1', { fallbackTeam: 'marketing-on-call' });
        await repo.add(item);
        expect(await repo.get('a1')).toEqual(item);
        const before = new Date('2026-11-24T10:07:29.000Z');
        expect(await repo.claimDue(before, 10, escalateOrExpire(before))).toEqual([]);
      });

      it('escalates once at the escalation time and expires at the due time, each step with its event stored', async () => {
        const repo = await make();
        const item = clocked('a1');
        await repo.add(item);
        const t1 = new Date('2026-11-24T10:08:00.000Z');
        const [escalated] = await repo.claimDue(t1, 10, escalateOrExpire(t1));
        expect(escalated.step).toBe('escalate');
        const { escalateAt: _e, ...rest } = item;
        expect(escalated.item).toEqual({ ...rest, requiredRoles: ['finance', 'finance-lead'], escalatedAt: t1.toISOString(), clockStep: 1 });
        expect(await repo.get('a1')).toEqual(escalated.item);
        // Escalated already, not due yet: nothing more to do.
        expect(await repo.claimDue(t1, 10, escalateOrExpire(t1))).toEqual([]);
        expect(await repo.unpublishedClockEvents(t1, 10)).toEqual([{ ...escalated.event, actionId: 'a1', createdAt: t1.toISOString() }]);
        expect(await repo.unpublishedClockEvents(new Date('2026-11-24T10:07:59.000Z'), 10)).toEqual([]);
        await repo.markClockEventPublished(escalated.event.event.id, t1);
        expect(await repo.unpublishedClockEvents(t1, 10)).toEqual([]);

        const t2 = new Date('2026-11-24T10:15:00.000Z');
        const [expired] = await repo.claimDue(t2, 10, escalateOrExpire(t2));
        expect(expired).toMatchObject({ step: 'expire', item: { status: 'expired', deciders: ['review-queue'], decisionReason: 'sla_expired', clockStep: 2 } });
        // Through the decision outbox, like an approval: a reviewer's decision after it finds the item decided.
        expect(await repo.decisionEvent('a1')).toEqual({ ...expired.event, actionId: 'a1', decidedAt: t2.toISOString() });
        expect(await repo.decide('a1', 'approved', ['alice'], 'late', t2, decisionEvent(item, 'approved', 'alice'))).toBeUndefined();
        expect(await repo.claimDue(new Date('2026-11-24T11:00:00.000Z'), 10, escalateOrExpire(new Date('2026-11-24T11:00:00.000Z')))).toEqual([]);
      });

      it("moves an item between reviewers' lists as the clock escalates, re-routes and expires it (each role's list kept by the store, scale probe 2026-12-06)", async () => {
        const repo = await make();
        await repo.add(clocked('esc'));
        await repo.add(clocked('fall', { escalateAt: undefined, fallbackTeam: 'marketing-on-call' }));
        const listed = async (roles: string[]) => (await repo.pending(10, { roles })).map((i) => i.actionId);
        const inbox = async (roles: string[]) => (await repo.inbox({ reviewer: { id: 'zoe', roles }, limit: 10 })).map((i) => i.actionId);
        expect(await listed(['finance'])).toEqual(['esc', 'fall']);
        expect(await listed(['finance-lead'])).toEqual([]);
        const t1 = new Date('2026-11-24T10:08:00.000Z');
        await repo.claimDue(t1, 10, escalateOrExpire(t1));
        expect(await listed(['finance-lead'])).toEqual(['esc']);
        expect(await inbox(['finance-lead', 'finance'])).toEqual(['esc', 'fall']);
        // Re-routed: out of finance's list, in the fallback team's, at its new due time (after items due before it).
        await repo.add(reviewItem('other', '2026-11-24T10:20:00.000Z', { requiredRoles: ['marketing-on-call'] }));
        const t2 = new Date('2026-11-24T10:15:00.000Z');
        await repo.claimDue(t2, 10, rerouteToFallback('2026-11-24T10:30:00.000Z'));
        expect(await listed(['finance'])).toEqual(['esc']);
        expect(await inbox(['marketing-on-call'])).toEqual(['other', 'fall']);
        // Expired and decided: in no list.
        const t3 = new Date('2026-11-24T10:16:00.000Z');
        await repo.claimDue(t3, 10, escalateOrExpire(t3));
        await repo.decide('other', 'rejected', ['mia'], 'not ours', t3, decisionEvent(reviewItem('other', '2026-11-24T10:20:00.000Z'), 'rejected', 'mia'));
        expect(await listed(['finance', 'finance-lead'])).toEqual([]);
        expect(await inbox(['marketing-on-call'])).toEqual(['fall']);
      });

      it("ends a reviewer's claim when the item escalates or is re-routed: the new tier is not kept out by the old one's lease", async () => {
        const repo = await make();
        await repo.add(clocked('esc'));
        await repo.add(clocked('fall', { escalateAt: undefined, fallbackTeam: 'marketing-on-call' }));
        // Claimed (and renewed) past both clock times by a reviewer of the first tier.
        const lease = { by: 'bob', name: 'Bob', until: '2026-11-24T11:00:00.000Z' };
        for (const id of ['esc', 'fall']) expect(await repo.claim(id, lease, new Date('2026-11-24T10:05:00.000Z'))).toEqual(lease);
        const t1 = new Date('2026-11-24T10:08:00.000Z');
        const [escalated] = await repo.claimDue(t1, 10, escalateOrExpire(t1));
        expect(escalated.item.claim).toBeUndefined();
        expect((await repo.get('esc'))!.claim).toBeUndefined();
        const t2 = new Date('2026-11-24T10:15:00.000Z');
        const [rerouted] = await repo.claimDue(t2, 10, rerouteToFallback('2026-11-24T10:30:00.000Z'));
        expect(rerouted.item.claim).toBeUndefined();
        expect((await repo.get('fall'))!.claim).toBeUndefined();
        // The next tier's reviewer claims it at once (before its due time, 10:15, after which nobody claims it).
        const carol = { by: 'carol', name: 'Carol', until: '2026-11-24T10:20:00.000Z' };
        expect(await repo.claim('esc', carol, new Date('2026-11-24T10:14:00.000Z'))).toEqual(carol);
      });

      it('keeps who held the claim a step ended, and gives them no claim on it again in one step (red team, 2026-12-05)', async () => {
        const repo = await make();
        await repo.add(clocked('held'));
        await repo.add(clocked('lapsed'));
        await repo.add(clocked('fall', { escalateAt: undefined, fallbackTeam: 'marketing-on-call' }));
        await repo.claim('held', { by: 'bob', name: 'Bob', until: '2026-11-24T11:00:00.000Z' }, new Date('2026-11-24T10:05:00.000Z'));
        // A lease that ran out before the step held nothing: its reviewer is not kept.
        await repo.claim('lapsed', { by: 'bob', name: 'Bob', until: '2026-11-24T10:07:00.000Z' }, new Date('2026-11-24T10:05:00.000Z'));
        await repo.claim('fall', { by: 'dave', name: 'Dave', until: '2026-11-24T11:00:00.000Z' }, new Date('2026-11-24T10:05:00.000Z'));
        const t1 = new Date('2026-11-24T10:08:00.000Z');
        const steps = await repo.claimDue(t1, 10, escalateOrExpire(t1));
        expect(Object.fromEntries(steps.map((s) => [s.item.actionId, s.item.escalatedClaimants]))).toEqual({ held: ['bob'], lapsed: undefined });
        expect((await repo.get('held'))!.escalatedClaimants).toEqual(['bob']);
        const t2 = new Date('2026-11-24T10:15:00.000Z');
        const [rerouted] = await repo.claimDue(t2, 10, rerouteToFallback('2026-11-24T10:30:00.000Z'));
        expect(rerouted.item.escalatedClaimants).toEqual(['dave']);
        const bob = { id: 'bob', roles: ['finance', 'finance-lead'] };
        const lease = (by: string) => ({ by, name: by, until: '2026-11-24T10:20:00.000Z' });
        // Claimed before their due time (10:15; the re-routed one's is 10:30 now).
        const t3 = new Date('2026-11-24T10:14:00.000Z');
        expect(await repo.claimFor('held', bob, lease('bob'), t3)).toBeUndefined();
        expect((await repo.get('held'))!.claim).toBeUndefined();
        expect((await repo.claimFor('lapsed', bob, lease('bob'), t3))!.claim!.by).toBe('bob');
        expect(await repo.claimFor('fall', { id: 'dave', roles: ['marketing-on-call'] }, lease('dave'), t2)).toBeUndefined();
        expect((await repo.claimFor('held', { id: 'carol', roles: ['finance-lead'] }, lease('carol'), t3))!.claim!.by).toBe('carol');
      });

      it('re-routes with new roles and a new due time, and claims the item again only when that comes', async () => {
        const repo = await make();
        await repo.add(clocked('a1', { escalateAt: undefined, fallbackTeam: 'marketing-on-call' }));
        const t1 = new Date('2026-11-24T10:15:00.000Z');
        const dueAt = '2026-11-24T10:30:00.000Z';
        const rerouted = await repo.claimDue(t1, 10, (i) => ({
          kind: 'reroute',
          requiredRoles: [i.fallbackTeam!],
          dueAt,
          event: decisionEvent(i, 'escalated', 'review-queue', 'clock-1'),
        }));
        expect(rerouted.map((c) => [c.step, c.item.requiredRoles, c.item.dueAt, c.item.reroutedAt])).toEqual([
          ['reroute', ['marketing-on-call'], dueAt, t1.toISOString()],
        ]);
        const t2 = new Date('2026-11-24T10:29:59.000Z');
        expect(await repo.claimDue(t2, 10, escalateOrExpire(t2))).toEqual([]);
        const t3 = new Date(dueAt);
        expect((await repo.claimDue(t3, 10, escalateOrExpire(t3))).map((c) => c.step)).toEqual(['expire']);
      });

      it('never claims audit samples, outcome checks or decided items, and takes the most overdue first up to the limit', async () => {
        const repo = await make();
        await repo.add(clocked('sample', { kind: 'audit-sample' }));
        await repo.add(clocked('check', { kind: 'outcome-check' }));
        await repo.add(clocked('done'));
        await repo.decide('done', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:01:00.000Z'));
        await repo.add(clocked('later', { escalateAt: '2026-11-24T10:09:00.000Z' }));
        await repo.add(clocked('sooner', { escalateAt: '2026-11-24T10:05:00.000Z' }));
        const now = new Date('2026-11-24T10:10:00.000Z');
        expect((await repo.claimDue(now, 1, escalateOrExpire(now))).map((c) => c.item.actionId)).toEqual(['sooner']);
        expect((await repo.claimDue(now, 10, escalateOrExpire(now))).map((c) => c.item.actionId)).toEqual(['later']);
      });

      it('of two claimers at once, each step goes to one: no item escalates twice', async () => {
        const repo = await make();
        const ids = Array.from({ length: 20 }, (_, n) => `c${String(n).padStart(2, '0')}`);
        for (const id of ids) await repo.add(clocked(id));
        const now = new Date('2026-11-24T10:08:00.000Z');
        const [a, b] = await Promise.all([repo.claimDue(now, 50, escalateOrExpire(now)), repo.claimDue(now, 50, escalateOrExpire(now))]);
        expect([...a, ...b].map((c) => c.item.actionId).sort()).toEqual(ids);
        for (const id of ids) expect((await repo.get(id))!).toMatchObject({ clockStep: 1, requiredRoles: ['finance', 'finance-lead'] });
        expect(await repo.unpublishedClockEvents(now, 50)).toHaveLength(20);
      });

      it('of an expiry and an approval at once, exactly one wins', async () => {
        const repo = await make();
        for (let round = 0; round < 5; round++) {
          const item = clocked(`r${round}`, { escalateAt: undefined });
          await repo.add(item);
          const now = new Date('2026-11-24T10:15:00.000Z');
          const [claims, approved] = await Promise.all([
            repo.claimDue(now, 10, escalateOrExpire(now)),
            repo.decide(item.actionId, 'approved', ['alice'], 'ok', now, decisionEvent(item, 'approved', 'alice')),
          ]);
          expect(claims.length + (approved ? 1 : 0)).toBe(1);
          expect((await repo.get(item.actionId))!.status).toBe(approved ? 'approved' : 'expired');
        }
      });
    });
  });
}
