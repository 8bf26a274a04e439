import pino from 'pino';
import { generateSigningKey, signReviewDecision } from '@countersign/approval';
import { RefusedEvent } from '@countersign/bus';
import { actionDigest, revisedActionId, TOPICS, TopicMap } from '@countersign/contracts';
import { RecordingBus, smallRefundProposal } from '@countersign/testing';
import { RevisionsService } from './revisions.service';

// real: RevisionsService, the review queue's Ed25519 revision tokens (a key made here), the action digest, the in-memory
// bus (recording what it is given); fake: nothing (the revision events are built here, as the review queue builds them).
const reviewQueue = generateSigningKey('approvals-test');
const contractVersion = '2026.12.7';

/** Reviewer alice's revision of action a-1 (approve with changes), its token issued at `issuedAt`. */
function revisionIssuedAt(issuedAt: Date): TopicMap[typeof TOPICS.proposalRevised] {
  const id = `rev-${issuedAt.getTime()}`;
  const proposal = smallRefundProposal('order-77');
  const bound = {
    newActionId: revisedActionId(id),
    revisedDigest: actionDigest(proposal, contractVersion),
    proposerPrincipal: 'support-copilot',
    contractVersion,
  };
  const digest = 'a'.repeat(64);
  const signature = signReviewDecision(reviewQueue.signing, {
    decision: 'revised',
    actionId: 'a-1',
    digest,
    deciders: ['alice'],
    reasons: ['a smaller refund'],
    issuedAt: issuedAt.toISOString(),
    revision: bound,
  });
  return {
    id,
    type: TOPICS.proposalRevised,
    version: 1,
    source: 'review-queue',
    time: issuedAt.toISOString(),
    subject: 'a-1',
    correlationId: 'c-1',
    causationId: 'q-1',
    actor: { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc' },
    data: { ...bound, digest, proposal, changed: ['/parameters/amount'], reason: 'a smaller refund', signature },
  };
}

describe('a revision becomes a new action only as the review queue of today signed it', () => {
  it('creates the new action from a revision issued now, and none from one issued days back (a retired key dates it back: red team, 2026-12-05)', async () => {
    const bus = new RecordingBus({ source: 'orchestrator', logger: pino({ level: 'silent' }) });
    const service = new RevisionsService(bus, [reviewQueue.verifyKey]);
    const now = revisionIssuedAt(new Date());
    await service.onProposalRevised(now);
    expect(bus.published.filter((p) => p.topic === TOPICS.actionProposed).map((p) => p.event.subject)).toEqual([now.data.newActionId]);
    const datedBack = revisionIssuedAt(new Date(Date.now() - 2 * 86_400_000));
    await expect(service.onProposalRevised(datedBack)).rejects.toThrow(RefusedEvent);
    await expect(service.onProposalRevised(datedBack)).rejects.toThrow(/more than 24 h ago: not acted on/);
    expect(bus.published.filter((p) => p.topic === TOPICS.actionProposed)).toHaveLength(1);
  });
});
