import { Inject, Injectable, Optional } from '@nestjs/common';
import { POLICY_ENGINE_SEAL, ReviewDecisionClaims, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import { DependencyUnavailableError, EventBus, Semaphore, serviceActor } from '@countersign/bus';
import { ActionHeldV1, actionDigest, ActionRefusedV1, canonicalDigest, Envelope, TOPICS, TopicMap } from '@countersign/contracts';
import { autonomyLevel, executionFlagName, FlagReader } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { Metrics, secondsSince } from '@countersign/metrics';
import { DEGRADATION_MODE, DegradationModeState, LOGGER, METRICS, TRUST_HEALTH, TrustHealthState } from '@countersign/nest';
import type { z } from 'zod';
import { RunningContract } from '@countersign/policy';
import { checkReviewDecision } from '../authorisation/approval-check';
import { checkApprovalUnderContract, checkAutonomousDecision, checkAutonomyNow } from '../authorisation/autonomy-check';
import { Connector, ConnectorRegistry, ConnectorResult, CONNECTORS } from '../connectors/connector';
import { DEFAULT_RECONCILIATION, ReconciliationSettings } from '../reconciliation/reconciliation.settings';
import {
  APPROVAL_KEYS,
  AUDIT_UNAVAILABLE,
  AUTONOMY_PREFIX,
  DECISION_KEYS,
  EXECUTIONS,
  FLAGS,
  FLAG_PREFIX,
  MAX_HOLD_MS,
  OUTCOME_BUS,
  RECONCILIATION,
} from '../tokens';
import { ActionRecord, ExecutionRepository, ReviewDecidedEvent } from './execution.repository';
import { idempotencyKeyOf } from './idempotency-key';
import { OutcomeOutbox } from './outcome-outbox';

type PolicyDecidedEvent = TopicMap[typeof TOPICS.policyDecided];
type Refusal = Pick<z.infer<typeof ActionRefusedV1>, 'code' | 'reason'>;
type HoldCode = z.infer<typeof ActionHeldV1>['code'];
/**
 * What the gates before an execution say (`ExecutionService.gate`): it may start; it is refused for good; or it waits
 * (the bus delivers it again), with a hold to audit once when the wait is one an operator should see.
 */
type Gate =
  | { pass: true }
  | { pass: false; refusal: Refusal; suspicious: boolean }
  | { pass: false; wait: string; hold?: { code: HoldCode; reason: string; state: string; extra?: { trustHealthEventId: string } } };

/** What a handler says when it left the action to another delivery at work on it (a claim within its lease). */
const IN_FLIGHT = 'left-in-flight';

/** How an outcome is named in the metrics' `outcome` label: an unknown outcome is `unknown`. */
const outcomeLabel = (state: ConnectorResult['status'] | 'refused'): string => (state === 'outcome_unknown' ? 'unknown' : state);
type LeftInFlight = typeof IN_FLIGHT;

/** How far ahead of the executor's clock a decision or an approval may be stamped (clocks drift apart a little). */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** How long an authorisation holds while its execution is held, unless the module says otherwise: a day. */
export const DEFAULT_MAX_HOLD_MS = 24 * 3600_000;

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
  /**
   * The degradation mode from the control topic (ADR 0013): halted, or not read yet, holds executions. Injected by
   * the module (Nest fails the boot without it); a service built by hand in a unit test has none and is not held.
   */
  @Inject(DEGRADATION_MODE) private readonly degradation?: DegradationModeState;
  /**
   * The trust stack's health from its control topic (ADR 0019): not healthy, trust-sensitive executions are held.
   * Injected by the module; a service built by hand in a unit test has none and is not held.
   */
  @Inject(TRUST_HEALTH) private readonly trust?: TrustHealthState;
  /** Holds already audited (action and trust verdict), so a redelivery every few seconds does not emit again. */
  private readonly heldAudited = new Set<string>();
  /** Each connector's calls in flight (`Connector.maxInFlight`): the last check is read when a call can go out at once. */
  private readonly inFlight = new WeakMap<Connector, Semaphore>();
  /** The process's metrics (a service built by hand in a unit test has none). */
  @Optional() @Inject(METRICS) private readonly metrics?: Metrics;
  /**
   * How long an authorisation holds (`EXECUTION_MAX_HOLD_SECONDS`): an action held (halted mode, an unhealthy trust
   * stack, flags not loaded) whose decision or approval is older than this when it could run is refused, not run.
   */
  @Optional() @Inject(MAX_HOLD_MS) private readonly maxHoldMs: number = DEFAULT_MAX_HOLD_MS;
  /** Why the audit trail cannot record now (the embedded mode's audit file): no audit, no action. None: not looked at. */
  @Optional() @Inject(AUDIT_UNAVAILABLE) private readonly auditUnavailable?: () => string | undefined;
  /**
   * The autonomy flags' prefix (`AUTONOMY_FLAG_PREFIX`, as the policy engine's): an autonomous decision whose level was
   * lowered since is not run. A service built by hand in a unit test has none and does not look.
   */
  @Optional() @Inject(AUTONOMY_PREFIX) private readonly autonomyPrefix?: string;

  constructor(
    @Inject(OUTCOME_BUS) private readonly bus: EventBus,
    @Inject(EXECUTIONS) private readonly executions: ExecutionRepository,
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(FLAG_PREFIX) private readonly flagPrefix: string,
    @Inject(APPROVAL_KEYS) private readonly approvalKeys: VerifyKeys,
    /** The policy engine's public decision keys: a decision it did not seal is refused before anything is stored (ADR 0040). */
    @Inject(DECISION_KEYS) private readonly decisionKeys: VerifyKeys,
    /** The running contract (followed through approved changes): an autonomous decision is checked against it. */
    private readonly contract: RunningContract,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly outbox: OutcomeOutbox,
    /** After `leaseMs` in `executing`, the executor died mid-call: the reconciler settles the outcome. */
    @Inject(RECONCILIATION) private readonly reconciliation: ReconciliationSettings = DEFAULT_RECONCILIATION,
  ) {}

  /**
   * Every policy decision the policy engine sealed is stored first, so an approval that arrives early is never lost. One
   * it did not seal (written to the topic with its Kafka credential alone) is refused as an event, audited as suspicious,
   * before it is stored: it can neither run nor stand in for the genuine decision of its action (docs/adr/0040).
   */
  async onPolicyDecided(e: PolicyDecidedEvent): Promise<void> {
    const seal = verifyEventSeal(e, this.decisionKeys, POLICY_ENGINE_SEAL);
    if (!seal.ok) return this.refuse(e, { code: 'not-authorised', reason: `${seal.reason}: not a decision the policy engine made; not executed` }, true);
    const decision = {
      actionId: e.subject,
      correlationId: e.correlationId,
      decisionEventId: e.id,
      digest: e.data.digest,
      lane: e.data.lane,
      proposal: e.data.proposal,
      proposerPrincipal: e.data.proposerPrincipal,
      contractVersion: e.data.contractVersion,
    };
    // An autonomous decision that every gate lets through now is stored already claimed: one write instead of two
    // (issue 14). Stored by an earlier delivery, or held back by a gate: the decision goes the long way, below, which
    // reads the gates again and acts on them (a refusal recorded, a hold audited).
    if (decision.lane === 'autonomous' && this.gate({ ...decision, state: 'decided' }, e, null).pass) {
      const saved = await this.executions.saveClaimedDecision(decision, e.id, new Date());
      if (saved.stored) return this.run(saved.record, e, null);
      return this.afterSaved(saved.record, e);
    }
    return this.afterSaved(await this.executions.saveDecision(decision), e);
  }

  /** A policy decision, once stored (or found stored): the first one stands; its lane says what comes next. */
  private async afterSaved(record: ActionRecord, e: PolicyDecidedEvent): Promise<void> {
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
    if (record.lane === 'autonomous') {
      // The stored lane runs only as the policy engine sealed it: this delivery's copy was verified above, and a row that
      // says autonomous where the seal says otherwise was written by someone else (red team, 2026-12-07: a review-lane
      // row set to autonomous in the executor's database ran with no human). A genuine re-evaluation that came out
      // stricter on a redelivery refuses too: the stricter reading stands.
      if (record.state === 'decided' && (e.data.lane !== 'autonomous' || e.data.digest !== record.digest))
        return this.refuse(
          e,
          {
            code: 'not-authorised',
            reason: `the stored decision says autonomous, the policy engine's sealed decision says ${e.data.lane}${e.data.digest !== record.digest ? ' for another digest' : ''}: not executed`,
          },
          true,
        );
      return void (await this.execute(record, e, null));
    }
    // Check after write: the record is stored, so a review handler that kept its decision early after this
    // look looks again, finds the record and acts on it itself (onReviewDecided).
    if (record.lane === 'review') await this.actOnEarlyDecision(e.subject);
  }

  /**
   * Acts on the review decision kept early for this action, if one is kept. It stays kept until it has been acted on
   * (`onReviewDecided` forgets it then): a handler that fails or dies in between (a dependency down, the degradation
   * mode not read yet after a restart, kill -9) leaves it kept, and the policy decision, delivered again, finds it
   * again. Both handlers may act on it at once; the execution's claim lets one through (the other sees a redelivery).
   */
  private async actOnEarlyDecision(actionId: string): Promise<void> {
    const early = await this.executions.earlyApproval(actionId);
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
    if (verdict.ok && verdict.claims.decision === 'escalated') return; // still in review: nothing changes here
    if (verdict.ok && !record) {
      // Kept until the policy decision comes (approval or rejection alike), so the action's record closes either way.
      await this.executions.keepEarlyApproval(e.subject, e);
      this.logger.info({ decision: verdict.claims.decision }, 'review decision arrived before its policy decision; kept until the decision comes');
      // Check after write: the policy handler may have stored the record and looked for an early decision between
      // our read and our keep (the two topics have no order); then nobody else will act on it, so we do.
      const now = await this.executions.get(e.subject);
      if (now?.lane === 'review') await this.actOnEarlyDecision(e.subject);
      return;
    }
    let handled: LeftInFlight | void = undefined;
    if (!verdict.ok && verdict.stale) {
      this.logger.warn({ code: verdict.refusal.code, suspicious: false }, `refused: ${verdict.refusal.reason}`);
      await this.record(e.subject, 'refused', TOPICS.actionRefused, { ...verdict.refusal, suspicious: false, final: true }, e);
    } else if (!verdict.ok) await this.refuse(e, verdict.refusal, true);
    else handled = await this.actOnReview(e, record!, verdict.claims);
    // Acted on (or refused): a copy kept early, if this decision came before its policy decision, is not needed any more.
    // Left to another delivery at work on it, it stays kept: that delivery may give its claim back (the brake unreadable
    // at the call) and look for it again when its policy decision is delivered again.
    if (record && handled !== IN_FLIGHT) await this.executions.forgetEarlyApproval(e.subject, e.id);
  }

  private async actOnReview(e: ReviewDecidedEvent, record: ActionRecord, claims: ReviewDecisionClaims): Promise<LeftInFlight | void> {
    if (claims.decision !== 'approved') {
      // An expiry closes the record as expired (no decision in time), a revision as revised (a new action replaces it),
      // not as a reviewer's rejection; each is final.
      const closed = claims.decision === 'expired' ? 'expired' : claims.decision === 'revised' ? 'revised' : 'rejected';
      if (record.state === 'decided') await this.executions.finish(e.subject, closed, undefined);
      this.logger.info({ decision: claims.decision }, 'review decided against the action; it will not be executed');
      return;
    }
    return this.execute(record, e, claims.nonce);
  }

  /**
   * A reviewer approved the action with changes (docs/adr/0017): its review ends as `revised`, a signed decision like
   * any other, and a new action (another id, evaluated again) replaces it. Read as that review decision, so the same
   * checks apply (signature, action id, digest; a forged one is refused as an attack) and it closes the record for good.
   */
  async onProposalRevised(e: TopicMap[typeof TOPICS.proposalRevised]): Promise<void> {
    const { digest, signature, reason } = e.data;
    return this.onReviewDecided({ ...e, data: { decision: 'revised', reviewers: [e.actor], reason, digest, signature } } as unknown as ReviewDecidedEvent);
  }

  private async execute(record: ActionRecord, cause: Envelope, nonce: string | null): Promise<LeftInFlight | void> {
    if (record.state !== 'decided') return this.afterRedelivery(record, cause);
    const gate = this.gate(record, cause, nonce);
    if ('refusal' in gate) {
      (gate.suspicious ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger))(
        { code: gate.refusal.code, suspicious: gate.suspicious },
        `refused: ${gate.refusal.reason}`,
      );
      return void (await this.record(record.actionId, 'refused', TOPICS.actionRefused, { ...gate.refusal, suspicious: gate.suspicious, final: true }, cause));
    }
    if ('hold' in gate && gate.hold) await this.auditHold(record, cause, gate.hold.code, gate.hold.reason, gate.hold.state, gate.hold.extra);
    if (!gate.pass) throw new DependencyUnavailableError(gate.wait);
    const claimedAt = new Date();
    const claim = await this.executions.claim(record.actionId, cause.id, nonce, claimedAt);
    if (!claim.claimed) {
      const now = await this.executions.get(record.actionId);
      // Consumed by this very decision (a decision kept early, acted on by both handlers at once): a redelivery, not a replay.
      if (claim.reason === 'approval-consumed' && now?.authorisedBy !== cause.id)
        return this.refuse(cause, { code: 'approval-replayed', reason: 'this approval was already consumed' }, true);
      return now ? this.afterRedelivery(now, cause) : undefined;
    }
    return this.run({ ...record, state: 'executing', authorisedBy: cause.id, claimedAt: claimedAt.toISOString() }, cause, nonce);
  }

  /**
   * Whether an action decided (`record`) may start now on `cause` (its decision, or its approval with `nonce`), read
   * without a side effect, in this order: a refusal for good (the authorisation too old, an autonomous decision the
   * running contract would not make, a kill switch off or unreadable), or a wait the bus redelivers through (the
   * degradation mode unread or halted, the trust stack not healthy for trust-sensitive work, the flags not loaded),
   * with the hold to audit once when there is one.
   */
  private gate(record: ActionRecord, cause: Envelope, nonce: string | null): Gate {
    // A hold is not forever: what was decided or approved a day ago (by default) was decided on that day's facts (the
    // customer, the order, the risk, the reviewer's view). Past it, the action is refused for good; the agent proposes
    // again, and the new proposal is decided on today's.
    const age = Date.now() - Date.parse(cause.time);
    const stale = (why: string): Gate => ({
      pass: false,
      suspicious: false,
      refusal: { code: 'authorisation-stale', reason: `${nonce ? 'approved' : 'decided'} at ${cause.time}${why}` },
    });
    if (age > this.maxHoldMs) {
      const hours = (this.maxHoldMs / 3600_000).toFixed(this.maxHoldMs % 3600_000 ? 2 : 0);
      return stale(` and not executed within ${hours} h (held meanwhile): an authorisation this old no longer holds; propose again`);
    }
    // Stamped ahead of this clock by more than clocks drift apart: its age, and its approval's expiry, are unknown. Taken,
    // it would hold for as long as the clock that stamped it ran ahead (clock probe, 2026-12-05: an approval given while
    // the clock ran a year ahead executed after the clock was put right, and would have for a year). Refused, with the
    // reason: a host whose clock is off by more than that is broken, and held instead, each such action kept one of the
    // executor's delivery slots until its time came, so a few hundred stalled every execution (red team, 2026-12-05).
    if (-age > MAX_CLOCK_AHEAD_MS)
      return stale(
        `, ${Math.round(-age / 60_000)} min ahead of the executor's clock: an authorisation stamped by a clock that ran ahead cannot be aged; check the clocks, then propose again`,
      );
    // An autonomous decision runs only if the policy engine could have made it: its proposal is the one its digest
    // names, and the running contract lets that proposal run autonomously (autonomy-check.ts).
    if (nonce === null && record.lane === 'autonomous') {
      if (!record.contractVersion)
        return {
          pass: false,
          suspicious: true,
          refusal: { code: 'not-authorised', reason: 'an autonomous decision without its contract version: not executed' },
        };
      const verdict = checkAutonomousDecision({ ...record, contractVersion: record.contractVersion }, evaluatedAt(cause), this.contract);
      if (!verdict.ok && 'wait' in verdict) return { pass: false, wait: verdict.wait };
      if (!verdict.ok) return { pass: false, suspicious: verdict.suspicious, refusal: verdict.refusal };
      // A level lowered since the decision stops it, as a kill switch does (read once the flags are; stricter only).
      if (this.autonomyPrefix !== undefined && this.flags.loaded()) {
        const level = autonomyLevel(this.flags, this.autonomyPrefix, record.proposal);
        const now = checkAutonomyNow(record, evaluatedAt(cause), this.contract, level);
        if (!now.ok && !('wait' in now)) return { pass: false, suspicious: now.suspicious, refusal: now.refusal };
      }
    }
    // An approval runs the proposal it is bound to: the stored proposal must be the one the stored digest names, which the
    // approval's signed digest matched (approval-check.ts). Read from the executor's own database, and checked again at
    // the last moment (red team, 2026-12-07: a proposal rewritten in the row, 400 EUR to 48,000 EUR and another order,
    // ran on alice's approval of the genuine one).
    if (nonce !== null && (!record.contractVersion || actionDigest(record.proposal, record.contractVersion) !== record.digest))
      return {
        pass: false,
        suspicious: true,
        refusal: { code: 'digest-mismatch', reason: 'the stored proposal is not the one its approval is bound to (digest mismatch): not executed' },
      };
    // An approval stands on the contract it was decided under, unless a newer one running here prohibits the proposal.
    if (nonce !== null && record.contractVersion) {
      const verdict = checkApprovalUnderContract({ ...record, contractVersion: record.contractVersion }, evaluatedAt(cause), this.contract);
      if (!verdict.ok && !('wait' in verdict)) return { pass: false, suspicious: verdict.suspicious, refusal: verdict.refusal };
    }
    // Halted: nothing starts. Held, not refused: the bus redelivers the decision (with backoff) until the mode is
    // lowered, so an approved action waits for the mode instead of being thrown away (audited once, as held). The
    // same while the mode is unread (not audited: every action waits then, for a moment at a start).
    const mode = this.degradation ? this.degradation.mode() : 'normal';
    if (mode === undefined) return { pass: false, wait: this.degradation!.notKnownReason() };
    if (mode === 'halted') {
      const source = this.degradation!.source();
      return {
        pass: false,
        wait: 'degradation mode halted: execution held until the mode is lowered',
        hold: { code: 'degradation-halted', reason: 'the degradation mode is halted: held until the mode is lowered', state: source?.eventId ?? 'none' },
      };
    }
    const untrusted = this.untrusted(record, cause);
    if (untrusted) return untrusted;
    // No audit, no action: while the audit trail cannot record (a full disk under the embedded audit file), what runs
    // would go unrecorded for as long (disk probe, 2026-12-05). Held, not refused: it runs once the trail records again.
    const unaudited = this.auditUnavailable?.();
    // Held with its reason on the action's timeline, as the other holds are (red team, 2026-12-08: `waiting` said the
    // executor might have stopped mid-call). The event waits on the bus until the trail records again.
    if (unaudited)
      return {
        pass: false,
        wait: `the audit trail cannot record (${unaudited}): execution held until it can`,
        hold: { code: 'audit-unavailable', reason: `the audit trail cannot record (${unaudited}): held until it can`, state: 'audit-unavailable' },
      };
    return this.killSwitch(record);
  }

  /** The action type's kill switch: on passes; off or unreadable refuses for good; not loaded yet waits. */
  private killSwitch(record: ActionRecord): Gate {
    const killSwitch = this.flags.state(executionFlagName(this.flagPrefix, record.proposal.actionType), {
      tenant: record.proposal.tenant,
      region: record.proposal.region,
    });
    // Not the action's fault and not final: the bus redelivers it until the flags are there.
    if (killSwitch === 'unknown' && !this.flags.loaded())
      return { pass: false, wait: `flags not loaded: ${this.flags.notLoadedReason() ?? 'the flag source is not ready'}` };
    if (killSwitch === 'off')
      return {
        pass: false,
        suspicious: false,
        refusal: { code: 'kill-switch-off', reason: `the kill switch of ${record.proposal.actionType} is off: not executed` },
      };
    if (killSwitch !== 'on')
      return {
        pass: false,
        suspicious: false,
        refusal: {
          code: 'flag-unknown',
          reason: `the kill switch of ${record.proposal.actionType} cannot be read (never seen, or the flag source is unusable): failing closed`,
        },
      };
    return { pass: true };
  }

  private slots(connector: Connector): Semaphore {
    let slots = this.inFlight.get(connector);
    if (!slots) this.inFlight.set(connector, (slots = new Semaphore(Math.max(1, connector.maxInFlight ?? Number.POSITIVE_INFINITY))));
    return slots;
  }

  /**
   * Executes an action this delivery has claimed (`record` as claimed: `executing`, with its `claimedAt`): the connector's
   * call, then its outcome recorded and published.
   */
  private async run(record: ActionRecord, cause: Envelope, nonce: string | null): Promise<void> {
    const connector = this.connectors.for(record.proposal.actionType);
    const idempotencyKey = idempotencyKeyOf(record.actionId, record.digest);
    const p = record.proposal;
    // The gate is read again at the last moment, in memory, once the connector can make the call at once (a free
    // connection): a kill switch turned off, an autonomy level lowered, a contract changed or the mode halted while this
    // action was being claimed (a write that queues behind others under load), or while it waited for a connection,
    // stops it here. So each is in force once its call has answered, for every call not already made (red team,
    // 2026-12-04: effects had arrived 2.7 s after the answer; race probe, 2026-12-05: up to 1.8 s, from calls queued
    // behind the connector's 64 connections, and after a lowering or a contract change, which only the claim read).
    const called = await this.slots(connector).run(async (): Promise<{ brake: Exclude<Gate, { pass: true }> } | { result: ConnectorResult }> => {
      // The claim is a lease: past it the reconciler takes the action for stranded and settles it. A call that could
      // not end within it (a long wait for a connection, red team of this change, 2026-12-05) is not made: the claim is
      // given back and the action delivered again.
      const waited = Date.now() - Date.parse(record.claimedAt!);
      if (waited + (connector.timeoutMs ?? 0) >= this.reconciliation.leaseMs)
        return { brake: { pass: false, wait: `waited ${waited} ms for a connection to the target: too little of the claim's lease is left for the call` } };
      const brake = this.gate(record, cause, nonce);
      if (!brake.pass) return { brake };
      const request = {
        actionId: record.actionId,
        actionType: p.actionType,
        target: p.target,
        parameters: p.parameters,
        tenant: p.tenant,
        digest: record.digest,
      };
      const calling = performance.now();
      const result = await connector.execute(request, idempotencyKey);
      this.metrics
        ?.histogram('countersign_target_call_seconds')
        .observe({ action_type: p.actionType, outcome: outcomeLabel(result.status) }, (performance.now() - calling) / 1000);
      return { result };
    });
    if ('brake' in called) {
      const brake = called.brake;
      if ('wait' in brake) return this.giveBack(record, cause, nonce, brake.wait);
      this.logger.warn({ code: brake.refusal.code }, `refused before the call: ${brake.refusal.reason}`);
      return void (await this.record(record.actionId, 'refused', TOPICS.actionRefused, { ...brake.refusal, suspicious: brake.suspicious, final: true }, cause));
    }
    const { result } = called;
    const authorisedBy = nonce ? ('approval' as const) : ('autonomous-decision' as const);
    const lane = authorisedBy === 'approval' ? 'review' : 'autonomous';
    if (result.status === 'executed') {
      // `attempt`: the requests that carried it (2 when the connector sent it once more on a dropped connection).
      const data = {
        connector: connector.name,
        digest: record.digest,
        authorisedBy,
        attempt: result.attempts,
        ...(result.externalRequestId ? { externalRequestId: result.externalRequestId } : {}),
      };
      this.logger.info({ connector: connector.name, authorisedBy, externalRequestId: result.externalRequestId }, 'action executed');
      if (await this.record(record.actionId, 'executed', TOPICS.actionExecuted, data, cause, record.claimedAt)) {
        this.metrics?.counter('countersign_actions_executed_total').inc({ action_type: p.actionType, lane });
        this.metrics
          ?.histogram('countersign_execution_delay_seconds')
          .observe({ action_type: p.actionType, lane, outcome: 'executed' }, secondsSince(cause.time));
      }
    } else {
      const data = { outcome: result.status, connector: connector.name, digest: record.digest, error: result.error };
      // A target that asked for time (`Retry-After`) is left alone until then: the reconciler claims the action after it.
      const retryNotBefore = result.status === 'outcome_unknown' && result.retryAfterMs ? new Date(Date.now() + result.retryAfterMs) : undefined;
      if (await this.record(record.actionId, result.status, TOPICS.actionFailed, data, cause, record.claimedAt, retryNotBefore))
        this.metrics
          ?.histogram('countersign_execution_delay_seconds')
          .observe({ action_type: p.actionType, lane, outcome: outcomeLabel(result.status) }, secondsSince(cause.time));
    }
  }

  /**
   * The brake could not be read at the last moment (the flags not loaded: a flag file being replaced, Unleash's data not
   * there yet): a doubt that passes, which the gate before the claim would have waited through. So no call and no refusal
   * (red team, 2026-12-05: a flag file away for 0.3 s refused an action for good): the claim is given back (the action
   * `decided` again, the approval's nonce not consumed) and the delivery fails as a dependency failure, so the bus
   * delivers it again; its gate waits until the flags are read, then the action is claimed afresh and executed, or
   * refused for a reason that is final. A claim taken over meanwhile (its lease ran out first) is its new owner's.
   */
  private async giveBack(record: ActionRecord, cause: Envelope, nonce: string | null, wait: string): Promise<void> {
    const released = await this.executions.release(record.actionId, { authorisedBy: cause.id, claimedAt: record.claimedAt!, approvalNonce: nonce });
    if (!released) {
      this.logger.warn({ reason: wait }, 'not executed, and the claim was taken over meanwhile; left to its owner (the reconciler)');
      return;
    }
    this.logger.warn({ reason: wait }, 'not executed yet: the claim is given back and the action waits');
    throw new DependencyUnavailableError(`${wait}: not executed yet (its claim given back)`);
  }

  /**
   * Records how the action ended together with the event that says so, then publishes the event (the outbox): if the
   * publish fails or the process stops first, the `OutcomeOutbox` publishes it later, so the outcome is always heard of.
   */
  private async record<T extends typeof TOPICS.actionExecuted | typeof TOPICS.actionFailed | typeof TOPICS.actionRefused>(
    actionId: string,
    state: 'executed' | 'failed' | 'outcome_unknown' | 'refused',
    topic: T,
    data: TopicMap[T]['data'],
    cause: Envelope,
    /** The claim a call was made under: its outcome is recorded only while the claim holds (`finish`). */
    claimedAt?: string,
    /** An unknown outcome whose target asked for time: no reconciler claims it before then. */
    retryNotBefore?: Date,
  ): Promise<boolean> {
    const event = this.bus.envelope(topic, data, { cause, actor: this.actor });
    if (!(await this.executions.finish(actionId, state, { topic, data, event }, claimedAt ? { claimedAt } : undefined, retryNotBefore))) {
      // The call outlived its claim's lease: the reconciler took the action over and settles it (under the same key).
      this.logger.warn({ state }, `the call ended ${state} after its claim was taken over (its lease ran out): the reconciler's outcome stands`);
      return false;
    }
    // Counted once it is recorded (a redelivery publishes the record again and is not counted). An unknown outcome is
    // no end: the reconciler counts how it settles it (`via: reconciliation`).
    this.metrics?.counter('countersign_execution_outcomes_total').inc({ outcome: outcomeLabel(state), via: 'execution' });
    await this.outbox.publish(actionId, topic, event);
    return true;
  }

  /**
   * The action is past `decided`. The same authorisation again is a redelivery: publish the recorded
   * outcome again (same event id, dropped downstream), or, when the executor died mid-call, report
   * `outcome_unknown` for the reconciler to settle — never call the target again blindly. Another
   * authorisation is a replay.
   */
  private async afterRedelivery(record: ActionRecord, cause: Envelope): Promise<LeftInFlight | void> {
    if (record.authorisedBy !== cause.id) {
      if (record.state === 'refused' || record.state === 'rejected' || record.state === 'expired' || record.state === 'revised') {
        // Closed without running: its policy decision or closing review decision delivered again changes nothing, but an
        // approval now is a replay (red team F4: it went unrefused, audited only as the bus event).
        if (cause.type !== TOPICS.reviewDecided || (cause as ReviewDecidedEvent).data.decision !== 'approved') return;
        return this.refuse(cause, { code: 'approval-replayed', reason: `an approval for an action already ${record.state}: not executed` }, true);
      }
      return this.refuse(cause, { code: 'approval-replayed', reason: `the action is already ${record.state}` }, cause.type === TOPICS.reviewDecided);
    }
    if (record.outcome?.event) return this.outbox.publish(record.actionId, record.outcome.topic, record.outcome.event);
    if (record.outcome) {
      // Recorded by the reconciler, which publishes before it records: the same event again (same cause, same id).
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
      if (stranded) {
        this.metrics?.counter('countersign_execution_outcomes_total').inc({ outcome: 'unknown', via: 'execution' });
        await this.bus.emit(TOPICS.actionFailed, data, { cause, actor: this.actor });
      }
      return;
    }
    // Within its lease another delivery is at work and records the outcome; if it died, the reconciler settles
    // the action once the lease runs out (and so it does for one reconciling or awaiting a person's answer).
    this.logger.warn({ state: record.state }, 'duplicate delivery while the action is being executed or reconciled; left to it (and to the reconciler)');
    return IN_FLIGHT;
  }

  /**
   * Trust-sensitive work waits for a healthy trust stack (ADR 0019): an action approved by a signature (its authority
   * is the trust stack's product), or an autonomous one the contract does not rate low-risk (the policy engine's
   * trust-sensitive rule; a decision without a risk class counts as risky). Held, not refused: the hold is audited
   * once (`execution.action.held.v1`), and the bus redelivers the decision until the trust stack is healthy again —
   * a transient doubt is never made final. Not read yet: every trust-sensitive execution waits, unaudited.
   */
  private untrusted(record: ActionRecord, cause: Envelope): Gate | undefined {
    if (!this.trust) return undefined;
    const risk = cause.type === TOPICS.policyDecided ? (cause as PolicyDecidedEvent).data.riskClass : undefined;
    if (record.lane === 'autonomous' && risk === 'low') return undefined;
    const healthy = this.trust.healthy();
    if (healthy === true) return undefined;
    const reason = this.trust.reason();
    if (healthy === undefined) return { pass: false, wait: reason };
    const source = this.trust.source();
    return {
      pass: false,
      wait: `trust stack not healthy: execution held (${reason})`,
      hold: {
        code: 'trust-stack-unhealthy',
        reason: `the trust stack is ${healthy === false ? 'unhealthy' : 'not known to be healthy'} (${reason}): held until it is healthy again`,
        state: `${source?.eventId ?? 'none'}|${String(healthy)}`,
        extra: source && { trustHealthEventId: source.eventId },
      },
    };
  }

  /**
   * Audits a hold once (`execution.action.held.v1`: the action's timeline says `held` and why), however often the
   * decision is redelivered: one event per action and `state` (the control event in force), also across instances.
   */
  private async auditHold(record: ActionRecord, cause: Envelope, code: HoldCode, reason: string, state: string, extra?: { trustHealthEventId: string }) {
    const key = `${record.actionId}|${code}|${state}`;
    if (this.heldAudited.has(key)) return;
    await this.bus.emit(TOPICS.actionHeld, { code, reason: reason.slice(0, 2000), ...extra }, { cause, actor: this.actor, discriminator: key });
    if (this.heldAudited.size > 10_000) this.heldAudited.clear();
    this.heldAudited.add(key);
    this.logger.warn({ code, lane: record.lane }, `held: ${reason}`);
  }

  private async refuse(cause: Envelope, refusal: Refusal, suspicious: boolean): Promise<void> {
    (suspicious ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger))({ code: refusal.code, suspicious }, `refused: ${refusal.reason}`);
    // The event is refused, not the action: it goes on as it was. Its id names the copy refused (a hash of its content):
    // a forged event may carry the id of the genuine one (ids derived from their cause can be computed by anyone who reads
    // the cause), and this refusal must not take the id of the genuine event's own outcome (red team pass 6).
    const copy = canonicalDigest(cause).slice(0, 16);
    await this.bus.emit(TOPICS.actionRefused, { ...refusal, suspicious, final: false }, { cause, actor: this.actor, discriminator: `refused-copy:${copy}` });
  }
}

/** When the policy engine read the contract for this decision (`evaluatedAt`; before it was carried, the event's time). */
function evaluatedAt(decision: Envelope): Date {
  const at = (decision.data as { evaluatedAt?: unknown } | undefined)?.evaluatedAt;
  return new Date(typeof at === 'string' ? at : decision.time);
}
