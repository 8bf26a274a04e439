import { Inject, Injectable, Optional } from '@nestjs/common';
import { DecisionSigner, signReviewDecision } from '@countersign/approval';
import { EventBus, serviceActor } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { EVENT_BUS, LOGGER, METRICS } from '@countersign/nest';
import type { DegradationContract } from '../degradation/governance.service';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { queuedBy, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { APPROVAL_SIGNING_KEY, DEGRADATION_CONTRACT, REVIEW_ITEMS } from '../tokens';

/** The reason code of an approval rejected at intake because its proposer already had the most approvals waiting. */
export const PROPOSER_BACKLOG_FULL = 'proposer_backlog_full';

/**
 * The contract's per-proposer share of the review backlog (`degradation.maxPendingPerProposer`, ADR 0013): an approval
 * queued while its proposer (the authenticated principal) already has that many waiting ahead of it is rejected at
 * once, signed by the review queue like an expiry, through the decision outbox; the executor never runs it and the
 * agent reads the reason. The mode counts the global backlog, so without it one agent flooding the review lane pushed
 * every tenant into `constrained`, where others' refunds were prohibited.
 *
 * Decided on the item as stored (its first queue time), so a redelivery, or a second instance, reaches the same answer;
 * items queued at once may let the cap be passed by the few in flight, never by a flood. A reviewer's revision (ADR
 * 0017) is the reviewer's work, not the agent's, and is never capped.
 */
@Injectable()
export class ProposerBacklogCap {
  private readonly actor = serviceActor('review-queue');

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    private readonly outbox: DecisionOutbox,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(DEGRADATION_CONTRACT) private readonly contract?: DegradationContract,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  /** The cap in force (it follows approved contract changes); undefined when the contract sets none. */
  get max(): number | undefined {
    return this.contract?.degradation?.maxPendingPerProposer;
  }

  /**
   * Rejects `item` (a pending approval, as stored) when its proposer has the contract's maximum waiting ahead of it.
   * Returns true when it did. The decision's event is stored with it: when the bus cannot take it now, the outbox's
   * sweeper publishes it later.
   */
  async enforce(item: ReviewItem, now: Date): Promise<boolean> {
    const max = this.max;
    if (max === undefined || item.status !== 'pending' || (item.kind ?? 'approval') !== 'approval') return false;
    const ahead = await this.items.pendingAhead(item, max);
    if (ahead < max) return false;
    const reason =
      // The reason code goes beside it (`reasonCode`), and the action's timeline shows both.
      `${item.proposerPrincipal} already has ${max} approvals waiting for reviewers (the contract's ` +
      `degradation.maxPendingPerProposer); this one was rejected without review and will not be executed. Propose it again once they are decided.`;
    const signature = signReviewDecision(this.key, {
      decision: 'rejected',
      actionId: item.actionId,
      digest: item.digest,
      deciders: [this.actor.id],
      reasons: [reason],
      issuedAt: now.toISOString(),
    });
    const event = this.bus.envelope(
      TOPICS.reviewDecided,
      { decision: 'rejected', reviewers: [this.actor], reason, digest: item.digest, signature, reasonCode: PROPOSER_BACKLOG_FULL },
      { cause: queuedBy(item), actor: this.actor, time: now },
    );
    // The decision and its event in one write (a store outage throws: the delivery is retried), then published.
    const decided = await this.items.decide(item.actionId, 'rejected', [this.actor.id], reason, now, { topic: TOPICS.reviewDecided, event });
    if (!decided) return false; // a reviewer (or the clock) decided it meanwhile
    await this.outbox.publishIfDue(item.actionId).catch((e: unknown) =>
      // The decision stands with its event; the outbox's sweeper publishes it.
      this.logger.warn({ err: e, actionId: item.actionId }, 'could not publish a capped approval now; it is stored and goes out later'),
    );
    this.metrics?.counter('countersign_review_items_capped_total').inc({ sla_class: item.slaClass });
    return true;
  }
}
