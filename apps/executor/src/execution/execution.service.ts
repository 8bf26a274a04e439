import { Inject, Injectable } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import { DependencyUnavailableError, EventBus, serviceActor } from '@countersign/bus';
import { ActionRefusedV1, Envelope, TOPICS, TopicMap } from '@countersign/contracts';
import { executionFlagName, FlagReader } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER } from '@countersign/nest';
import type { z } from 'zod';
import { checkReviewDecision } from '../authorisation/approval-check';
import { ConnectorRegistry, CONNECTORS } from '../connectors/connector';
import { DEFAULT_RECONCILIATION, ReconciliationSettings } from '../reconciliation/reconciliation.settings';
import { APPROVAL_KEYS, EXECUTIONS, FLAGS, FLAG_PREFIX, RECONCILIATION } from '../tokens';
import { ActionRecord, ExecutionRepository, ReviewDecidedEvent } from './execution.repository';
import { idempotencyKeyOf } from './idempotency-key';

type PolicyDecidedEvent = TopicMap[typeof TOPICS.policyDecided];
type Refusal = Pick<z.infer<typeof ActionRefusedV1>, 'code' | 'reason'>;

/**
 * Executes autonomous and approved actions exactly once: record `executing` durably, call the connector
 * with an idempotency key derived from the action id and digest, record the outcome. Anything without an
 * autonomous decision or a valid approval is refused and audited; so is every review decision whose
 * signature does not verify.
 */
