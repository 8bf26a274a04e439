import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import { EventBus, EventCause, serviceActor } from '@countersign/bus';
import { ActionRefusedV1, EventData, TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { LOGGER, METRICS } from '@countersign/nest';
import type { z } from 'zod';
import { Connector, ConnectorRegistry, CONNECTORS, TargetStatus } from '../connectors/connector';
import { ActionRecord, ExecutionRepository, UnsettledClaim } from '../execution/execution.repository';
import { idempotencyKeyOf } from '../execution/idempotency-key';
import { APPROVAL_KEYS, CLOCK, EXECUTIONS, OUTCOME_BUS, RECONCILIATION } from '../tokens';
import { checkOutcomeAnswer, OutcomeAnsweredEvent } from './outcome-answer';
import { DEFAULT_MAX_RESENDS, ReconciliationSettings } from './reconciliation.settings';
import { ResendGate } from './resend-gate';

type Executed = EventData<typeof TOPICS.actionExecuted>;
type Failed = EventData<typeof TOPICS.actionFailed>;
type Refusal = Pick<z.infer<typeof ActionRefusedV1>, 'code' | 'reason'>;

/**
 * Settles what the executor could not: actions left `executing` past their lease (the executor stopped during
 * the call) and actions whose outcome was unknown (a timeout, a 5xx, a dropped connection). Each is claimed by
 * one reconciler at a time (a lease in the execution record) and settled by the first of these its connector
 * allows: ask the target (`statusQuery`); send it again under the *same* Idempotency-Key (`idempotentByKey`, on at most
 * `maxResends` looks); otherwise ask a person "did this happen?" (`execution.outcome.check-requested.v1`), whose signed answer
 * (`review.outcome.check-answered.v1`) settles it. Never a second call without the key, never a second call
 * to a target that does not apply an action once per key. Every step is an event, so the audit trail has it.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly actor = serviceActor('executor');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    @Inject(OUTCOME_BUS) private readonly bus: EventBus,
    @Inject(EXECUTIONS) private readonly executions: ExecutionRepository,
    @Inject(CONNECTORS) private readonly connectors: ConnectorRegistry,
    @Inject(APPROVAL_KEYS) private readonly approvalKeys: VerifyKeys,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(RECONCILIATION) private readonly settings: ReconciliationSettings,
    /** The time (a fake clock in tests). */
    @Optional() @Inject(CLOCK) private readonly clock: () => Date = () => new Date(),
    /** The brakes a second call waits for (kill switch, degradation mode, trust stack); given by the module. */
    @Optional() private readonly gate?: ResendGate,
    /** The process's metrics (a reconciler built by hand in a unit test may have none). */
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  onApplicationBootstrap() {
    this.schedule();
  }

  /** Before the HTTP server closes, as the consumers do (`BusConsumer`): a settle in flight may call a target of this process. */
  async beforeApplicationShutdown() {
    this.stopped = true;
    clearTimeout(this.timer);
    // At most a lease: what is still unsettled then is the next reconciler's, as after a crash.
    await withinLease(this.running ?? Promise.resolve(), this.settings.leaseMs).catch(() => undefined);
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((e: Error) => this.logger.error({ err: e }, `reconciler: ${e.message}; trying again in ${this.settings.periodMs} ms`))
        .finally(() => this.schedule());
    }, this.settings.periodMs);
    this.timer.unref();
  }

  /**
   * One look: claims the unsettled actions due now and settles each (side by side), then counts what is still unsettled
   * for the metrics. Returns how many it took on.
   */
  async runOnce(now: Date = this.clock()): Promise<number> {
    const claims = await this.executions.claimUnsettled(now, this.settings.leaseMs, this.settings.batch);
    // Each settle within its lease: one that does not end (a connector or a status query that never answers) holds no
    // other, nor the next look (hostile target probe, 2026-12-06: one hung re-send stopped every look for good).
    await Promise.all(
      claims.map((c) =>
        withinLease(this.reconcile(c), this.settings.leaseMs).catch((e: Error) =>
          // The lease brings it back: the next reconciler to look after it runs out tries again.
          this.logger.error({ err: e, actionId: c.record.actionId }, `reconciler: could not settle the action (${e.message}); tried again after the lease`),
        ),
      ),
    );
    await this.countUnsettled(now);
    return claims.length;
  }

  /**
   * What an operator alerts on: an outcome nobody settles (a target that never answers, a check nobody takes up). An action
   * stranded `executing` past its lease (the executor stopped during the call) counts before a reconciler has claimed it
   * (this one's batch was full, or its claims fail).
   */
  private async countUnsettled(now: Date): Promise<void> {
    if (!this.metrics) return;
    const { count, oldestSince } = await this.executions.unsettledOutcomes(now, this.settings.leaseMs);
    this.metrics.gauge('countersign_unsettled_outcomes').set(count);
    this.metrics.gauge('countersign_unsettled_outcome_oldest_seconds').set(oldestSince ? Math.max(0, (now.getTime() - oldestSince.getTime()) / 1000) : 0);
  }

  private async reconcile({ record, previous, previousClaimedAt }: UnsettledClaim): Promise<void> {
    const connector = this.connectors.for(record.proposal.actionType);
    const key = idempotencyKeyOf(record.actionId, record.digest);
    const cause = causeOf(record);
    const attempt = record.reconcileAttempts;
    const log = { actionId: record.actionId, correlationId: record.correlationId, connector: connector.name, attempt };
    if (previous === 'executing') {
      // The first step on the record: nobody recorded how the call ended. The same event a redelivery past the lease
      // reports (same cause, same id), so the trail has it once.
      await this.emitFailed(cause, {
        outcome: 'outcome_unknown',
        connector: connector.name,
        digest: record.digest,
        error: `no outcome within the lease of ${this.settings.leaseMs} ms: the executor stopped during the call; the reconciler settles it`,
      });
      // Once: the claim moved it from `executing`, as a redelivery past the lease would have (which counts it then).
      this.metrics?.counter('countersign_execution_outcomes_total').inc({ outcome: 'unknown', via: 'execution' });
    }

    if (previous === 'outcome_unknown' && record.outcome?.event) {
      // The executor recorded the unknown outcome with its event; it may not have gone out before this claim (settling
      // replaces the record's outcome, so the outbox would not send it any more). Once more: a copy is dropped downstream.
      await this.bus.publish(record.outcome.topic as typeof TOPICS.actionFailed, record.outcome.event as TopicMap[typeof TOPICS.actionFailed]);
    }

    const { statusQuery, idempotentByKey } = connector.capabilities;
    const maxResends = this.settings.maxResends ?? DEFAULT_MAX_RESENDS;
    const resendsLeft = attempt <= maxResends;
    if (statusQuery) {
      const status = await statusQuery(key).catch((e: Error): TargetStatus => {
        this.logger.warn({ ...log, err: e }, `reconciler: the target's status could not be read: ${e.message}`);
        return 'unknown';
      });
      const reconciliation = { method: 'status' as const, attempt };
      if (status === 'done') {
        this.logger.info(log, 'reconciled by status: the target reports the action took effect');
        return this.settle(record, 'executed', TOPICS.actionExecuted, this.executedData(record, connector, reconciliation, 1));
      }
      if (status === 'not-done' && !(idempotentByKey && resendsLeft)) {
        this.logger.info(log, 'reconciled by status: the target reports the action did not take effect');
        const error = idempotentByKey
          ? `the target reports the action did not take effect; not sent again (sent on ${maxResends} looks already)`
          : 'the target reports the action did not take effect; not sent again (the target does not apply an action once per key)';
        return this.settle(record, 'failed', TOPICS.actionFailed, {
          outcome: 'failed',
          connector: connector.name,
          digest: record.digest,
          error,
          reconciliation,
        });
      }
      // Not done and safe to send again under the key, or the target cannot tell: the step is on the record, and on.
      await this.emitFailed(
        cause,
        {
          outcome: 'outcome_unknown',
          connector: connector.name,
          digest: record.digest,
          error: status === 'not-done' ? 'the target reports the action did not take effect: sent again under the same key' : 'the target cannot tell',
          reconciliation,
        },
        `status-${attempt}`,
      );
    }

    if (idempotentByKey && resendsLeft) {
      // Sending again is executing again: not while a brake is on. Held, not refused (the first call may have taken
      // effect), and looked at again once this claim's lease runs out. On the record once per action and brake: the id
      // is derived from the hold's code, not the look, so the audit trail keeps the first (a redelivered id is kept
      // once). One per look wrote 437 entries a minute for a kill switch left off with nothing going on (soak probe,
      // 2026-12-05); each look is still logged.
      const hold = this.gate?.held(record);
      if (hold) {
        this.logger.warn({ ...log, code: hold.code }, `reconciler: ${hold.reason}; looked at again after the lease`);
        return void (await this.bus.emit(TOPICS.actionHeld, hold, { cause, actor: this.actor, discriminator: `resend-held-${hold.code}` }));
      }
      const p = record.proposal;
      // Again: a refusal now may follow a first delivery the target applied (or is still applying): no final failure.
      const result = await connector.execute(
        { actionId: record.actionId, actionType: p.actionType, target: p.target, parameters: p.parameters, tenant: p.tenant, digest: record.digest },
        key,
        { again: true },
      );
      const reconciliation = { method: 'resend' as const, attempt };
      if (result.status === 'executed') {
        this.logger.info({ ...log, externalRequestId: result.externalRequestId }, 'reconciled by re-sending under the same idempotency key: executed');
        const data = this.executedData(record, connector, reconciliation, result.attempts, result.externalRequestId);
        return this.settle(record, 'executed', TOPICS.actionExecuted, data);
      }
      if (result.status === 'failed') {
        this.logger.info(log, `reconciled by re-sending under the same idempotency key: the target refused it (${result.error})`);
        return this.settle(record, 'failed', TOPICS.actionFailed, {
          outcome: 'failed',
          connector: connector.name,
          digest: record.digest,
          error: result.error,
          reconciliation,
        });
      }
      // Still unknown: on the record, and tried again once this claim's lease runs out (the lease is the backoff), and
      // not before the time the target asked for (`Retry-After`, counted from this look), if it asked for longer.
      if (result.retryAfterMs && result.retryAfterMs > this.settings.leaseMs)
        await this.executions.postpone(record.actionId, { claimedAt: record.claimedAt }, new Date(Date.parse(record.claimedAt) + result.retryAfterMs));
      this.logger.warn(log, `re-sent under the same idempotency key, outcome still unknown (${result.error}); tried again after the lease`);
      return void (await this.emitFailed(
        cause,
        { outcome: 'outcome_unknown', connector: connector.name, digest: record.digest, error: `re-sent under the same key: ${result.error}`, reconciliation },
        `resend-${attempt}`,
      ));
    }

    // Neither safe to send again nor able to ask, or sent again as often as it may be: a person finds out.
    const since = previousClaimedAt ?? record.claimedAt;
    const why = idempotentByKey
      ? `it was sent again under its key on ${maxResends} looks and the outcome is still unknown`
      : `the ${connector.name} connector can neither send the action again safely nor ask the target`;
    await this.bus.emit(
      TOPICS.outcomeCheckRequested,
      {
        connector: connector.name,
        digest: record.digest,
        idempotencyKey: key,
        proposal: record.proposal,
        proposerPrincipal: record.proposerPrincipal ?? record.proposal.proposer.agentId,
        contractVersion: record.contractVersion ?? 'unknown',
        authorisedBy: authorisedByOf(record),
        since,
        reason: `the outcome is unknown since ${since}, and ${why}`,
      },
      { cause, actor: this.actor },
    );
    const moved = await this.executions.settle(record.actionId, { state: 'reconciling', claimedAt: record.claimedAt }, 'awaiting_check', record.outcome);
    if (moved) this.logger.info(log, 'outcome unknown: a person is asked whether it happened');
    else this.logger.warn(log, 'reconciler: the action was taken over meanwhile (its lease ran out); left to the new owner');
  }

  /**
   * A person's answer to "did this happen?". Acts only on the review queue's genuine answer, signed `happened` or
   * `not-happened`, for this action and digest, while the action awaits it; anything else changes nothing and a
   * forged or misdirected answer is refused as suspicious (audited).
   */
  async onOutcomeAnswered(e: OutcomeAnsweredEvent): Promise<void> {
    const record = await this.executions.get(e.subject);
    const verdict = checkOutcomeAnswer(e, record, this.approvalKeys, this.clock());
    if (!verdict.ok) return this.refuse(e, verdict.refusal);
    if (!record || record.state !== 'awaiting_check') {
      // A redelivery after it was settled, or an answer to a check the reconciler settled another way meanwhile.
      this.logger.warn({ state: record?.state }, 'an answer to an outcome check for an action that no longer awaits one; nothing changes');
      return;
    }
    const connector = this.connectors.for(record.proposal.actionType);
    const reconciliation = { method: 'person' as const, attempt: Math.max(record.reconcileAttempts ?? 1, 1) };
    const by = verdict.claims.deciders.join(', ');
    this.logger.info({ happened: e.data.happened, by }, 'reconciled by a person');
    if (e.data.happened) {
      return this.settle(record, 'executed', TOPICS.actionExecuted, this.executedData(record, connector, reconciliation, 1), 'awaiting_check');
    }
    return this.settle(
      record,
      'failed',
      TOPICS.actionFailed,
      { outcome: 'failed', connector: connector.name, digest: record.digest, error: `${by} found the action did not take effect`, reconciliation },
      'awaiting_check',
    );
  }

  private executedData(record: ActionRecord, connector: Connector, reconciliation: Executed['reconciliation'], attempt: number, externalRequestId?: string) {
    return {
      connector: connector.name,
      digest: record.digest,
      authorisedBy: authorisedByOf(record),
      attempt,
      ...(externalRequestId ? { externalRequestId } : {}),
      reconciliation,
    } satisfies Executed;
  }

  /**
   * Publishes the outcome, then records it, only while the action is still as this reconciler (or the awaited
   * answer) found it. Publish first: a crash between the two leaves the action unsettled and it is settled again,
   * re-publishing the same event (same id, dropped downstream); the other order could record an outcome nobody
   * ever hears of. An executed action has one `executed` event id whichever way it went (derived from the event that
   * authorised it, as a redelivery re-publishes it); a failure after an unknown outcome needs its own.
   */
  private async settle<T extends typeof TOPICS.actionExecuted | typeof TOPICS.actionFailed>(
    record: ActionRecord,
    state: 'executed' | 'failed',
    topic: T,
    data: EventData<T>,
    from: 'reconciling' | 'awaiting_check' = 'reconciling',
  ): Promise<void> {
    const cause = causeOf(record);
    await this.bus.emit(topic, data, { cause, actor: this.actor, ...(state === 'failed' ? { discriminator: 'reconciled' } : {}) });
    const expected = from === 'reconciling' ? { state: from, claimedAt: record.claimedAt } : { state: from };
    if (!(await this.executions.settle(record.actionId, expected, state, { topic, data }))) {
      this.logger.warn({ actionId: record.actionId, state }, 'reconciler: the action was settled or taken over meanwhile; its record is left as it is');
      return;
    }
    // Counted once it is recorded, as the executor counts its own outcomes: how the unknown outcome ended (a settle
    // that lost the race above, or was cut short before it recorded, is counted by the one that records it).
    this.metrics?.counter('countersign_execution_outcomes_total').inc({ outcome: state, via: 'reconciliation' });
    if (state === 'executed')
      this.metrics
        ?.counter('countersign_actions_executed_total')
        .inc({ action_type: record.proposal.actionType, lane: record.lane === 'review' ? 'review' : 'autonomous' });
  }

  private async emitFailed(cause: EventCause, data: Failed, discriminator?: string) {
    await this.bus.emit(TOPICS.actionFailed, data, { cause, actor: this.actor, ...(discriminator ? { discriminator } : {}) });
  }

  private async refuse(e: TopicMap[typeof TOPICS.outcomeCheckAnswered], refusal: Refusal) {
    this.logger.error({ code: refusal.code, suspicious: true }, `refused an outcome-check answer: ${refusal.reason}`);
    await this.bus.emit(TOPICS.actionRefused, { ...refusal, suspicious: true, final: false }, { cause: e, actor: this.actor });
  }
}

/** `work`, or a rejection once `leaseMs` passed without it settling (the work goes on; its claim's lease brings it back). */
function withinLease<T>(work: Promise<T>, leaseMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within the lease of ${leaseMs} ms`)), leaseMs);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The event that authorised the execution: what every event about its outcome follows from. */
const causeOf = (r: ActionRecord): EventCause => ({ id: r.authorisedBy ?? r.decisionEventId, subject: r.actionId, correlationId: r.correlationId });

/** Only a review-lane action is executed on an approval; an autonomous one on its decision. */
const authorisedByOf = (r: ActionRecord) => (r.lane === 'review' ? ('approval' as const) : ('autonomous-decision' as const));
