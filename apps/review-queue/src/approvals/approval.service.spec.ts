import pino from 'pino';
import { ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { isDependencyFailure } from '@countersign/bus';
import { canonicalDigest, TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { TrustHealthState } from '@countersign/nest';
import { eventually, refundProposal, RecordingBus, trustHealthVerdict } from '@countersign/testing';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { ReviewItem } from '../review-item/review-item.repository';
import { shownDigest, shownView } from '../review-item/shown';
import { ApprovalService } from './approval.service';

// real: ApprovalService, the decision outbox and its sweeper, the in-memory review items, Ed25519 signing and
// verification, the in-memory bus (recording what it is given to publish); fake: a bus outage (publish refuses while `down`).
const digest = 'f'.repeat(64);
const now = new Date('2026-11-24T10:00:00.000Z');
const alice = { id: 'alice', kind: 'human' as const, roles: ['reviewer'] };

async function setup() {
  const bus = new RecordingBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });
  const published = bus.published;
  const items = new InMemoryReviewItemRepository();
  const item = (actionId: string): ReviewItem => ({
    kind: 'approval',
    actionId,
    correlationId: `c-${actionId}`,
    decisionEventId: `d-${actionId}`,
    digest,
    proposal: refundProposal(),
    proposerPrincipal: 'support-copilot',
    contractVersion: '1',
    reasons: ['amount over threshold'],
    slaClass: 'normal',
    requiredRoles: ['reviewer'],
    quorum: 1,
    createdAt: now.toISOString(),
    dueAt: new Date(now.getTime() + 3_600_000).toISOString(),
    status: 'pending',
  });
  await items.add(item('a1'));
  await items.add(item('a2'));
  const { signing, verifyKey } = generateSigningKey('rq-1');
  const outbox = new DecisionOutbox(bus, items, pino({ level: 'silent' }), { graceMs: 5_000 });
  const service = new ApprovalService(bus, items, signing, outbox);
  const decisions = () => published.filter((p) => p.topic === TOPICS.reviewDecided).map((p) => TOPIC_SCHEMAS[TOPICS.reviewDecided].parse(p.event));
  return { service, decisions, keys: [verifyKey], bus, items, outbox, item };
}

describe('ApprovalService: every review decision is signed', () => {
  it('signs an approval and a rejection, each bound to its action id, digest and decision', async () => {
    const t = await setup();
    await t.service.approve('a1', alice, 'photo shows the damage', undefined, now);
    await t.service.reject('a2', alice, 'no evidence of damage', undefined, now);
    const [approved, rejected] = t.decisions();
    for (const [event, decision] of [
      [approved, 'approved'],
      [rejected, 'rejected'],
    ] as const) {
      expect(event.data.decision).toBe(decision);
      const check = verifyReviewDecision(event.data.signature!, t.keys, now);
      expect(check).toMatchObject({ ok: true, claims: { decision, actionId: event.subject, digest, deciders: ['alice'] } });
    }
    expect(verifyReviewDecision(approved.data.signature!, t.keys, now)).toMatchObject({ ok: true, claims: { expiresAt: '2026-11-24T11:00:00.000Z' } });
  });
});

describe('ApprovalService: no approval while the trust stack is unhealthy', () => {
  it('answers 503 with the monitor’s reason and records nothing; a rejection is still signed; healthy again, it approves (trust probe, 2026-12-05)', async () => {
    const t = await setup();
    const trust = new TrustHealthState(() => now.getTime());
    t.service.trust = trust;
    trust.apply(trustHealthVerdict('unhealthy', 'v1', now));
    trust.caughtUp();
    await expect(t.service.approve('a1', alice, 'photo shows the damage', undefined, now)).rejects.toThrow(
      'approvals cannot be issued now, nothing was recorded: the trust stack is unhealthy (test: unhealthy); retry once it is healthy again (a rejection is still possible)',
    );
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    await t.service.reject('a2', alice, 'no evidence of damage', undefined, now);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['rejected']);
    trust.apply(trustHealthVerdict('healthy', 'v2', new Date(now.getTime() + 1)));
    await t.service.approve('a1', alice, 'photo shows the damage', undefined, now);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['rejected', 'approved']);
  });

  it('an unsealed "unhealthy" on the control topic (anyone who can write it) refuses no approval: the review clock would expire items for good (red team, 2026-12-05)', async () => {
    const t = await setup();
    const trust = new TrustHealthState(() => now.getTime());
    t.service.trust = trust;
    trust.applyUnsealedUnhealthy(trustHealthVerdict('unhealthy', 'forged', now));
    trust.caughtUp();
    // Trust-sensitive execution is held on it (`healthy()` is false), but the approval is issued.
    expect(trust.healthy()).toBe(false);
    expect(trust.sealedUnhealthy()).toBe(false);
    await t.service.approve('a1', alice, 'photo shows the damage', undefined, now);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['approved']);
  });
});

