import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { BusConsumer, LOGGER } from '@countersign/nest';
import type { Logger } from '@countersign/logging';
import { PROPOSAL_SEALER, REVIEW_ITEMS } from '../tokens';
import { ReviewItemRepository } from '../review-item/review-item.repository';
import { ProposalSealer } from '../review-item/sealed-proposal';

/** Puts every review-lane decision into the queue (once, whatever the redelivery). */
@Injectable()
export class ReviewConsumer extends BusConsumer {
  protected readonly group = 'review-queue.intake';

  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PROPOSAL_SEALER) private readonly sealer: ProposalSealer,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.policyDecided]: (e) => this.enqueue(e) };
  }

  async enqueue(e: TopicMap[typeof TOPICS.policyDecided]): Promise<void> {
    const sample = e.data.lane === 'autonomous' && e.data.sampledForAudit;
    if (e.data.lane !== 'review' && !sample) return;
    const review = (!sample && e.data.review) || { slaClass: 'normal', slaSeconds: 4 * 3600, requiredRoles: ['reviewer'], quorum: 1 };
    const now = new Date();
    const added = await this.items.add({
      kind: sample ? 'audit-sample' : 'approval',
      actionId: e.subject,
      correlationId: e.correlationId,
      decisionEventId: e.id,
      digest: e.data.digest,
      // Reviewers see regulated data masked; execution takes the unmasked proposal from the policy decision.
      proposal: maskDeep(e.data.proposal),
      // The real one stays sealed beside it, for a reviewer allowed to see it (pii:view).
      sealed: this.sealer.seal(e.subject, e.data.proposal),
      proposerPrincipal: e.data.proposerPrincipal,
      contractVersion: e.data.contractVersion,
      reasons: e.data.reasons,
      slaClass: review.slaClass,
      requiredRoles: review.requiredRoles,
      quorum: review.quorum,
      createdAt: now.toISOString(),
      dueAt: new Date(now.getTime() + review.slaSeconds * 1000).toISOString(),
      status: 'pending',
    });
    if (added) this.logger.info({ slaClass: review.slaClass }, 'queued for review');
  }
}