@Injectable()
export class ExecutionService {
  // The executor names itself as the actor of what it emits, in the embedded host too (where the bus's source is the host).
  private readonly actor = serviceActor('executor');

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(EXECUTIONS) private readonly executions: ExecutionRepository,
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(FLAG_PREFIX) private readonly flagPrefix: string,
    @Inject(APPROVAL_KEYS) private readonly approvalKeys: VerifyKeys,
    @Inject(LOGGER) private readonly logger: Logger,
    /** After `leaseMs` in `executing`, the executor died mid-call: the reconciler settles the outcome. */
    @Inject(RECONCILIATION) private readonly reconciliation: ReconciliationSettings = DEFAULT_RECONCILIATION,
  ) {}

  /** Every policy decision is stored first, so an approval that arrives early is never lost. */
  async onPolicyDecided(e: PolicyDecidedEvent): Promise<void> {
    const record = await this.executions.saveDecision({
      actionId: e.subject,
      correlationId: e.correlationId,
      decisionEventId: e.id,
      digest: e.data.digest,
      lane: e.data.lane,
      proposal: e.data.proposal,
      proposerPrincipal: e.data.proposerPrincipal,
      contractVersion: e.data.contractVersion,
    });
    if (record.decisionEventId !== e.id) {
      this.logger.warn({ kept: record.decisionEventId, ignored: e.id }, 'a second policy decision for one action; the first one stands');
      return;
    }
    // A redelivered decision may have been evaluated again after a flag changed: same event id, other
    // content. Only what was stored first counts, as in the audit trail (which keeps the first copy).
    if (e.data.lane !== record.lane || e.data.digest !== record.digest) {
      this.logger.warn(
        { stored: { lane: record.lane, digest: record.digest }, copy: { lane: e.data.lane, digest: e.data.digest } },
        'a copy of the policy decision differs from the stored one; the stored one stands',
      );
    }
    if (record.lane === 'autonomous') return this.execute(record, e, null);
    // Check after write: the record is stored, so a review handler that kept its decision early after this
    // take looks again, finds the record and takes it itself (onReviewDecided).
    if (record.lane === 'review') await this.takeEarlyDecision(e.subject);
  }

  /**
   * Processes the review decision kept early for this action, if one is still kept. The take is atomic: when
   * the policy handler and the review handler both come here, only one of them gets it.
   */
  private async takeEarlyDecision(actionId: string): Promise<void> {
    const early = await this.executions.takeEarlyApproval(actionId);
    if (early) await this.onReviewDecided(early);
  }

  /**
   * Acts on a review decision only once its signature shows it is the review queue's genuine decision on
   * this action and digest. A decision that does not verify changes nothing (the action keeps waiting for
   * its genuine decision) and is refused as suspicious; a genuine rejection or expiry closes the action.
   */
  async onReviewDecided(e: ReviewDecidedEvent): Promise<void> {
    const record = await this.executions.get(e.subject);
    const verdict = checkReviewDecision(e, record, this.approvalKeys, new Date());
    if (!verdict.ok) return this.refuse(e, verdict.refusal, true);
    if (verdict.claims.decision === 'escalated') return; // still in review: nothing changes here
    if (!record) {
      // Kept until the policy decision comes (approval or rejection alike), so the action's record closes either way.
      await this.executions.keepEarlyApproval(e.subject, e);
      this.logger.info({ decision: verdict.claims.decision }, 'review decision arrived before its policy decision; kept until the decision comes');
      // Check after write: the policy handler may have stored the record and looked for an early decision between
      // our read and our keep (the two topics have no order); then nobody else will take it, so we do.
      const now = await this.executions.get(e.subject);
      if (now?.lane === 'review') await this.takeEarlyDecision(e.subject);
      return;
    }
    if (verdict.claims.decision !== 'approved') {
      if (record.state === 'decided') await this.executions.finish(e.subject, 'rejected', undefined);
      this.logger.info({ decision: verdict.claims.decision }, 'review decided against the action; it will not be executed');
      return;
    }
    return this.execute(record, e, verdict.claims.nonce);
  }

  private async execute(record: ActionRecord, cause: Envelope, nonce: string | null): Promise<void> {
    if (record.state !== 'decided') return this.afterRedelivery(record, cause);
    const killSwitch = this.flags.state(executionFlagName(this.flagPrefix, record.proposal.actionType), {
      tenant: record.proposal.tenant,
      region: record.proposal.region,
    });
    if (killSwitch === 'unknown' && !this.flags.loaded()) {
      // Not the action's fault and not final: the bus redelivers it until the flags are there.
      throw new DependencyUnavailableError(`flags not loaded: ${this.flags.notLoadedReason() ?? 'the flag source is not ready'}`);
    }
    if (killSwitch !== 'on') {
      await this.executions.finish(record.actionId, 'refused', undefined);
      return this.refuse(
        cause,
        killSwitch === 'off'
          ? { code: 'kill-switch-off', reason: `the kill switch of ${record.proposal.actionType} is off: not executed` }
          : {
              code: 'flag-unknown',
              reason: `the kill switch of ${record.proposal.actionType} cannot be read (never seen, or the flag source is unusable): failing closed`,
            },
        false,
      );
    }
    const claim = await this.executions.claim(record.actionId, cause.id, nonce, new Date());
    if (!claim.claimed) {
      if (claim.reason === 'approval-consumed') return this.refuse(cause, { code: 'approval-replayed', reason: 'this approval was already consumed' }, true);
      const now = await this.executions.get(record.actionId);
      return now ? this.afterRedelivery(now, cause) : undefined;
    }
    const connector = this.connectors.for(record.proposal.actionType);
    const idempotencyKey = idempotencyKeyOf(record.actionId, record.digest);
    const p = record.proposal;
    const result = await connector.execute(
      { actionId: record.actionId, actionType: p.actionType, target: p.target, parameters: p.parameters, tenant: p.tenant, digest: record.digest },
      idempotencyKey,
    );
    const authorisedBy = nonce ? ('approval' as const) : ('autonomous-decision' as const);
    if (result.status === 'executed') {
      // `attempt`: the requests that carried it (2 when the connector sent it once more on a dropped connection).
      const data = {
        connector: connector.name,
        digest: record.digest,
        authorisedBy,
        attempt: result.attempts,
        ...(result.externalRequestId ? { externalRequestId: result.externalRequestId } : {}),
      };
      await this.executions.finish(record.actionId, 'executed', { topic: TOPICS.actionExecuted, data });
      this.logger.info({ connector: connector.name, authorisedBy, externalRequestId: result.externalRequestId }, 'action executed');
      await this.bus.emit(TOPICS.actionExecuted, data, { cause, actor: this.actor });
    } else {
      const data = { outcome: result.status, connector: connector.name, digest: record.digest, error: result.error };
      await this.executions.finish(record.actionId, result.status, { topic: TOPICS.actionFailed, data });
      await this.bus.emit(TOPICS.actionFailed, data, { cause, actor: this.actor });
    }
  }

  /**
   * The action is past `decided`. The same authorisation again is a redelivery: publish the recorded
   * outcome again (same event id, dropped downstream), or, when the executor died mid-call, report
   * `outcome_unknown` for the reconciler to settle — never call the target again blindly. Another
   * authorisation is a replay.
   */
  private async afterRedelivery(record: ActionRecord, cause: Envelope): Promise<void> {
    if (record.authorisedBy !== cause.id) {
      if (record.state === 'refused' || record.state === 'rejected') return;
      return this.refuse(cause, { code: 'approval-replayed', reason: `the action is already ${record.state}` }, cause.type === TOPICS.reviewDecided);
    }
    if (record.outcome) {
      const { topic, data } = record.outcome as { topic: typeof TOPICS.actionExecuted; data: TopicMap[typeof TOPICS.actionExecuted]['data'] };
      await this.bus.emit(topic, data, { cause, actor: this.actor });
      return;
    }
    if (record.state === 'executing' && Date.now() - Date.parse(record.claimedAt ?? '') > this.reconciliation.leaseMs) {
      const data = {
        outcome: 'outcome_unknown' as const,
        connector: this.connectors.for(record.proposal.actionType).name,
        digest: record.digest,
        error: 'the executor stopped during the call; the target must be asked',
      };
      // Only if still stranded under the same lease: the reconciler may have taken it on meanwhile.
      const stranded = await this.executions.settle(record.actionId, { state: 'executing', claimedAt: record.claimedAt }, 'outcome_unknown', {
        topic: TOPICS.actionFailed,
        data,
      });
      if (stranded) await this.bus.emit(TOPICS.actionFailed, data, { cause, actor: this.actor });
      return;
    }
    // Within its lease another delivery is at work and records the outcome; if it died, the reconciler settles
    // the action once the lease runs out (and so it does for one reconciling or awaiting a person's answer).
    this.logger.warn({ state: record.state }, 'duplicate delivery while the action is being executed or reconciled; left to it (and to the reconciler)');
  }

  private async refuse(cause: Envelope, refusal: Refusal, suspicious: boolean): Promise<void> {
    (suspicious ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger))({ code: refusal.code, suspicious }, `refused: ${refusal.reason}`);
    await this.bus.emit(TOPICS.actionRefused, { ...refusal, suspicious }, { cause, actor: this.actor });
  }
}