describe('ApprovalService: who may reject', () => {
  it("refuses an approval to a human allowed to propose as the item's agent (agentIds), as to the proposer itself", async () => {
    const t = await setup();
    const hank = { id: 'hank', kind: 'human' as const, roles: ['reviewer'], agentIds: ['support-copilot'] };
    await expect(t.service.approve('a1', hank, 'looks fine', undefined, now)).rejects.toThrow(
      new ForbiddenException('separation of duties: the proposer of an action cannot approve it'),
    );
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(await t.service.approve('a1', alice, 'looks fine', undefined, now)).toMatchObject({ status: 'approved' });
  });

  it('tells a reviewer outside the item’s roles nothing else of it: 403 before a stale view (409) or a decided item (red team)', async () => {
    const t = await setup();
    const security = { id: 'sam', kind: 'human' as const, roles: ['security'] };
    const stale = 'f'.repeat(64);
    const refused = new ForbiddenException('approving this action requires one of the roles: reviewer');
    await expect(t.service.approve('a1', security, 'ok', stale, now)).rejects.toThrow(refused);
    await expect(t.service.reject('a1', security, 'no', stale, now)).rejects.toThrow(
      new ForbiddenException('rejecting this action requires one of the roles: reviewer'),
    );
    // A reviewer of the item hears that the view is stale; once decided, the outsider still hears only 403.
    await expect(t.service.approve('a1', alice, 'ok', stale, now)).rejects.toThrow(ConflictException);
    await t.service.reject('a1', alice, 'no evidence of damage', undefined, now);
    await expect(t.service.approve('a1', security, 'ok', undefined, now)).rejects.toThrow(refused);
  });

  it('only a human holding one of the item’s roles: any other reviewer, or a service, is refused and the item waits', async () => {
    const t = await setup();
    const security = { id: 'sam', kind: 'human' as const, roles: ['security'] };
    await expect(t.service.reject('a1', security, 'not mine to judge', undefined, now)).rejects.toThrow(
      new ForbiddenException('rejecting this action requires one of the roles: reviewer'),
    );
    await expect(t.service.reject('a1', { id: 'bot', kind: 'service' as const, roles: ['reviewer'] }, 'automated', undefined, now)).rejects.toThrow(
      new ForbiddenException('only a human can reject an action'),
    );
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(t.decisions()).toEqual([]);
    await t.service.reject('a1', alice, 'no evidence of damage', undefined, now);
    expect(await t.items.get('a1')).toMatchObject({ status: 'rejected', deciders: ['alice'] });
  });
});

