import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '@countersign/bus';
import { actionDigest, deriveEvent, TOPICS, TopicMap } from '@countersign/contracts';
import type { FlagReader } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, SERVICE_NAME } from '@countersign/nest';
import { checkRateLimits, DegradationMode, evaluate, RateLimiter } from '@countersign/policy';
import { ContractStore } from '../contract/contract.store';
import { DECISION_SETTINGS, DECISIONS, FLAG_NAMES, FLAGS, RATE_LIMITER } from '../tokens';
import { autonomyLevel, FlagNames, killSwitch } from './autonomy';
import { DecisionRepository, StoredDecision } from './decision.repository';

/**
 * Inputs that have no producer yet: the degradation mode (driven by queue depth, a later issue) and the
 * trust stack's health (key and certificate monitoring, a later issue). Configured, never guessed.
 */
export interface DecisionSettings {
  degradationMode: DegradationMode;
  trustStackHealthy: boolean;
  scopedTokenKey?: Buffer;
}

/** Decides the lane of every proposed action under the running contract, and publishes why. */
@Injectable()
export class DecisionService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly contracts: ContractStore,
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(FLAG_NAMES) private readonly names: FlagNames,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    @Inject(DECISIONS) private readonly decisions: DecisionRepository,
    @Inject(DECISION_SETTINGS) private readonly settings: DecisionSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_NAME) private readonly service: string,
  ) {}

  async onActionProposed(e: TopicMap[typeof TOPICS.actionProposed]): Promise<void> {
    // Decided before (a redelivery): answer the same decision, whatever flags and clock say now.
    const earlier = await this.decisions.get(e.subject);
    if (earlier) return this.publish(earlier, e, 'decided before; the stored decision is published again');
    const contract = this.contracts.current();
    const proposal = e.data.proposal;
    const now = new Date(e.time);
    const decision = evaluate(this.contracts.compiledContract(), proposal, {
      killSwitch: killSwitch(this.flags, this.names.execPrefix, proposal),
      autonomy: autonomyLevel(this.flags, this.names.autonomyPrefix, proposal),
      degradationMode: this.settings.degradationMode,
      trustStackHealthy: this.settings.trustStackHealthy,
      // Keyed by action id: a redelivered proposal is not counted again and gets the same decision.
      rateLimited: await checkRateLimits(contract, proposal, e.actor.id, e.subject, this.limiter, now),
      scopedTokenKey: this.settings.scopedTokenKey,
      actionId: e.subject,
      now,
    });
    this.logger.info({ lane: decision.lane, decidedBy: decision.decidedBy, rulesFired: decision.rulesFired, contractVersion: decision.contractVersion }, 'decided');
    const made = deriveEvent(TOPICS.policyDecided, e, {
      source: this.service,
      actor: { id: 'policy-engine', kind: 'service', authMethod: 'service' },
      data: {
        lane: decision.lane,
        reasons: decision.reasons,
        rulesFired: decision.rulesFired,
        contractVersion: decision.contractVersion,
        contractHash: decision.contractHash,
        score: decision.score,
        digest: actionDigest(proposal, decision.contractVersion),
        proposal,
        proposerPrincipal: e.actor.id,
        ...(decision.review ? { review: { slaClass: decision.review.slaClass, slaSeconds: decision.review.slaSeconds, requiredRoles: decision.review.requiredRoles, quorum: decision.review.quorum } } : {}),
        sampledForAudit: decision.sampledForAudit,
        decidedBy: decision.decidedBy,
        riskClass: decision.riskClass,
        ...(decision.retryLater ? { retryLater: true } : {}),
      },
    });
    // Two deliveries decided at once (a rebalance): the first stored stands for both.
    const { proposal: _carried, ...stored } = made.data;
    await this.publish(await this.decisions.keep({ ...made, data: stored }), e);
  }

  /** Publishes a stored decision with the proposal it was made for (which the store does not keep). */
  private async publish(decision: StoredDecision, proposed: TopicMap[typeof TOPICS.actionProposed], note?: string): Promise<void> {
    const proposal = proposed.data.proposal;
    if (actionDigest(proposal, decision.data.contractVersion) !== decision.data.digest) {
      // Another proposal under an action id that was decided already: not this decision's, and not decided again.
      this.logger.error({ decisionEventId: decision.id }, 'a different proposal arrived for an action already decided; ignored');
      return;
    }
    if (note) this.logger.info({ lane: decision.data.lane }, note);
    await this.bus.publish(TOPICS.policyDecided, { ...decision, data: { ...decision.data, proposal } });
  }
}
