import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DependencyUnavailableError, EventBus, serviceActor } from '@countersign/bus';
import { actionDigest, TOPICS, TopicMap } from '@countersign/contracts';
import type { FlagReader } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER } from '@countersign/nest';
import { checkAggregateLimits, checkRateLimits, DegradationMode, evaluate, RateLimiter } from '@countersign/policy';
import { ContractStore } from '../contract/contract.store';
import { DECISION_SETTINGS, DECISIONS, FLAG_NAMES, FLAGS, RATE_LIMITER } from '../tokens';
import { autonomyLevel, FlagNames, killSwitch } from './autonomy';
import { DecisionRepository } from './decision.repository';

/**
 * Inputs that have no producer yet: the degradation mode (driven by queue depth, a later issue) and the
 * trust stack's health (key and certificate monitoring, a later issue). Configured, never guessed.
 */
export interface DecisionSettings {
  degradationMode: DegradationMode;
  trustStackHealthy: boolean;
  scopedTokenKey?: Buffer;
}

// The actor of every decision, also in the embedded host, whose bus emits as the host.
const POLICY_ENGINE = serviceActor('policy-engine');

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
  ) {}

  async onActionProposed(e: TopicMap[typeof TOPICS.actionProposed]): Promise<void> {
    // Unloaded flags read `unknown`, which `evaluate` fails closed on (prohibited, or sent to review) and the
    // first decision stands for good: decide nothing until they are there; the bus redelivers.
    if (!this.flags.loaded()) throw new DependencyUnavailableError(`flags not loaded: ${this.flags.notLoadedReason() ?? 'the flag source is not ready'}`);
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
      aggregateLimited: await checkAggregateLimits(this.contracts.compiledContract(), proposal, e.subject, this.limiter, now),
      scopedTokenKey: this.settings.scopedTokenKey,
      actionId: e.subject,
      now,
    });
    // Built, not yet published: it is stored first (below), and only the decision that stands goes out.
    const made = this.bus.envelope(
      TOPICS.policyDecided,
      {
        lane: decision.lane,
        reasons: decision.reasons,
        rulesFired: decision.rulesFired,
        contractVersion: decision.contractVersion,
        contractHash: decision.contractHash,
        score: decision.score,
        digest: actionDigest(proposal, decision.contractVersion),
        proposal,
        proposerPrincipal: e.actor.id,
        ...(decision.review
          ? {
              review: {
                slaClass: decision.review.slaClass,
                slaSeconds: decision.review.slaSeconds,
                requiredRoles: decision.review.requiredRoles,
                quorum: decision.review.quorum,
              },
            }
          : {}),
        sampledForAudit: decision.sampledForAudit,
        decidedBy: decision.decidedBy,
        riskClass: decision.riskClass,
        ...(decision.retryLater ? { retryLater: true } : {}),
      },
      { cause: e, actor: POLICY_ENGINE },
    );
    // The first decision stored for the action stands: a redelivery (or two deliveries at once, in a
    // rebalance) is answered with it, whatever flags and clock say now. One round trip on the hot path.
    const { proposal: _carried, ...data } = made.data;
    const { decision: kept, mine } = await this.decisions.keep({ ...made, data }, randomUUID());
    if (mine) {
      this.logger.info(
        { lane: decision.lane, decidedBy: decision.decidedBy, rulesFired: decision.rulesFired, contractVersion: decision.contractVersion },
        'decided',
      );
      return this.bus.publish(TOPICS.policyDecided, made);
    }
    if (actionDigest(proposal, kept.data.contractVersion) !== kept.data.digest) {
      // Another proposal under an action id that was decided already: not this decision's, and not decided again.
      this.logger.error({ decisionEventId: kept.id }, 'a different proposal arrived for an action already decided; ignored');
      return;
    }
    this.logger.info({ lane: kept.data.lane }, 'decided before; the stored decision is published again');
    // The store keeps no proposal (regulated data does not rest in a store): the redelivery carries it.
    await this.bus.publish(TOPICS.policyDecided, { ...kept, data: { ...kept.data, proposal } });
  }
}