describe('ApprovalService: a reviewer bound to tenants decides only their items (ADR 0052)', () => {
  it('answers an item of another tenant as an unknown one (404 alike, nothing else told), approving, rejecting or assessing, and records nothing', async () => {
    const t = await setup();
    const dana = { id: 'dana', kind: 'human' as const, roles: ['reviewer'], tenants: ['globex'] };
    const stale = 'f'.repeat(64);
    const unknown = new NotFoundException('no review item for action no-such');
    await expect(t.service.approve('no-such', dana, 'ok', undefined, now)).rejects.toThrow(unknown);
    // The item is acme's: the same 404 as for an id nobody proposed, before a stale view (409), its kind or its roles.
    await expect(t.service.approve('a1', dana, 'ok', stale, now)).rejects.toThrow(new NotFoundException('no review item for action a1'));
    await expect(t.service.reject('a1', dana, 'no', undefined, now)).rejects.toThrow(new NotFoundException('no review item for action a1'));
    await expect(t.service.assess('a1', dana, 'agree', 'fine', undefined, now)).rejects.toThrow(NotFoundException);
    // Spelled otherwise is another tenant: bound to `Acme`, the `acme` item is not theirs.
    await expect(t.service.approve('a1', { ...dana, tenants: ['Acme'] }, 'ok', undefined, now)).rejects.toThrow(NotFoundException);
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(await t.items.approvals('a1')).toEqual([]);
    expect(t.decisions()).toEqual([]);
    // Bound to acme (among others), the same reviewer decides it.
    expect(await t.service.approve('a1', { ...dana, tenants: ['globex', 'acme'] }, 'photo shows the damage', undefined, now)).toMatchObject({
      status: 'approved',
      approvers: ['dana'],
    });
  });
});

