import pino from 'pino';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { refundProposal, RecordingBus } from '@countersign/testing';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { ReviewItem } from '../review-item/review-item.repository';
import { ApprovalService } from './approval.service';

// real: ApprovalService, the in-memory review items, Ed25519 signing and verification, the in-memory bus (recording
// what it is given to publish); fake: nothing.
const digest = 'f'.repeat(64);
const now = new Date('2026-11-24T10:00:00.000Z');
const alice = { id: 'alice', kind: 'human' as const, roles: ['reviewer'] };

/** The real in-memory bus, keeping a list of what it published. */
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
  const service = new ApprovalService(bus, items, signing);
  const decisions = () => published.filter((p) => p.topic === TOPICS.reviewDecided).map((p) => TOPIC_SCHEMAS[TOPICS.reviewDecided].parse(p.event));
  return { service, decisions, keys: [verifyKey] };
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
