import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DecisionSigner, sealEvent, SigningUnavailableError } from '@countersign/approval';
import { DependencyUnavailableError, EventBus, serviceActor } from '@countersign/bus';
import { actionDigest, TOPICS, TopicMap } from '@countersign/contracts';
import type { FlagReader } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { Metrics, secondsSince } from '@countersign/metrics';
import { DEGRADATION_MODE, DegradationModeState, EVENT_BUS, LOGGER, METRICS, TRUST_HEALTH, TrustHealthState } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import {
  AgentStats,
  checkAggregateLimits,
  checkRateLimits,
  contractLaneOf,
  evaluate,
  InMemoryAgentStats,
  observeAgentStats,
  RateLimiter,
} from '@countersign/policy';
import { AGENT_STATS, DECISION_SETTINGS, DECISION_SIGNER, DECISIONS, FLAG_NAMES, FLAGS, RATE_LIMITER } from '../tokens';
import { autonomyLevel, FlagNames, killSwitch } from './autonomy';
import { DecisionRepository } from './decision.repository';

/**
 * Configured decision inputs. (The degradation mode and the trust stack's health follow their control topics:
 * `DEGRADATION_MODE`, `TRUST_HEALTH`; ADR 0013, 0019.)
 */
export interface DecisionSettings {
  scopedTokenKey?: Buffer;
}

// The actor of every decision, also in the embedded host, whose bus emits as the host.
const POLICY_ENGINE = serviceActor('policy-engine');