describe('ApprovalService: a decision made while the bus is down is not lost', () => {
  const later = (ms: number) => new Date(now.getTime() + ms);

  it('keeps a rejection whose event could not be published, and the sweeper publishes it once the bus is back', async () => {
    const t = await setup();
    t.bus.down = true;
    const failed = await t.service.reject('a1', alice, 'no evidence of damage', undefined, now).catch((e: unknown) => e);
    // The reviewer's call fails as a dependency outage (503), but the decision stands.
    expect(isDependencyFailure(failed)).toBe(true);
    expect((await t.items.get('a1'))!.status).toBe('rejected');
    expect(await t.outbox.sweep(later(10_000))).toBe(0); // still down: nothing, and no throw
    expect(t.decisions()).toHaveLength(0);

    t.bus.down = false;
    expect(await t.outbox.sweep(later(1_000))).toBe(0); // within the grace period the reviewer's own call publishes
    expect(await t.outbox.sweep(later(10_000))).toBe(1);
    expect(await t.outbox.sweep(later(20_000))).toBe(0); // published once, recorded
    const [rejected] = t.decisions();
    expect(t.decisions()).toHaveLength(1);
    expect(rejected).toMatchObject({ subject: 'a1', correlationId: 'c-a1', causationId: 'd-a1', actor: { id: 'alice' }, data: { decision: 'rejected' } });
    expect(verifyReviewDecision(rejected.data.signature!, t.keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'rejected', actionId: 'a1', digest, deciders: ['alice'] },
    });
  });

  it("answers the same reviewer's retry of the same decision with what was decided (200, not 409), and publishes it then", async () => {
    const t = await setup();
    t.bus.down = true;
    await expect(t.service.approve('a1', alice, 'photo shows the damage', undefined, now)).rejects.toThrow(/kafka is down/);
    await expect(t.service.approve('a1', alice, 'photo shows the damage', undefined, later(1_000))).rejects.toThrow(/kafka is down/);
    t.bus.down = false;
    expect(await t.service.approve('a1', alice, 'photo shows the damage', undefined, later(2_000))).toEqual({ status: 'approved', approvers: ['alice'] });
    expect(await t.service.approve('a1', alice, 'photo shows the damage', undefined, later(3_000))).toEqual({ status: 'approved', approvers: ['alice'] });
    expect(await t.outbox.sweep(later(60_000))).toBe(0);
    // One event, the one signed at the decision (not at a retry).
    const [approved] = t.decisions();
    expect(t.decisions()).toHaveLength(1);
    expect(verifyReviewDecision(approved.data.signature!, t.keys, now)).toMatchObject({ ok: true, claims: { issuedAt: now.toISOString() } });
    // Anyone else, or another decision, still finds it decided.
    const bob = { id: 'bob', kind: 'human' as const, roles: ['reviewer'] };
    await expect(t.service.approve('a1', bob, 'fine by me', undefined, now)).rejects.toThrow(ConflictException);
    await expect(t.service.reject('a1', alice, 'changed my mind', undefined, now)).rejects.toThrow(/already decided/);
    expect(t.decisions()).toHaveLength(1);
  });

  it('does the same for a rejection, an assessment and the approver of a quorum', async () => {
    const t = await setup();
    const bob = { id: 'bob', kind: 'human' as const, roles: ['reviewer'] };
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    await t.items.add({ ...t.item('s1'), kind: 'audit-sample', requiredRoles: [] });
    expect(await t.service.approve('q1', alice, 'first of two', undefined, now)).toMatchObject({ status: 'awaiting-quorum' });
    t.bus.down = true;
    await expect(t.service.approve('q1', bob, 'second of two', undefined, now)).rejects.toThrow(/kafka is down/);
    await expect(t.service.reject('a2', alice, 'no evidence', undefined, now)).rejects.toThrow(/kafka is down/);
    await expect(t.service.assess('s1', alice, 'agree', 'right lane', undefined, now)).rejects.toThrow(/kafka is down/);
    t.bus.down = false;
    expect(await t.service.approve('q1', alice, 'first of two', undefined, now)).toEqual({ status: 'approved', approvers: ['alice', 'bob'] });
    await t.service.reject('a2', alice, 'no evidence', undefined, now);
    await t.service.assess('s1', alice, 'agree', 'right lane', undefined, now);
    await expect(t.service.assess('s1', alice, 'disagree', 'wrong lane', undefined, now)).rejects.toThrow(/already decided/);
    expect(t.decisions().map((d) => [d.subject, d.data.decision])).toEqual([
      ['q1', 'approved'],
      ['a2', 'rejected'],
    ]);
    expect(t.bus.published.filter((p) => p.topic === TOPICS.sampleAssessed).map((p) => p.event.subject)).toEqual(['s1']);
    expect(await t.outbox.sweep(later(60_000))).toBe(0);
  });

  it('lets only a person holding one of its roles assess an audit sample, as a rejection', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('s2'), kind: 'audit-sample', requiredRoles: ['reviewer'] });
    const service = { id: 'svc', kind: 'service' as const, roles: ['reviewer'] };
    const security = { id: 'sam', kind: 'human' as const, roles: ['security'] };
    await expect(t.service.assess('s2', service, 'agree', 'right lane', undefined, now)).rejects.toThrow('only a human can assess an action');
    await expect(t.service.assess('s2', security, 'agree', 'right lane', undefined, now)).rejects.toBeInstanceOf(ForbiddenException);
    expect((await t.items.get('s2'))?.status).toBe('pending');
    await t.service.assess('s2', alice, 'disagree', 'should have been reviewed', undefined, now);
    expect((await t.items.get('s2'))?.status).toBe('disagreed');
  });

  it("refuses an assessment to a person allowed to propose as the sample's agent, either verdict (red team, 2026-12-07)", async () => {
    const t = await setup();
    await t.items.add({ ...t.item('s3'), kind: 'audit-sample', requiredRoles: ['reviewer'] });
    const hank = { id: 'hank', kind: 'human' as const, roles: ['reviewer'], agentIds: ['support-copilot'] };
    for (const verdict of ['agree', 'disagree'] as const)
      await expect(t.service.assess('s3', hank, verdict, 'my own bot', undefined, now)).rejects.toThrow(
        new ForbiddenException('separation of duties: the proposer of an action cannot assess it'),
      );
    expect((await t.items.get('s3'))?.status).toBe('pending');
    await t.service.assess('s3', alice, 'agree', 'right lane', undefined, now);
    expect((await t.items.get('s3'))?.status).toBe('agreed');
  });
});

describe('ApprovalService: a quorum reached but not decided (a crash between the two writes)', () => {
  it("completes the decision on the approver's retry, instead of refusing an approval it has already counted", async () => {
    const t = await setup();
    // The approval was stored, then the process died before the decision was: the item still waits.
    await t.items.addApproval('a1', 'alice', 'checked the order');
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending', approvedBy: ['alice'] });
    expect(await t.service.approve('a1', alice, 'checked the order', undefined, now)).toEqual({ status: 'approved', approvers: ['alice'] });
    expect(await t.items.get('a1')).toMatchObject({ status: 'approved', deciders: ['alice'] });
    expect(t.decisions().map((d) => [d.subject, d.data.decision])).toEqual([['a1', 'approved']]);
  });
});

