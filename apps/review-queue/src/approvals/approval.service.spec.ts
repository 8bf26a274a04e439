import pino from 'pino';
import { ConflictException } from '@nestjs/common';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { isDependencyFailure } from '@countersign/bus';
import { TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { refundProposal, RecordingBus } from '@countersign/testing';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { ReviewItem } from '../review-item/review-item.repository';
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
    await expect(t.service.reject('a1', alice, 'changed my mind', undefined, now)).rejects.toThrow(/already approved/);
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
    await expect(t.service.assess('s1', alice, 'disagree', 'wrong lane', undefined, now)).rejects.toThrow(/already agreed/);
    expect(t.decisions().map((d) => [d.subject, d.data.decision])).toEqual([
      ['q1', 'approved'],
      ['a2', 'rejected'],
    ]);
    expect(t.bus.published.filter((p) => p.topic === TOPICS.sampleAssessed).map((p) => p.event.subject)).toEqual(['s1']);
    expect(await t.outbox.sweep(later(60_000))).toBe(0);
  });
});
