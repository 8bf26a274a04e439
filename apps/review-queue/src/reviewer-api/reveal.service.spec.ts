import { ConflictException, ForbiddenException, HttpException } from '@nestjs/common';
import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { actionDigest, Proposal, TOPICS, TopicMap } from '@countersign/contracts';
import { SECRET_SHOWN } from '@countersign/guardrails';
import { TokenBuckets } from '@countersign/limits';
import { Principal } from '@countersign/nest';
import { refundProposal, RecordingBus, reviewLaneDecision, sealTestDecision, testPolicyEngineKey } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { ReviewConsumer } from '../queue/review.consumer';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { PII_VIEW, RevealService } from './reveal.service';

// real: intake (ReviewConsumer), RevealService, ApprovalService, AES-GCM sealing, the in-memory review queue, the
// in-memory bus (recording what it is given to publish); fake: nothing.
const newEmail = 'maria.lopez@example.org';
const emailChange: Proposal = { ...refundProposal(), actionType: 'account.email_change', target: 'customer-42', parameters: { newEmail } };
const carol: Principal = { id: 'carol', kind: 'human', roles: ['reviewer', PII_VIEW] };
const alice: Principal = { id: 'alice', kind: 'human', roles: ['reviewer'] };

/** The policy decision that queues the e-mail change for review (the shared fixture, this proposal under contract 7). */
const decided = (actionId: string, proposal: Proposal) =>
  sealTestDecision({
    ...reviewLaneDecision(actionId, {
      reasons: ['e-mail changes are reviewed'],
      contractVersion: '7',
      digest: actionDigest(proposal, '7'),
      proposal,
      review: { slaClass: 'high', slaSeconds: 900, requiredRoles: ['reviewer'], quorum: 1 },
    }),
    id: `decision-${actionId}`,
  });

async function setup() {
  const bus = new RecordingBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });
  const published = bus.published;
  const items = new InMemoryReviewItemRepository();
  const sealer = new ProposalSealer(parseReviewDataKey(generateReviewDataKey()));
  const intake = new ReviewConsumer(items, pino({ level: 'silent' }), sealer, [testPolicyEngineKey.verifyKey]);
  const reveals = new RevealService(items, sealer, bus);
  const approvals = new ApprovalService(bus, items, generateSigningKey('k1').signing, new DecisionOutbox(bus, items, pino({ level: 'silent' })));
  await intake.enqueue(decided('a1', emailChange));
  return { published, items, sealer, intake, reveals, approvals };
}