describe('ApprovalService: no valid signing key (ADR 0019)', () => {
  it('answers 503 before recording anything, and the same decision succeeds once the keys file is rotated', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    const expired = generateSigningKey('rq-old', { notBefore: new Date(now.getTime() - 7_200_000), notAfter: new Date(now.getTime() - 60_000) });
    const rotated = generateSigningKey('rq-new', { notBefore: new Date(now.getTime() - 1_000), notAfter: new Date(now.getTime() + 3_600_000) });
    // A watched keys file, as the main gives it: what it lists is read again at each decision.
    let listed = [expired.signing];
    const service = new ApprovalService(t.bus, t.items, { keys: () => listed }, t.outbox);

    for (const attempt of [() => service.approve('q1', alice, 'looks right', undefined, now), () => service.reject('a2', alice, 'no', undefined, now)]) {
      await expect(attempt()).rejects.toMatchObject({
        status: 503,
        message: expect.stringMatching(/^decisions cannot be signed now, nothing was recorded: no review-decision signing key is valid .*rq-old/),
      });
    }
    // Nothing half done: no approval counted toward the quorum, nothing decided, nothing published.
    expect((await t.items.get('q1'))?.approvedBy ?? []).toEqual([]);
    expect((await t.items.get('a2'))?.status).toBe('pending');
    expect(t.decisions()).toEqual([]);

    listed = [rotated.signing];
    expect(await service.approve('q1', alice, 'looks right', undefined, now)).toMatchObject({ status: 'awaiting-quorum', approvers: ['alice'] });
    await service.reject('a2', alice, 'no', undefined, now);
    const [rejected] = t.decisions();
    expect(verifyReviewDecision(rejected.data.signature!, [rotated.verifyKey], now)).toMatchObject({ ok: true, claims: { kid: 'rq-new' } });
  });
});

describe('ApprovalService: the approval completing a quorum, with the decision, in one write (ADR 0028)', () => {
  const bob = { id: 'bob', kind: 'human' as const, roles: ['reviewer'] };
  const carol = { id: 'carol', kind: 'human' as const, roles: ['reviewer'] };

  it('signs for every approver of the quorum, in order, with their reasons, and counts each approval once', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q2'), quorum: 2 });
    expect(await t.service.approve('q2', alice, 'first look', undefined, now)).toEqual({ status: 'awaiting-quorum', approvers: ['alice'], quorum: 2 });
    expect(await t.service.approve('q2', bob, 'second look', undefined, now)).toEqual({ status: 'approved', approvers: ['alice', 'bob'] });
    expect((await t.items.approvals('q2')).map((a) => [a.approver, a.reason])).toEqual([
      ['alice', 'first look'],
      ['bob', 'second look'],
    ]);
    const [decided] = t.decisions();
    expect(verifyReviewDecision(decided.data.signature!, t.keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'approved', actionId: 'q2', deciders: ['alice', 'bob'], reasons: ['first look', 'second look'] },
    });
  });

  it('when another approval lands between the read and the write, writes nothing and goes the way of a quorum: no approval lost, none counted twice', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q3'), quorum: 2 });
    await t.items.addApproval('q3', 'alice', 'first');
    // Carol's approval completes the quorum as her call reads it (Alice so far); Bob's lands right after that read.
    // Her one write finds the approvers changed and writes nothing; her call then counts her approval after Bob's.
    const read = t.items.approvals.bind(t.items);
    let once = true;
    t.items.approvals = async (id: string) => {
      const approvals = await read(id);
      if (once) {
        once = false;
        await t.items.addApproval('q3', 'bob', 'second');
      }
      return approvals;
    };
    expect(await t.service.approve('q3', carol, 'third', undefined, now)).toEqual({ status: 'approved', approvers: ['alice', 'bob', 'carol'] });
    expect(once).toBe(false);
    expect((await read('q3')).map((a) => a.approver)).toEqual(['alice', 'bob', 'carol']);
    expect(t.decisions().map((d) => d.data.reviewers.map((r) => r.id))).toEqual([['alice', 'bob', 'carol']]);
  });

  it("refuses (409) when another reviewer's claim was taken between the read and the write, and decides nothing", async () => {
    const t = await setup();
    const read = t.items.get.bind(t.items);
    let once = true;
    t.items.get = async (id: string) => {
      const item = await read(id);
      if (once) {
        once = false;
        await t.items.claim(id, { by: 'bob', name: 'Bob', until: new Date(now.getTime() + 300_000).toISOString() }, now);
      }
      return item;
    };
    await expect(t.service.approve('a1', alice, 'fine', undefined, now)).rejects.toThrow(/claimed by Bob/);
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(await t.items.approvals('a1')).toEqual([]);
    expect(t.decisions()).toEqual([]);
  });

  it('answers without waiting for the published mark, which lands after; a mark that fails leaves the event to the sweeper', async () => {
    const t = await setup();
    let release!: () => void;
    const marked = new Promise<void>((r) => (release = r));
    const mark = t.items.markPublished.bind(t.items);
    const attempts: string[] = [];
    t.items.markPublished = async (id: string, at: Date) => {
      await marked;
      attempts.push(id);
      if (id === 'a2') throw new Error('PostgreSQL went away');
      return mark(id, at);
    };
    await t.service.approve('a1', alice, 'fine', undefined, now);
    await t.service.approve('a2', alice, 'fine', undefined, now);
    expect(t.decisions().map((d) => d.subject)).toEqual(['a1', 'a2']);
    expect((await t.items.decisionEvent('a1'))!.publishedAt).toBeUndefined();
    release();
    await eventually(async () => expect((await t.items.decisionEvent('a1'))!.publishedAt).toBeDefined());
    await eventually(() => expect(attempts.sort()).toEqual(['a1', 'a2']));
    // a2's mark failed: still unpublished, so the sweeper sends it again (its consumers drop the copy).
    expect((await t.items.decisionEvent('a2'))!.publishedAt).toBeUndefined();
    expect((await t.items.unpublished(new Date(Date.now() + 60_000), 10)).map((e) => e.actionId)).toEqual(['a2']);
  });
});

