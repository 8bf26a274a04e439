import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, serviceActor } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { DecisionSigner } from '@countersign/approval';
import { emitControlFact, EVENT_BUS, LOGGER } from '@countersign/nest';
import { APPROVAL_SIGNING_KEY, DEGRADATION_CONTROL_STATE, LEADER_LEASE } from '../tokens';
import { DegradationControlState, MODE_SUBJECT, ModeChanged, ModeOverride } from './control-state';
import { Assessment, GovernanceService } from './governance.service';
import type { LeaderLease } from './leader-lease';
import { Mode, nextMode, rank } from './mode';

const REVIEW_QUEUE = serviceActor('review-queue');

const sameOverride = (a?: ModeOverride, b?: ModeOverride) => a?.mode === b?.mode && a?.expiresAt === b?.expiresAt && a?.by === b?.by && a?.reason === b?.reason;

/** The signals as the event records them (a load with nobody on shift, unbounded, as null). */
export function eventInputs(a: Assessment): ModeChanged['data']['inputs'] {
  const { pending, oldestAgeShare, pendingPerReviewer, burnRate } = a.inputs.signals;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    pending,
    oldestAgeShare: round(oldestAgeShare),
    pendingPerReviewer: Number.isFinite(pendingPerReviewer) ? round(pendingPerReviewer) : null,
    burnRate: round(burnRate),
    budgetExhausted: a.inputs.budgetExhausted,
  };
}

/**
 * The one degradation controller: every review-queue instance runs this ticker, and the one holding the Redis lease
 * decides. Each tick it reads the backlog and the SLOs, computes the mode (`nextMode`: hysteresis and dwell), applies
 * the operator override, and publishes every change on the compacted control topic, which the policy engine and
 * the executor follow. It decides only once it has read the control topics (the mode it continues from), and a lost
 * lease stops it deciding at once (renewed again right before each publish).
 */
@Injectable()
export class DegradationController implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private again = false;
  private leading = false;
  private lastRebuild = -Infinity;
  private stopOverrides?: () => void;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LEADER_LEASE) private readonly lease: LeaderLease,
    @Inject(DEGRADATION_CONTROL_STATE) private readonly control: DegradationControlState,
    private readonly governance: GovernanceService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.governance.settings.tickMs);
    this.timer.unref();
    // An override set through the API is applied at the next tick; the leader applies it at once.
    this.stopOverrides = this.control.onOverride(() => void this.tick());
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopOverrides?.();
    await this.ticking;
    // Hand over at once rather than after the lease's TTL.
    if (this.leading) await this.lease.release(this.governance.settings.instanceId).catch(() => undefined);
  }

  /** Whether this instance held the lease at its last tick. */
  isLeader(): boolean {
    return this.leading;
  }

  /** One decision; a tick asked for while one runs runs right after it. */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          await this.decide();
        } while (this.again);
      } catch (err) {
        // Whatever failed (Redis, PostgreSQL), changes may have missed the gauges meanwhile: the next tick rebuilds them.
        this.governance.suspectDrift();
        this.logger.warn({ err }, 'degradation controller tick failed; next tick');
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private async hold(): Promise<boolean> {
    const { instanceId, leaseTtlMs } = this.governance.settings;
    const held = await this.lease.acquire(instanceId, leaseTtlMs).catch(() => false);
    if (held !== this.leading) {
      if (held) this.logger.info({ instanceId }, 'holds the degradation lease: decides the mode');
      else this.logger.warn({ instanceId }, 'lost the degradation lease: stops deciding');
    }
    this.leading = held;
    return held;
  }

  private async decide(): Promise<void> {
    // The mode continues from what the control topic holds: not read yet, nothing to continue from.
    if (!this.control.caughtUp()) return;
    if (!(await this.hold())) return;
    const now = this.governance.settings.now();
    if (this.governance.takeRebuildDue(now, this.lastRebuild)) {
      await this.governance.rebuild(now);
      this.lastRebuild = now;
    }
    const assessment = await this.governance.assess(now);
    const last = this.control.published();
    const computed = nextMode({ mode: last.computed, since: last.computedSince }, assessment.inputs, this.governance.contract.degradation, now);
    const override = this.control.activeOverride(now);
    const mode = modeWith(override, computed.mode);
    const refused = this.control.needsRepublish();
    const stale = last.event && now - Date.parse(last.event.time) >= this.governance.settings.reassertMs;
    const republish = refused ?? (stale ? `the mode was last published at ${last.event!.time}: published again` : undefined);
    if (mode === last.mode && !computed.changed && sameOverride(override, last.override) && !republish) return;
    // Decided on a lease that may have run out while reading: only a holder publishes.
    if (!(await this.hold())) return;
    const reason = override
      ? mode !== override.mode
        ? `computed ${computed.mode} is above the override by ${override.by} to ${override.mode}, which no second admin confirmed: ${computed.reason}`
        : `operator override by ${override.by} until ${override.expiresAt}: ${override.reason}${override.resumes?.length ? `; then ${override.resumes.map((r) => `${r.mode} by ${r.by} until ${r.expiresAt}`).join(', then ')}` : ''} (computed: ${computed.mode}, ${computed.reason})`
      : last.override
        ? `operator override ended; computed: ${computed.reason}`
        : computed.reason;
    if (refused) this.logger.warn({ mode }, refused);
    else if (republish) this.logger.info({ mode }, republish);
    // Sealed with the review-decision key (docs/adr/0039): the topic's write credential alone sets no mode.
    const event = await emitControlFact(
      this.bus,
      this.key,
      TOPICS.degradationModeChanged,
      {
        mode,
        previous: last.mode,
        computed: computed.mode,
        inputs: eventInputs(assessment),
        reason: reason.slice(0, 2000),
        computedSince: new Date(computed.since).toISOString(),
        ...(override && { override }),
      },
      // After the event in force, even on a clock a little behind the last leader's: followers ignore an older event (a replay).
      { subject: MODE_SUBJECT, actor: REVIEW_QUEUE, time: new Date(Math.max(now, last.event ? Date.parse(last.event.time) + 1 : 0)) },
    );
    this.control.applyMode(event);
    const log = mode === last.mode ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger);
    log({ mode, previous: last.mode, computed: computed.mode, inputs: event.data.inputs }, `degradation mode ${mode}: ${reason}`);
  }
}

/**
 * The mode in force under `override`. One admin's override (no `confirmedBy`) holds only at or above the computed mode:
 * set while the backlog was low, it does not keep the controls loose once the backlog or the SLOs call for more (that
 * would be lowering the mode past the controller's judgement, which takes a second admin, ADR 0013). A confirmed one
 * holds as set.
 */
export function modeWith(override: ModeOverride | undefined, computed: Mode): Mode {
  if (!override) return computed;
  if (override.confirmedBy) return override.mode;
  return rank(override.mode) >= rank(computed) ? override.mode : computed;
}
