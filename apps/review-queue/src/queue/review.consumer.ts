import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, Subscription } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { maskDeep } from '@countersign/policy';
import { EVENT_BUS, LOGGER } from '@countersign/nest';
import type { Logger } from '@countersign/logging';
import { REVIEW_ITEMS } from '../tokens';
import { ReviewItemRepository } from './review-item.repository';

/** Puts every review-lane decision into the queue (once, whatever the redelivery). */
@Injectable()
export class ReviewConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap() {
    this.subscription = await this.bus.subscribe({
      group: 'review-queue.intake',
      handlers: { [TOPICS.policyDecided]: (e) => this.enqueue(e) },
    });
  }

  async enqueue(e: TopicMap[typeof TOPICS.policyDecided]): Promise<void> {
    if (e.data.lane !== 'review') return;
    const review = e.data.review ?? { slaClass: 'normal', slaSeconds: 4 * 3600, requiredRoles: ['reviewer'], quorum: 1 };
    const now = new Date();
    const added = await this.items.add({
      actionId: e.subject,
      correlationId: e.correlationId,
      decisionEventId: e.id,
      digest: e.data.digest,
      // Reviewers see regulated data masked; execution takes the unmasked proposal from the policy decision.
      proposal: maskDeep(e.data.proposal),
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

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}