/** Decides the lane of every proposed action under the running contract, and publishes why. */
@Injectable()
export class DecisionService {
  /**
   * The trust stack's health from its control topic (ADR 0019). Injected by the module (Nest fails the boot without
   * it); a service built by hand in a unit test has none and decides as if the trust stack were healthy.
   */
  @Inject(TRUST_HEALTH) private readonly trust?: TrustHealthState;
  /**
   * The keys every decision is sealed with (docs/adr/0040): the executor and the review queue act on no decision
   * without this seal. Injected by the module (Nest fails the boot without it); a service built by hand in a unit test
   * has none and publishes unsealed decisions, which those consumers refuse.
   */
  @Inject(DECISION_SIGNER) private readonly signer?: DecisionSigner;
  /** The process's metrics (a service built by hand in a unit test has none). */
  @Optional() @Inject(METRICS) private readonly metrics?: Metrics;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly contracts: RunningContract,
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(FLAG_NAMES) private readonly names: FlagNames,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    @Inject(DECISIONS) private readonly decisions: DecisionRepository,
    @Inject(DECISION_SETTINGS) private readonly settings: DecisionSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DEGRADATION_MODE) private readonly degradation: DegradationModeState,
    // The module always provides the shared statistics; a service built by hand (a unit test) keeps its own.
    @Optional() @Inject(AGENT_STATS) private readonly stats: AgentStats = new InMemoryAgentStats(),
  ) {}

  async onActionProposed(e: TopicMap[typeof TOPICS.actionProposed]): Promise<void> {
    // Unloaded flags read `unknown`, which `evaluate` fails closed on (prohibited, or sent to review) and the
    // first decision stands for good: decide nothing until they are there; the bus redelivers.
    if (!this.flags.loaded()) throw new DependencyUnavailableError(`flags not loaded: ${this.flags.notLoadedReason() ?? 'the flag source is not ready'}`);
    // The mode from the control topic; until the topic is read to its end nothing is decided (the first decision
    // stands for good, so it must not be taken under a mode that is already stale).
    const degradationMode = this.degradation.mode();
    if (degradationMode === undefined) throw new DependencyUnavailableError(this.degradation.notKnownReason());
    // Likewise the trust health: read to its end, a missing or stale verdict is `unknown`, which `evaluate` fails
    // closed on (nothing trust-sensitive runs); before that, nothing is decided at all.
    const trustStackHealthy = this.trust ? this.trust.healthy() : true;
    if (trustStackHealthy === undefined) throw new DependencyUnavailableError(this.trust!.reason());
    const contract = this.contracts.current();
    const proposal = e.data.proposal;
    // A reviewer's revision (docs/adr/0017) is still the original proposer's action: separation of duties and rate
    // limits keep counting against that principal, not the reviewer who edited it.
    const proposer = e.data.revisionOf?.proposerPrincipal ?? e.actor.id;
    const now = new Date(e.time);
    const compiled = this.contracts.compiledContract();
    // Keyed by action id: a redelivered proposal is not counted again and gets the same decision. Both at once.
    const [rateLimited, aggregateLimited] = await Promise.all([
      checkRateLimits(contract, proposal, proposer, e.subject, this.limiter, now),
      checkAggregateLimits(compiled, proposal, e.subject, this.limiter, now),
    ]);
    const counted = {
      rateLimited,
      aggregateLimited,
      scopedTokenKey: this.settings.scopedTokenKey,
      actionId: e.subject,
      now,
    };
    // The agent's statistics under each anomaly rule, this proposal added once (by action id) with the lane the
    // contract alone gives it. Statistics that cannot be read throw (retried): never "nothing unusual".
    const autonomousByContract = contractLaneOf(compiled, proposal, counted) === 'autonomous';
    const agentStats = await observeAgentStats(compiled, proposal, e.subject, autonomousByContract, this.stats, now);
    const inputs = {
      killSwitch: killSwitch(this.flags, this.names.execPrefix, proposal),
      autonomy: autonomyLevel(this.flags, this.names.autonomyPrefix, proposal),
      degradationMode,
      trustStackHealthy,
      ...counted,
      agentStats,
    };
    const decision = evaluate(compiled, proposal, inputs);
    // Prohibited only because the trust verdict has just gone stale (the monitor's heartbeat held up by a passing outage:
    // Kafka away, its service restarting): a transient doubt, held and retried, not decided for good. Stale for longer,
    // the monitor is taken as gone and the prohibition stands (the agent may retry later).
    if (
      decision.lane === 'prohibited' &&
      trustStackHealthy === 'unknown' &&
      this.trust?.recentlyStale() &&
      evaluate(compiled, proposal, { ...inputs, trustStackHealthy: true }).lane !== 'prohibited'
    )
      throw new DependencyUnavailableError(this.trust.reason());
    // Built, not yet published: it is stored first (below), and only the decision that stands goes out.
    const made = this.seal(
      this.bus.envelope(
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
          proposerPrincipal: proposer,
          evaluatedAt: now.toISOString(),
          ...(e.data.revisionOf ? { revisionOf: e.data.revisionOf } : {}),
          ...(decision.review
            ? {
                review: {
                  slaClass: decision.review.slaClass,
                  slaSeconds: decision.review.slaSeconds,
                  requiredRoles: decision.review.requiredRoles,
                  quorum: decision.review.quorum,
                  whenUnavailable: decision.review.whenUnavailable,
                  escalation: decision.review.escalation,
                },
              }
            : {}),
          sampledForAudit: decision.sampledForAudit,
          decidedBy: decision.decidedBy,
          riskClass: decision.riskClass,
          ...(decision.retryLater ? { retryLater: true } : {}),
        },
        { cause: e, actor: POLICY_ENGINE },
      ),
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
      // Counted once, by the instance whose decision stands. An action type outside the contract (prohibited) is
      // `other`: an agent's typo must not make a new series.
      const actionType = proposal.actionType in contract.actions ? proposal.actionType : 'other';
      this.metrics
        ?.counter('countersign_policy_decisions_total')
        .inc({ action_type: actionType, lane: decision.lane, decided_by: decision.decidedBy ?? 'none' });
      this.metrics?.histogram('countersign_decision_delay_seconds').observe({ action_type: actionType, lane: decision.lane }, secondsSince(e.time));
      return this.bus.publish(TOPICS.policyDecided, made);
    }
    if (actionDigest(proposal, kept.data.contractVersion) !== kept.data.digest) {
      // Another proposal under an action id that was decided already: not this decision's, and not decided again.
      this.logger.error({ decisionEventId: kept.id }, 'a different proposal arrived for an action already decided; ignored');
      return;
    }
    this.logger.info({ lane: kept.data.lane }, 'decided before; the stored decision is published again');
    // The store keeps no proposal (regulated data does not rest in a store): the redelivery carries it. A decision kept
    // before decisions were sealed (docs/adr/0040) is sealed now, or its action would never run.
    const again = { ...kept, data: { ...kept.data, proposal } };
    await this.bus.publish(TOPICS.policyDecided, kept.data.seal ? again : this.seal(again));
  }

  /**
   * The decision with its seal (docs/adr/0040), over everything it says, the proposal included (stored without it, it is
   * published again with the same proposal, so the seal still verifies). No key valid now: nothing is decided, and the
   * proposal is retried (a transient doubt: the key is rotated in without a restart).
   */
  private seal(made: TopicMap[typeof TOPICS.policyDecided]): TopicMap[typeof TOPICS.policyDecided] {
    if (!this.signer) return made;
    try {
      return { ...made, data: { ...made.data, seal: sealEvent(this.signer, made, 'decision') } };
    } catch (err) {
      if (err instanceof SigningUnavailableError) throw new DependencyUnavailableError(`decisions cannot be sealed now: ${err.message}`);
      throw err;
    }
  }
}
