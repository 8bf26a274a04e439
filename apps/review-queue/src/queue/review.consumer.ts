import { Inject, Injectable, Optional } from '@nestjs/common';
import { POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { BusConsumer, LOGGER } from '@countersign/nest';
import type { Logger } from '@countersign/logging';
import { DECISION_KEYS, PROPOSAL_SEALER, REVIEW_ITEMS } from '../tokens';
import { ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { routedAt } from '../review-item/review-routing';
import { ProposalSealer } from '../review-item/sealed-proposal';
import { RevisionService } from '../revisions/revision.service';
import { ProposerBacklogCap } from './proposer-backlog-cap';

/**
 * Puts every review-lane decision into the queue (once, whatever the redelivery); an approval past its proposer's or its
 * tenant's share of the backlog is rejected at once (`proposer-backlog-cap.ts`).
 */
@Injectable()
export class ReviewConsumer extends BusConsumer {
  protected readonly group = 'review-queue.intake';

  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PROPOSAL_SEALER) private readonly sealer: ProposalSealer,
    /** The policy engine's public decision keys: a decision it did not seal puts nothing in the queue (docs/adr/0040). */
    @Inject(DECISION_KEYS) private readonly decisionKeys: VerifyKeys,
    // The module always provides it; an intake built by hand in a test of another feature has none.
    @Optional() private readonly revisions?: RevisionService,
    // The contract's per-proposer and per-tenant shares of the backlog (`degradation.maxPendingPerProposer`,
    // `maxPendingPerTenant`); absent in such a test too.
    @Optional() private readonly cap?: ProposerBacklogCap,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.policyDecided]: (e) => this.enqueue(e) };
  }

  async enqueue(e: TopicMap[typeof TOPICS.policyDecided]): Promise<void> {
    const sample = e.data.lane === 'autonomous' && e.data.sampledForAudit;
    if (e.data.lane !== 'review' && !sample) return;
    // Only what the policy engine decided reaches a reviewer: a decision written with the topic's Kafka credential alone
    // (a made-up proposal dressed as low risk, say) is refused here, and the executor audits it as refused.
    const seal = verifyEventSeal(e, this.decisionKeys, POLICY_ENGINE_SEAL);
    if (!seal.ok) return void this.logger.error({ alert: 'decision-refused', decisionEventId: e.id }, `not queued: ${seal.reason}`);
    const review = (!sample && e.data.review) || { slaClass: 'normal', slaSeconds: 4 * 3600, requiredRoles: ['reviewer'], quorum: 1 };
    const now = new Date();
    const revised = sample ? undefined : await this.revisedFrom(e);
    const item: ReviewItem = {
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
      // What the reviewer's card shows of the risk assessment: the score, the rules that fired, the class.
      score: e.data.score,
      rulesFired: e.data.rulesFired,
      ...(e.data.riskClass && { riskClass: e.data.riskClass }),
      // The review clock (`review-clock/`) acts on its times: escalation at the contract's share of the SLA, expiry (or
      // the fallback team, once) at its end. An audit sample has no clock: its action ran already.
      ...routedAt(review, now, !sample),
      status: 'pending',
      ...(revised && { authoredBy: revised.authoredBy, firstQueuedAt: revised.firstQueuedAt }),
    };
    const added = await this.items.add(item);
    if (added) this.logger.info({ slaClass: review.slaClass }, 'queued for review');
    // On every delivery while it waits, judged on the item as first stored: a redelivery after a crash between the two
    // writes takes the same decision. A reviewer's revision is their work, never capped.
    if (!sample && this.cap?.active && !(await this.isRevision(e))) {
      const stored = added ? item : await this.items.get(e.subject);
      if (stored && (await this.cap.enforce(stored, now))) {
        this.logger.info({ slaClass: review.slaClass }, 'rejected: its proposer or its tenant already has the most approvals waiting');
        return;
      }
    }
    // A reviewer's revision comes back here as a new action: their approval of it carries if the digest is theirs.
    // On every delivery, not only the first: a redelivery after a failed carry tries again (it is idempotent).
    if (!sample) await this.revisions?.onQueued(e);
  }

  /**
   * When this version is a revision of an item this queue holds as revised: the reviewers who wrote it (the reviser and
   * whoever wrote the version they revised, so a chain of revisions never lets one of its authors decide it), and when
   * the action was first queued (the first version's time, along the chain).
   */
  private async revisedFrom(e: TopicMap[typeof TOPICS.policyDecided]): Promise<{ authoredBy: string[]; firstQueuedAt: string } | undefined> {
    const of = e.data.revisionOf;
    if (!of) return undefined;
    const original = await this.items.get(of.actionId);
    if (original?.status !== 'revised') return undefined;
    return { authoredBy: [...new Set([...(original.authoredBy ?? []), of.by])], firstQueuedAt: original.firstQueuedAt ?? original.createdAt };
  }

  /** Whether the action is a reviewer's revision of an item this queue holds as revised (ADR 0017). */
  private async isRevision(e: TopicMap[typeof TOPICS.policyDecided]): Promise<boolean> {
    const of = e.data.revisionOf;
    return !!of && (await this.items.get(of.actionId))?.status === 'revised';
  }
}
