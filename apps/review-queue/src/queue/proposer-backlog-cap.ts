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
/** The reason code of an approval rejected at intake because its tenant already had the most approvals waiting. */
export const TENANT_BACKLOG_FULL = 'tenant_backlog_full';

/** Which share of the backlog was full: the metric's `cap` label, the decision's reason code and text. */
interface FullShare {
  cap: 'proposer' | 'tenant';
  reasonCode: typeof PROPOSER_BACKLOG_FULL | typeof TENANT_BACKLOG_FULL;
  reason: string;
}

// What the agent reads after who was full and which setting says so; the reason code goes beside it (`reasonCode`), and
// the action's timeline shows both.
const REJECTED = 'this one was rejected without review and will not be executed. Propose it again once they are decided.';

/**
 * The contract's shares of the review backlog (ADR 0013): per proposer (`degradation.maxPendingPerProposer`, the
 * authenticated principal) and per tenant (`degradation.maxPendingPerTenant`, the proposal's `tenant`). An approval
 * queued while its proposer, or its tenant, already has that many waiting ahead of it is rejected at once, signed by the
 * review queue like an expiry, through the decision outbox; the executor never runs it and the agent reads the reason.
 * The mode counts the global backlog, so without them one agent flooding the review lane pushed every tenant into
 * `constrained`, where others' refunds were prohibited; and, with the proposer's share alone, two agents of one tenant
 * did the same together (security probe, 2026-12-05: globex's 1,040 refunds prohibited acme's small one).
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

  /** The per-proposer cap in force (it follows approved contract changes); undefined when the contract sets none. */
  get max(): number | undefined {
    return this.contract?.degradation?.maxPendingPerProposer;
  }

  /** The per-tenant cap in force (it follows approved contract changes); undefined when the contract sets none. */
  get maxPerTenant(): number | undefined {
    return this.contract?.degradation?.maxPendingPerTenant;
  }

  /** Whether the contract sets either cap (without one, the intake skips the judgement). */
  get active(): boolean {
    return this.max !== undefined || this.maxPerTenant !== undefined;
  }

  /**
   * Rejects `item` (a pending approval, as stored) when its proposer, or else its tenant, has the contract's maximum
   * waiting ahead of it. Returns true when it did. The decision's event is stored with it: when the bus cannot take it
   * now, the outbox's sweeper publishes it later.
   */
  async enforce(item: ReviewItem, now: Date): Promise<boolean> {
    if (item.status !== 'pending' || (item.kind ?? 'approval') !== 'approval') return false;
    const full = await this.fullShare(item);
    if (!full) return false;
    const { reason } = full;
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
      { decision: 'rejected', reviewers: [this.actor], reason, digest: item.digest, signature, reasonCode: full.reasonCode },
      { cause: queuedBy(item), actor: this.actor, time: now },
    );
    // The decision and its event in one write (a store outage throws: the delivery is retried), then published.
    const decided = await this.items.decide(item.actionId, 'rejected', [this.actor.id], reason, now, { topic: TOPICS.reviewDecided, event });
    if (!decided) return false; // a reviewer (or the clock) decided it meanwhile
    await this.outbox.publishIfDue(item.actionId).catch((e: unknown) =>
      // The decision stands with its event; the outbox's sweeper publishes it.
      this.logger.warn({ err: e, actionId: item.actionId }, 'could not publish a capped approval now; it is stored and goes out later'),
    );
    this.metrics?.counter('countersign_review_items_capped_total').inc({ sla_class: item.slaClass, cap: full.cap });
    return true;
  }

  /** The first share that is full: the proposer's, then the tenant's (one agent's flood is named as its own). */
  private async fullShare(item: ReviewItem): Promise<FullShare | undefined> {
    const perProposer = this.max;
    if (perProposer !== undefined && (await this.items.pendingAhead(item, perProposer)) >= perProposer)
      return {
        cap: 'proposer',
        reasonCode: PROPOSER_BACKLOG_FULL,
        reason: `${item.proposerPrincipal} already has ${perProposer} approvals waiting for reviewers (the contract's degradation.maxPendingPerProposer); ${REJECTED}`,
      };
    const perTenant = this.maxPerTenant;
    if (perTenant !== undefined && (await this.items.tenantPendingAhead(item, perTenant)) >= perTenant)
      return {
        cap: 'tenant',
        reasonCode: TENANT_BACKLOG_FULL,
        reason: `tenant ${item.proposal.tenant} already has ${perTenant} approvals waiting for reviewers, from all its agents (the contract's degradation.maxPendingPerTenant); ${REJECTED}`,
      };
    return undefined;
  }
}