describe('ApprovalService: the due time is the end', () => {
  it('refuses an approval, a rejection and an approval racing the due time once it has passed, though the clock has not expired the item yet', async () => {
    const t = await setup();
    const due = new Date(now.getTime() + 3_600_000);
    for (const late of [due, new Date(due.getTime() + 52)]) {
      await expect(t.service.approve('a1', alice, 'looks right', undefined, late)).rejects.toThrow(
        /^action a1 is past its due time \(2026-11-24T11:00:00.000Z, sla_expired\)/,
      );
      await expect(t.service.reject('a2', alice, 'no evidence', undefined, late)).rejects.toBeInstanceOf(ConflictException);
    }
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(await t.items.get('a2')).toMatchObject({ status: 'pending' });
    expect(t.decisions()).toEqual([]);
    // A millisecond before it, a decision is still on time.
    await expect(t.service.approve('a1', alice, 'looks right', undefined, new Date(due.getTime() - 1))).resolves.toMatchObject({ status: 'approved' });
  });
});

describe('ApprovalService: every approval is on the record, with how its reviewer signed in (red team, 2026-12-05)', () => {
  const bob = { id: 'bob', kind: 'human' as const, roles: ['reviewer'], authMethod: 'oidc' as const, amr: ['pwd', 'mfa'] };
  const recorded = (t: Awaited<ReturnType<typeof setup>>) =>
    t.bus.published.filter((p) => p.topic === TOPICS.approvalRecorded).map((p) => TOPIC_SCHEMAS[TOPICS.approvalRecorded].parse(p.event));

  it('publishes an approval short of the quorum, sealed, before another reviewer rejects: both are on the record', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    expect(await t.service.approve('q1', bob, 'customer history checked', undefined, now)).toMatchObject({ status: 'awaiting-quorum' });
    await t.service.reject('q1', alice, 'the receipt is forged', undefined, now);
    const [approval] = recorded(t);
    expect(approval).toMatchObject({
      subject: 'q1',
      causationId: 'd-q1',
      actor: { id: 'bob', kind: 'human', authMethod: 'oidc', amr: ['pwd', 'mfa'] },
      data: { reason: 'customer history checked', digest, approvers: ['bob'], quorum: 2 },
    });
    expect(approval.data.shownDigest).toMatch(/^[0-9a-f]{64}$/);
    // With the screen itself, which its digest reproduces: an auditor replays each approver's (red team, 2026-12-07).
    expect(approval.data.shown).toMatchObject({ actionId: 'q1' });
    expect(canonicalDigest(approval.data.shown)).toBe(approval.data.shownDigest);
    // Sealed as a fact by the decision key, and no approval token: the executor could not act on it.
    expect(approval.data.seal).toMatch(/^cf1\./);
    expect(verifyReviewDecision(approval.data.seal!, t.keys, now).ok).toBe(false);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['rejected']);
    // Stored with the approval (the clock's outbox) and marked published.
    await eventually(async () => expect(await t.items.unpublishedClockEvents(new Date(now.getTime() + 86_400_000), 10)).toEqual([]));
  });

  it("says whether the reviewer's client sent the digest of what it showed them, on every decision's event (auditor probe, 2026-12-06)", async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    await t.items.add(t.item('r1'));
    const seen = shownDigest(shownView({ ...(await t.items.get('q1'))!, status: 'pending' }));
    await t.service.approve('q1', bob, 'customer history checked', seen, now);
    await t.service.approve('q1', alice, 'receipt checked', undefined, now);
    await t.service.reject('r1', alice, 'the receipt is forged', undefined, now);
    expect(recorded(t).map((e) => e.data.shownEchoed)).toEqual([true]);
    expect(t.decisions().map((d) => [d.subject, d.data.shownEchoed])).toEqual([
      ['q1', false],
      ['r1', false],
    ]);
    await t.items.add(t.item('r2'));
    await t.service.reject('r2', alice, 'the receipt is forged', shownDigest(shownView({ ...(await t.items.get('r2'))!, status: 'pending' })), now);
    expect(t.decisions().at(-1)?.data).toMatchObject({ shownEchoed: true });
  });

  it('keeps the event of a partial approval the bus could not take, for the clock to publish later, and the approval stands', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    const publish = t.bus.publish.bind(t.bus);
    t.bus.publish = async () => {
      throw new Error('bus down');
    };
    // The approval is made: the call succeeds (a failure would make the reviewer's retry a 409 for an approval made).
    expect(await t.service.approve('q1', bob, 'customer history checked', undefined, now)).toMatchObject({ status: 'awaiting-quorum' });
    t.bus.publish = publish;
    const left = await t.items.unpublishedClockEvents(new Date(Date.now() + 1000), 10);
    expect(left.map((e) => [e.topic, e.actionId, e.event.actor.id])).toEqual([[TOPICS.approvalRecorded, 'q1', 'bob']]);
    expect((await t.items.approvals('q1')).map((a) => a.approver)).toEqual(['bob']);
  });

  it('names each earlier approver of a quorum as they signed in, not as bearer-token', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 3 });
    const carol = { id: 'carol', kind: 'human' as const, roles: ['reviewer'] };
    await t.service.approve('q1', bob, 'first of three', undefined, now);
    await t.service.approve('q1', carol, 'second of three', undefined, now);
    await t.service.approve('q1', alice, 'third of three', undefined, now);
    expect(recorded(t).map((e) => [e.actor.id, e.data.approvers])).toEqual([
      ['bob', ['bob']],
      ['carol', ['bob', 'carol']],
    ]);
    const [decided] = t.decisions();
    expect(decided.data.reviewers).toEqual([
      { id: 'bob', kind: 'human', authMethod: 'oidc', amr: ['pwd', 'mfa'] },
      { id: 'carol', kind: 'human', authMethod: 'bearer-token' },
      { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'bearer-token' },
    ]);
  });

  it("names the deciding reviewer's second factor and sign-in time in the decision's actor and reviewers (security probe M3)", async () => {
    const t = await setup();
    await t.items.add({ ...t.item('c1'), slaClass: 'critical' });
    const signedInAt = now.getTime() - 60_000;
    const dora = { id: 'dora', kind: 'human' as const, roles: ['reviewer'], authMethod: 'oidc' as const, amr: ['pwd', 'otp', 'mfa'], authTime: signedInAt };
    await t.service.approve('c1', dora, 'step-up given, refund checked', undefined, now);
    await t.service.reject('a2', dora, 'no evidence of damage', undefined, now);
    const signedIn = { id: 'dora', kind: 'human', roles: ['reviewer'], authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: signedInAt };
    const [approved, rejected] = t.decisions();
    for (const decided of [approved, rejected]) {
      expect(decided.actor).toEqual(signedIn);
      expect(decided.data.reviewers).toEqual([signedIn]);
    }
    expect(approved).toMatchObject({ subject: 'c1', data: { decision: 'approved' } });
  });

  it("names the deciding reviewer's second factor beside the earlier approvers' when they complete a quorum", async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    const dora = { id: 'dora', kind: 'human' as const, roles: ['reviewer'], authMethod: 'oidc' as const, amr: ['pwd', 'otp', 'mfa'], authTime: now.getTime() };
    await t.service.approve('q1', bob, 'first of two', undefined, now);
    await t.service.approve('q1', dora, 'second of two', undefined, now);
    const [decided] = t.decisions();
    expect(decided.actor).toMatchObject({ id: 'dora', authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: now.getTime() });
    expect(decided.data.reviewers.map((r) => [r.id, r.amr])).toEqual([
      ['bob', ['pwd', 'mfa']],
      ['dora', ['pwd', 'otp', 'mfa']],
    ]);
  });

  it('names the assessing reviewer as they signed in', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('s1'), kind: 'audit-sample' });
    await t.service.assess('s1', bob, 'agree', 'fine', undefined, now);
    const [assessed] = t.bus.published.filter((p) => p.topic === TOPICS.sampleAssessed).map((p) => TOPIC_SCHEMAS[TOPICS.sampleAssessed].parse(p.event));
    expect(assessed.actor).toEqual({ id: 'bob', kind: 'human', roles: ['reviewer'], authMethod: 'oidc', amr: ['pwd', 'mfa'] });
    expect(assessed.data.reviewers).toEqual([assessed.actor]);
  });

  it('names an earlier approver recorded before the method was kept without a method: unknown, never guessed', async () => {
    const t = await setup();
    await t.items.add({ ...t.item('q1'), quorum: 2 });
    // As a row from before migration 0010: no method kept.
    await t.items.addApproval('q1', 'bob', 'approved last week');
    expect(await t.items.approvals('q1')).toMatchObject([{ approver: 'bob', authMethod: 'unknown' }]);
    await t.service.approve('q1', alice, 'second of two', undefined, now);
    expect(t.decisions()[0].data.reviewers[0]).toEqual({ id: 'bob', kind: 'human' });
  });
});

describe('ApprovalService: the approval latency a lead reads (auditor probe, 2026-12-07)', () => {
  it('observes an approval from its action being first queued: a version made by approve with changes from its first version', async () => {
    const t = await setup();
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    (t.service as unknown as { metrics: Metrics }).metrics = metrics;
    // bob revised a version queued 10 minutes before this one: its approval a second later took 601 s, not 1 s.
    await t.items.add({ ...t.item('v2'), authoredBy: ['bob'], firstQueuedAt: new Date(Date.parse(t.item('v2').createdAt) - 600_000).toISOString() });
    await t.service.approve('a1', alice, 'photo shows the damage', undefined, new Date(now.getTime() + 60_000));
    await t.service.approve('v2', alice, 'narrowed by bob, fine', undefined, new Date(now.getTime() + 1_000));
    const samples = parsePrometheusText(await metrics.render());
    expect(sampleSum(samples, 'countersign_review_decisions_total', { decision: 'approved' })).toBe(2);
    expect(sampleSum(samples, 'countersign_review_approval_latency_seconds_count', { decision: 'approved' })).toBe(2);
    expect(sampleSum(samples, 'countersign_review_approval_latency_seconds_sum', { decision: 'approved' })).toBe(60 + 601);
  });
});
