import { Inject, Injectable, Optional } from '@nestjs/common';
import { EXECUTOR_SEAL, genuineDecision, genuineRevision, POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { Envelope, EXECUTOR_OUTCOME_TOPICS, TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { BusConsumer, LOGGER } from '@countersign/nest';
import { maskText } from '@countersign/guardrails';
import { ACTION_VIEWS, APPROVAL_KEYS, DECISION_KEYS, OUTCOME_KEYS } from '../tokens';
import { ActionChanges } from './action-changes';
import { OUTCOME_CHECK } from './action-status';
import { ActionViewRepository, TimelineEntry } from './action-view.repository';

/**
 * Follows every event of every action into the read model behind `GET /v1/actions/{id}`. A policy decision enters it
 * only with the policy engine's seal (docs/adr/0040), a review decision or a revision only with the review queue's
 * genuine signature (a forged rejection must not tell the agent its action was refused while its review goes on), and
 * a refusal only when it closes the action (`final`): the executor's refusal of a forged or replayed event leaves the
 * action as it was (red team, 2026-12-02). An outcome (executed, failed, refused, held) enters it only with the
 * executor's seal (docs/adr/0042): a forged "executed" must not tell the agent its action ran. So does an outcome check
 * (the reconciler asked a person), which keeps the action `outcome_unknown` and changes what `waiting` says.
 */
@Injectable()
export class ActionViewConsumer extends BusConsumer {
  protected readonly group = 'orchestrator.action-view';

  constructor(
    @Inject(ACTION_VIEWS) private readonly views: ActionViewRepository,
    @Inject(APPROVAL_KEYS) private readonly keys: VerifyKeys,
    @Inject(DECISION_KEYS) private readonly decisionKeys: VerifyKeys,
    @Inject(OUTCOME_KEYS) private readonly outcomeKeys: VerifyKeys,
    @Inject(LOGGER) private readonly logger: Logger,
    // Wakes the long polls waiting on the action (absent in tests that only read the view).
    @Optional() private readonly changes?: ActionChanges,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    const put = async (e: Envelope, fields: Pick<TimelineEntry, 'status' | 'detail'> & Partial<TimelineEntry>) => {
      // The store keeps no regulated data in clear: an actor id can be an e-mail address, a detail names targets and reasons.
      await this.views.record(e.subject, {
        eventId: e.id,
        type: e.type,
        time: e.time,
        ...fields,
        actor: maskText(e.actor.id),
        detail: maskText(fields.detail),
      });
      this.changes?.notify(e.subject);
    };
    return {
      [TOPICS.actionProposed]: (e) =>
        put(e, {
          status: 'proposed',
          detail: e.data.revisionOf
            ? `${e.data.proposal.actionType} on ${e.data.proposal.target}: ${e.data.revisionOf.by}'s revision of action ${e.data.revisionOf.actionId}`
            : `${e.data.proposal.actionType} on ${e.data.proposal.target} via ${e.data.receivedVia}`,
          ...(e.data.revisionOf && { revisionOf: e.data.revisionOf.actionId }),
          proposer: e.data.proposal.proposer.agentId,
        }),
      [TOPICS.policyDecided]: async (e) => {
        const sealed = verifyEventSeal(e, this.decisionKeys, POLICY_ENGINE_SEAL);
        if (!sealed.ok) return this.ignored(e, sealed.reason);
        await put(e, {
          status: laneStatus(e),
          lane: e.data.lane,
          detail: `contract ${e.data.contractVersion}: ${e.data.reasons.join('; ')}`,
          // A prohibition says which rule decided it (first among those fired) and whether it passes (`retryLater`: a
          // degradation mode, an unhealthy or unknown trust stack): the agent may propose it again later.
          ...(e.data.lane === 'prohibited' && e.data.rulesFired[0] && { reasonCode: e.data.rulesFired[0] }),
          ...(e.data.lane === 'prohibited' && e.data.retryLater && { retryLater: true }),
        });
      },
      [TOPICS.reviewDecided]: async (e) => {
        const genuine = genuineDecision(
          e.data.signature ?? e.data.approval,
          { decision: e.data.decision, actionId: e.subject, digest: e.data.digest },
          this.keys,
        );
        if (!genuine.ok) return this.ignored(e, genuine.reason);
        await put(e, reviewEntry(e));
      },
      // Approved with changes: this action ends here, replaced by the new one (which has its own timeline).
      [TOPICS.proposalRevised]: async (e) => {
        const genuine = genuineRevision(e, this.keys);
        if (!genuine.ok) return this.ignored(e, genuine.reason);
        await put(e, { status: 'revised', detail: `${e.actor.id}: ${e.data.reason} (new action ${e.data.newActionId})`, revisedTo: e.data.newActionId });
      },
      [TOPICS.actionExecuted]: (e) =>
        this.outcome(e, () =>
          put(e, { status: 'executed', detail: `via ${e.data.connector}${e.data.externalRequestId ? ` (request ${e.data.externalRequestId})` : ''}` }),
        ),
      [TOPICS.actionFailed]: (e) => this.outcome(e, () => put(e, { status: e.data.outcome, detail: e.data.error })),
      // Only a refusal that closes the action: the refusal of a forged event is in the audit trail, not the action's state.
      [TOPICS.actionRefused]: (e) =>
        this.outcome(e, async () => {
          if (e.data.final === false) return;
          await put(e, { status: 'refused', detail: `${e.data.code}: ${e.data.reason}`, reasonCode: e.data.code });
        }),
      // Not an outcome either: the reconciler could not settle it and asked a person, whose answer settles it.
      [TOPICS.outcomeCheckRequested]: (e) =>
        this.outcome(e, () =>
          put(e, {
            status: 'outcome_unknown',
            detail: `a person checks at ${e.data.connector} whether it took effect: ${e.data.reason}`,
            reasonCode: OUTCOME_CHECK,
          }),
        ),
      // Not an outcome: the executor runs it once the reason is gone (then `executed` follows).
      [TOPICS.actionHeld]: (e) => this.outcome(e, () => put(e, { status: 'held', detail: `${e.data.code}: ${e.data.reason}`, reasonCode: e.data.code })),
    };
  }

  /** Puts an outcome on the timeline only when the executor sealed it (docs/adr/0042). */
  private async outcome(e: Envelope & { data: { seal?: string } }, put: () => Promise<void>): Promise<void> {
    const sealed = verifyEventSeal(e, this.outcomeKeys, EXECUTOR_SEAL);
    if (!sealed.ok) return this.ignored(e, sealed.reason);
    await put();
  }

  /** A decision or outcome on the bus that its service did not sign as it says: kept off the timeline, logged (the audit trail has the event). */
  private ignored(e: Envelope, reason: string): void {
    const alert =
      e.type === TOPICS.policyDecided
        ? 'unsealed-decision'
        : (EXECUTOR_OUTCOME_TOPICS as readonly string[]).includes(e.type)
          ? 'unsealed-outcome'
          : 'unsigned-review-event';
    this.logger.error({ alert, eventId: e.id, type: e.type }, `not on the timeline of action ${e.subject}: ${reason}`);
  }
}

/**
 * A review decision on the timeline: approved, rejected or expired (by the review clock, `sla_expired`: final); an
 * escalation (to the next tier, or re-routed once to the fallback team) leaves the action in review and says to whom.
 */
function reviewEntry(e: TopicMap[typeof TOPICS.reviewDecided]): Pick<TimelineEntry, 'status' | 'detail' | 'reasonCode'> {
  const by = e.data.reviewers.map((r) => r.id).join(', ');
  if (e.data.decision === 'escalated') {
    const to = e.data.escalation ? ` (${e.data.escalation.kind}: roles ${e.data.escalation.requiredRoles.join(', ')}, due ${e.data.escalation.dueAt})` : '';
    return { status: 'in_review', detail: `${by}: ${e.data.reason}${to}` };
  }
  return {
    status: e.data.decision,
    // The code once, where the reason does not begin with it already (an expiry's does: "sla_expired: sla_expired: …").
    detail: `${by}: ${e.data.reasonCode && !e.data.reason.startsWith(`${e.data.reasonCode}:`) ? `${e.data.reasonCode}: ` : ''}${e.data.reason}`,
    ...(e.data.reasonCode && { reasonCode: e.data.reasonCode }),
  };
}

const laneStatus = (e: TopicMap[typeof TOPICS.policyDecided]): TimelineEntry['status'] => (e.data.lane === 'review' ? 'in_review' : e.data.lane);
