import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { maskText } from '@countersign/guardrails';
import { DecisionSigner, signReviewDecision } from '@countersign/approval';
import { EventBus } from '@countersign/bus';
import { Actor, TOPICS } from '@countersign/contracts';
import { EVENT_BUS, Principal } from '@countersign/nest';
import { queuedBy, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { shownDigest, shownView } from '../review-item/shown';
import { APPROVAL_SIGNING_KEY, REVIEW_ITEMS } from '../tokens';

/** How long a signed approval stays valid for the executor. */
export const APPROVAL_TTL_MS = 60 * 60 * 1000;

export type ApproveResult = { status: 'approved'; approvers: string[] } | { status: 'awaiting-quorum'; approvers: string[]; quorum: number };

/**
 * Human decisions on review items. Only a human moves an action to `approved`; the proposer never can.
 * Every decision is published with a token signed by the review queue's key, bound to the action id, the
 * digest and the decision: the executor acts on no decision, approval or rejection, that does not verify.
 */
@Injectable()
export class ApprovalService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
  ) {}

  async approve(actionId: string, reviewer: Principal, reason: string, seenDigest?: string, now = new Date()): Promise<ApproveResult> {
    const item = await this.pendingItem(actionId, seenDigest);
    if (reviewer.id === item.proposerPrincipal || reviewer.id === item.proposal.proposer.agentId) {
      throw new ForbiddenException('separation of duties: the proposer of an action cannot approve it');
    }
    if (reviewer.kind !== 'human') throw new ForbiddenException('only a human can approve an action');
    if (item.requiredRoles.length && !item.requiredRoles.some((r) => reviewer.roles.includes(r))) {
      throw new ForbiddenException(`approving this action requires one of the roles: ${item.requiredRoles.join(', ')}`);
    }
    const approvals = await this.items.addApproval(actionId, reviewer.id, reason);
    if (approvals.length < item.quorum) return { status: 'awaiting-quorum', approvers: approvals.map((a) => a.approver), quorum: item.quorum };
    const approvers = approvals.map((a) => a.approver);
    const decided = await this.items.decide(actionId, 'approved', approvers, reason, now);
    if (!decided) throw new ConflictException(`action ${actionId} was decided meanwhile`);
    const token = signReviewDecision(this.key, {
      decision: 'approved',
      actionId,
      digest: item.digest,
      deciders: approvers,
      // The token is base64: masking downstream cannot see into it, so regulated data is masked before signing.
      reasons: approvals.map((a) => maskText(a.reason)),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + APPROVAL_TTL_MS).toISOString(),
    });
    await this.publish(item, decided, 'approved', reviewer, approvers, reason, token);
    return { status: 'approved', approvers };
  }

  async reject(actionId: string, reviewer: Principal, reason: string, seenDigest?: string, now = new Date()): Promise<void> {
    const item = await this.pendingItem(actionId, seenDigest);
    const decided = await this.items.decide(actionId, 'rejected', [reviewer.id], reason, now);
    if (!decided) throw new ConflictException(`action ${actionId} was decided meanwhile`);
    // A rejection is final, so its token needs no expiry; signed all the same, or a forged one could block a genuine approval.
    const token = signReviewDecision(this.key, {
      decision: 'rejected',
      actionId,
      digest: item.digest,
      deciders: [reviewer.id],
      reasons: [maskText(reason)],
      issuedAt: now.toISOString(),
    });
    await this.publish(item, decided, 'rejected', reviewer, [reviewer.id], reason, token);
  }

  /** An after-the-fact check of a sampled autonomous action: agree or disagree, with a reason. */
  async assess(actionId: string, reviewer: Principal, verdict: 'agree' | 'disagree', reason: string, seenDigest?: string, now = new Date()): Promise<void> {
    const item = await this.pendingItem(actionId, seenDigest, 'audit-sample');
    const decided = await this.items.decide(actionId, verdict === 'agree' ? 'agreed' : 'disagreed', [reviewer.id], reason, now);
    if (!decided) throw new ConflictException(`action ${actionId} was assessed meanwhile`);
    const shown = shownView(item);
    // The reviewer is the actor of their assessment, not the service that records it.
    const actor: Actor = { id: reviewer.id, kind: 'human', roles: reviewer.roles, authMethod: 'bearer-token' };
    await this.bus.emit(
      TOPICS.sampleAssessed,
      { verdict, reason, reviewers: [actor], digest: item.digest, shown, shownDigest: shownDigest(shown) },
      { cause: queuedBy(item), actor },
    );
  }

  private async pendingItem(actionId: string, seenDigest?: string, kind: 'approval' | 'audit-sample' = 'approval'): Promise<ReviewItem> {
    const item = await this.items.get(actionId);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    if ((item.kind ?? 'approval') !== kind) {
      throw new ConflictException(
        kind === 'approval'
          ? 'this is an audit sample of an action that already ran: assess it (POST …/assess), there is nothing to approve'
          : 'this action waits for approval, not for an after-the-fact assessment',
      );
    }
    if (item.status !== 'pending') throw new ConflictException(`action ${actionId} is already ${item.status}`);
    if (seenDigest !== undefined && seenDigest !== shownDigest(shownView(item))) {
      throw new ConflictException('the review item changed since it was shown (shownDigest does not match): look again before deciding');
    }
    return item;
  }

  private async publish(
    shownItem: ReviewItem,
    item: ReviewItem,
    decision: 'approved' | 'rejected',
    reviewer: Principal,
    approvers: string[],
    reason: string,
    signature: string,
  ) {
    // What the reviewer decided on, as the API showed it while pending; the audit trail keeps it.
    const shown = shownView(shownItem);
    const actor = (id: string): Actor => ({ id, kind: 'human', authMethod: 'bearer-token', ...(id === reviewer.id ? { roles: reviewer.roles } : {}) });
    // The deciding reviewer is the actor of the decision (the last approver of a quorum).
    await this.bus.emit(
      TOPICS.reviewDecided,
      { decision, reviewers: approvers.map(actor), reason, digest: item.digest, signature, shown, shownDigest: shownDigest(shown) },
      { cause: queuedBy(item), actor: actor(reviewer.id) },
    );
  }
}
