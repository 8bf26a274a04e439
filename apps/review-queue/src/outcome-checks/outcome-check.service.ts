import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DecisionSigner, signReviewDecision } from '@countersign/approval';
import { EventBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { maskDeep, maskText } from '@countersign/guardrails';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, Principal } from '@countersign/nest';
import { requireSigningKey } from '../approvals/signing-key';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { DecisionEvent, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { reviewerActor } from '../review-item/reviewer-actor';
import { shownDigest, shownView } from '../review-item/shown';
import { APPROVAL_SIGNING_KEY, REVIEW_ITEMS } from '../tokens';
import { isProposerOf, requireItemRole, withinTenants } from '../review-item/item-roles';

/** How long a person has to answer "did this happen?" before the item is overdue. */
export const OUTCOME_CHECK_SLA_SECONDS = 4 * 3600;

/**
 * The key of an action's outcome check among the review items: beside the action's own item (its approval or audit
 * sample, keyed by the action id), never in its place.
 */
export const outcomeCheckKey = (actionId: string) => `outcome-check:${actionId}`;

/**
 * "Did this happen?": the executor cannot tell whether an action took effect (it stopped during the call, or the
 * target did not answer) and cannot find out on its own. A reviewer looks it up at the target and answers; the
 * answer is signed like every review decision (`happened` or `not-happened`, bound to the action id and digest),
 * and the executor records `executed` or `failed` only from an answer that verifies. The proposer never answers.
 * The answer's event is stored with the answer and published after (`DecisionOutbox`): an answer given while the bus
 * is down is not lost, and the reviewer's retry of the same answer gets it back rather than a conflict.
 */
@Injectable()
export class OutcomeCheckService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly outbox: DecisionOutbox,
  ) {}

  /** Queues the check once, whatever the redelivery. */
  async enqueue(e: TopicMap[typeof TOPICS.outcomeCheckRequested], now = new Date()): Promise<void> {
    // Who may say whether an action took effect: those who could have approved it (its review's roles), for a reviewed
    // one; any reviewer for one that ran on its own (no review named anyone).
    const reviewed = await this.items.get(e.subject);
    const requiredRoles = reviewed && (reviewed.kind ?? 'approval') === 'approval' && reviewed.requiredRoles.length ? reviewed.requiredRoles : ['reviewer'];
    const added = await this.items.add({
      kind: 'outcome-check',
      actionId: outcomeCheckKey(e.subject),
      correlationId: e.correlationId,
      // The request is what the answer follows from.
      decisionEventId: e.id,
      digest: e.data.digest,
      // Reviewers see regulated data masked; what they look up at the target is the action id.
      proposal: maskDeep(e.data.proposal),
      proposerPrincipal: e.data.proposerPrincipal,
      contractVersion: e.data.contractVersion,
      reasons: [
        maskText(e.data.reason),
        // By the action id, which the request carried: the Idempotency-Key is derived from the action's digest, and a
        // reviewer who sees the proposal masked could check guesses of a masked card against it (masked-data probe).
        `look it up at the target (${e.data.connector}) by the action id ${e.subject}, which the request carried (with the Idempotency-Key the executor derives from it), sent from ${e.data.since}`,
      ],
      slaClass: 'normal',
      requiredRoles,
      quorum: 1,
      createdAt: now.toISOString(),
      dueAt: new Date(now.getTime() + OUTCOME_CHECK_SLA_SECONDS * 1000).toISOString(),
      status: 'pending',
    });
    if (added) this.logger.info({ connector: e.data.connector }, 'queued an outcome check: did this happen?');
  }

  async answer(actionId: string, reviewer: Principal, happened: boolean, reason: string, seenDigest?: string, now = new Date()) {
    const key = outcomeCheckKey(actionId);
    const decision = happened ? 'happened' : 'not-happened';
    // A check of a tenant the reviewer does not serve is, to them, no check at all (ADR 0052).
    const item = withinTenants(await this.items.get(key), reviewer);
    if (!item || item.kind !== 'outcome-check') throw new NotFoundException(`no outcome check for action ${actionId}`);
    // One outside the check's roles hears 403 and nothing else of it: not whether it changed since shown, nor that it is
    // answered and how (red team, 2026-12-07: "already answered (happened)" told it), as for approvals (2026-12-02).
    requireItemRole(item, reviewer, 'answering');
    // What the reviewer saw was the pending check (a retry after the answer sends the digest of that same view).
    if (seenDigest !== undefined && seenDigest !== shownDigest(shownView({ ...item, status: 'pending' }))) {
      throw new ConflictException('the outcome check changed since it was shown (shownDigest does not match): look again before answering');
    }
    if (item.status !== 'pending') return this.again(item, actionId, reviewer, decision);
    if (isProposerOf(reviewer, item)) {
      throw new ForbiddenException('separation of duties: the proposer of an action cannot say whether it happened');
    }
    if (reviewer.kind !== 'human') throw new ForbiddenException('only a person can answer an outcome check');
    requireSigningKey(this.key, now);
    // Final, so no expiry; signed, or a forged answer could close an action whose effect never took place.
    const signature = signReviewDecision(this.key, {
      decision,
      actionId,
      digest: item.digest,
      deciders: [reviewer.id],
      // The token is base64: masking downstream cannot see into it.
      reasons: [maskText(reason)],
      issuedAt: now.toISOString(),
    });
    const event = this.answerEvent(item, actionId, happened, reviewer, reason, signature);
    if (!(await this.outbox.decide(key, decision, [reviewer.id], reason, now, event))) {
      // Another answer won meanwhile: this one's own retry racing it gets it back, anyone else a conflict.
      const meanwhile = await this.items.get(key);
      if (meanwhile?.status === 'pending' || !meanwhile) throw new ConflictException(`the outcome check of action ${actionId} was answered meanwhile`);
      return this.again(meanwhile, actionId, reviewer, decision, 'was answered meanwhile');
    }
    return { actionId, status: decision };
  }

  /**
   * An answered check: the same reviewer's retry of the same answer (its first call may have answered 503 while the
   * bus was down) gets it back, and the stored event is published if it is still due; anything else is a conflict.
   */
  private async again(item: ReviewItem, actionId: string, reviewer: Principal, decision: 'happened' | 'not-happened', conflict?: string) {
    if (item.status !== decision || !item.deciders?.includes(reviewer.id)) {
      throw new ConflictException(`the outcome check of action ${actionId} ${conflict ?? `is already answered (${item.status})`}`);
    }
    await this.outbox.publishIfDue(item.actionId);
    return { actionId, status: decision };
  }

  /** The signed answer's event, built before the answer (it is stored with it) and published after. */
  private answerEvent(item: ReviewItem, actionId: string, happened: boolean, reviewer: Principal, reason: string, signature: string): DecisionEvent {
    const shown = shownView(item);
    // As they signed in (an inbox session is not a bearer token), with their `amr` and sign-in time.
    const actor = reviewerActor(reviewer);
    return {
      topic: TOPICS.outcomeCheckAnswered,
      event: this.bus.envelope(
        TOPICS.outcomeCheckAnswered,
        { happened, reviewers: [actor], reason, digest: item.digest, signature, shown, shownDigest: shownDigest(shown) },
        // The subject is the action (not the item's key): the executor, the timeline and the audit trail follow it.
        { cause: { id: item.decisionEventId, subject: actionId, correlationId: item.correlationId }, actor },
      ),
    };
  }
}