describe('revealing the real values of a review item', () => {
  it('lets one reviewer reveal at most its rate (429 with Retry-After past it, nothing published), and another reviewer go on', async () => {
    const { reveals, published, intake } = await setup();
    await intake.enqueue(decided('a2', emailChange));
    let now = 0;
    reveals.rate = new TokenBuckets({ perSecond: 0.5, burst: 2 }, () => now);
    await reveals.reveal('a1', carol);
    await reveals.reveal('a2', carol);
    const refused = await reveals.reveal('a1', carol).catch((e: HttpException) => e);
    expect(refused).toBeInstanceOf(HttpException);
    expect((refused as HttpException).getStatus()).toBe(429);
    expect((refused as HttpException).getResponse()).toMatchObject({
      retryAfter: 2,
      message: 'reviewer carol asks for reveals faster than allowed (2 at once, then one every 2 s): retry after 2 s',
    });
    expect(published.filter((p) => p.topic === TOPICS.reviewDataRevealed)).toHaveLength(2);
    const dave: Principal = { id: 'dave', kind: 'human', roles: ['reviewer', PII_VIEW] };
    await expect(reveals.reveal('a1', dave)).resolves.toMatchObject({ item: { actionId: 'a1' } });
    now += 2_000;
    await expect(reveals.reveal('a1', carol)).resolves.toMatchObject({ item: { actionId: 'a1' } });
  });

  it('keeps the item masked at rest, the real proposal only sealed beside it', async () => {
    const { items } = await setup();
    const stored = (await items.get('a1'))!;
    expect(stored.proposal.parameters.newEmail).toBe('m***@[email]');
    expect(stored.sealed).toMatch(/^v1\./);
    expect(JSON.stringify(stored)).not.toContain(newEmail);
  });

  it('shows a reviewer holding pii:view the real address, and audits the reveal without the value', async () => {
    const { reveals, published } = await setup();
    const { proposal } = await reveals.reveal('a1', carol);
    expect(proposal.parameters.newEmail).toBe(newEmail);
    expect(published).toHaveLength(1);
    const { topic, event } = published[0];
    expect(topic).toBe(TOPICS.reviewDataRevealed);
    expect(event).toMatchObject({ subject: 'a1', correlationId: 'c-a1', causationId: 'decision-a1', actor: { id: 'carol', kind: 'human' } });
    expect(event.data).toEqual({ digest: actionDigest(emailChange, '7'), findings: [{ kind: 'email', path: '/parameters/newEmail' }] });
    expect(JSON.stringify(event)).not.toContain(newEmail);
    // A second reveal is a second audit entry, not a duplicate of the first.
    await reveals.reveal('a1', carol);
    expect(new Set(published.map((p) => p.event.id)).size).toBe(2);
  });

  it('audits the reveal with how the reviewer signed in: method, second factor and time (security probe M3)', async () => {
    const { reveals, published } = await setup();
    const signedIn: Principal = { ...carol, authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: 1_795_000_000_000 };
    await reveals.reveal('a1', signedIn);
    expect(published[0].event.actor).toEqual({
      id: 'carol',
      kind: 'human',
      roles: ['reviewer', PII_VIEW],
      authMethod: 'oidc',
      amr: ['pwd', 'otp', 'mfa'],
      authTime: 1_795_000_000_000,
    });
  });

  it('keeps a scoped token (a bearer credential) from the card at rest and from the reveal, and executes with it', async () => {
    const { intake, items, reveals, sealer } = await setup();
    const scopedToken = 'cst1.permission.change.1798761600.c2VjcmV0LWhtYWM';
    const change: Proposal = { ...refundProposal(), actionType: 'permission.change', target: 'user-7', parameters: { role: 'admin' }, scopedToken };
    await intake.enqueue(decided('a2', change));
    const stored = (await items.get('a2'))!;
    expect(stored.proposal.scopedToken).toBe(SECRET_SHOWN);
    expect((await reveals.reveal('a2', carol)).proposal.scopedToken).toBe(SECRET_SHOWN);
    // The sealed copy keeps it: approve with changes builds the new version from it.
    expect(sealer.open('a2', stored.sealed!).scopedToken).toBe(scopedToken);
  });

  it('refuses a reviewer without pii:view (403) and an agent, and shows nothing', async () => {
    const { reveals, published } = await setup();
    await expect(reveals.reveal('a1', alice)).rejects.toBeInstanceOf(ForbiddenException);
    await expect(reveals.reveal('a1', { id: 'bot', kind: 'agent', roles: ['reviewer', PII_VIEW] })).rejects.toBeInstanceOf(ForbiddenException);
    expect(published).toEqual([]);
  });

  it('the approval binds to the digest of the real content that was revealed', async () => {
    const { reveals, approvals, published } = await setup();
    const { proposal } = await reveals.reveal('a1', carol);
    await approvals.approve('a1', carol, 'customer confirmed the new address by phone');
    const decision = published.find((p) => p.topic === TOPICS.reviewDecided)!.event as TopicMap[typeof TOPICS.reviewDecided];
    expect(decision.data.digest).toBe(actionDigest(proposal, '7'));
    expect(JSON.stringify(decision)).not.toContain(newEmail);
  });

  it('shows nothing when the sealed copy belongs to another item or another key, or the item is decided', async () => {
    const { reveals, items, sealer, published } = await setup();
    const other = await setup();
    const moved = { ...(await items.get('a1'))!, actionId: 'a2', decisionEventId: 'decision-a2' };
    await items.add(moved); // a1's sealed copy beside a2
    await expect(reveals.reveal('a2', carol)).rejects.toBeInstanceOf(ConflictException);
    await expect(other.reveals.reveal('a1', carol)).resolves.toBeDefined();
    await items.add({ ...(await other.items.get('a1'))!, actionId: 'a3', sealed: other.sealer.seal('a3', emailChange) });
    await expect(reveals.reveal('a3', carol)).rejects.toThrow(/another key/);
    await items.add({
      ...(await items.get('a1'))!,
      actionId: 'a4',
      sealed: sealer.seal('a4', { ...emailChange, parameters: { newEmail: 'eve@example.org' } }),
    });
    await expect(reveals.reveal('a4', carol)).rejects.toThrow(/does not match its digest/);
    await items.decide('a1', 'rejected', ['bob'], 'no', new Date());
    await expect(reveals.reveal('a1', carol)).rejects.toThrow(/already decided/);
    expect(published).toEqual([]);
  });
});
