import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional, Provider } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { BusConsumer } from './bus-consumer';
import { refusedControlFact } from './control-facts';
import { LOGGER, METRICS, type ReadinessCheck } from './platform.module';

type TrustHealthChanged = TopicMap[typeof TOPICS.trustHealthChanged];

/** The trust health this instance applies (`TrustHealthState`), shared by the services of one process. */
export const TRUST_HEALTH = Symbol.for('countersign.TrustHealth');
const FOLLOWER_GROUP = Symbol.for('countersign.TrustHealthGroup');
const FOLLOWER_KEYS = Symbol.for('countersign.TrustHealthKeys');

/** A verdict counts this many heartbeats (plus one check) after it was published; older, it is stale (`unknown`). */
export const STALE_AFTER_HEARTBEATS = 3;
/**
 * Stale for up to this many heartbeats more, a verdict may be held up by a passing outage (Kafka away, the monitor's
 * service restarting); older still, the monitor is taken as gone. See `recentlyStale`.
 */
export const RECENTLY_STALE_HEARTBEATS = 3;
/**
 * A verdict stamped further ahead of this instance's clock is not applied (red team 2026-12-02: a verdict "healthy"
 * stamped in the future outranked every genuine one until that time, and its own `heartbeatMs` kept it fresh). The
 * monitor's clock may run this far ahead; more, and its verdicts are refused until it is fixed (fail closed: stale).
 */
export const MAX_CLOCK_AHEAD_MS = 30_000;
/** A verdict's own heartbeat and check interval count at most as long as the monitor may be configured (`TRUST_HEARTBEAT_MS`, `TRUST_CHECK_MS`). */
export const MAX_HEARTBEAT_MS = 3_600_000;
export const MAX_CHECK_MS = 300_000;

/**
 * The trust stack's health as this instance knows it, from the compacted control topic `control.trust.health-changed.v1`
 * (the trust monitor of the review queue publishes it; ADR 0019). Read like the degradation mode (ADR 0013): nothing is
 * known until the topic has been read to the end it had when this instance subscribed. Unlike the mode, an empty topic
 * read to its end is not "fine": no monitor ever vouched for the keys, so it is `unknown`, and so is a verdict older
 * than `STALE_AFTER_HEARTBEATS` heartbeats (the monitor stopped): both fail trust-sensitive work closed.
 */
export class TrustHealthState {
  private latest?: TrustHealthChanged;
  /** The verdict in force came without the monitor's seal (`applyUnsealedUnhealthy`). */
  private latestUnsealed = false;
  private current = false;
  private readonly listeners = new Set<(healthy: boolean | 'unknown', eventId: string | undefined) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether the control topic has been read to its end (before, the caller decides nothing: a transient doubt). */
  known(): boolean {
    return this.current;
  }

  /**
   * The policy input (`DecisionInputs.trustStackHealthy`): `true` for a fresh `healthy` or `degraded` verdict (a
   * rotation due is a warning: every key is still valid), `false` for `unhealthy`, `unknown` without a fresh verdict.
   * Undefined while the topic has not been read to its end.
   */
  healthy(): boolean | 'unknown' | undefined {
    if (!this.current) return undefined;
    const e = this.latest;
    if (!e || this.stale(e)) return 'unknown';
    return e.data.health !== 'unhealthy';
  }

  /** Why `healthy()` is not `true`, for the log, the hold and the retry. */
  reason(): string {
    if (!this.current) return 'the trust health control topic has not been read to its end yet';
    const e = this.latest;
    if (!e) return 'no trust monitor has reported the trust stack yet: failing closed';
    if (this.stale(e)) return `the trust monitor's last report (${e.time}) is stale: failing closed`;
    return e.data.reason;
  }

  /**
   * Whether the verdict in force is stale, but only for a little while (`RECENTLY_STALE_HEARTBEATS`): the policy engine
   * holds and retries a decision that only this would prohibit, instead of making a transient doubt final.
   */
  recentlyStale(): boolean {
    const e = this.latest;
    if (!this.current || !e || !this.stale(e)) return false;
    return this.now() - Date.parse(e.time) <= (STALE_AFTER_HEARTBEATS + RECENTLY_STALE_HEARTBEATS) * heartbeatOf(e) + checkOf(e);
  }

  /** The event in force (absent while the topic is empty). */
  source(): { eventId: string; time: string } | undefined {
    return this.latest && { eventId: this.latest.id, time: this.latest.time };
  }

  /** The verdict in force as published (the trust monitor continues from it). */
  latestEvent(): TrustHealthChanged | undefined {
    return this.latest;
  }

  /** Applies a verdict; a verdict it refuses (stamped ahead of this clock, or with no time) says why. */
  apply(e: TrustHealthChanged): string | undefined {
    const at = Date.parse(e.time);
    if (!Number.isFinite(at)) return `verdict ${e.id} has no readable time (${String(e.time)}): not applied`;
    if (at > this.now() + MAX_CLOCK_AHEAD_MS)
      return `verdict ${e.id} is stamped ${e.time}, more than ${MAX_CLOCK_AHEAD_MS / 1000} s ahead of this clock: not applied`;
    // One key, in order; but the monitor applies what it publishes at once, before its own follower reads the older
    // events back: an older one read after that does not roll the state back.
    if (this.latest && at < Date.parse(this.latest.time)) return undefined;
    const before = this.current ? this.healthy() : undefined;
    this.latest = e;
    this.latestUnsealed = false;
    if (this.current && this.healthy() !== before) this.tell();
    return undefined;
  }

  /**
   * Applies an `unhealthy` verdict that carries no valid seal (docs/adr/0039: it can only tighten), stamped no later than
   * this clock: stamped ahead, it would outrank the monitor's sealed verdicts until that time (red team pass 6).
   */
  applyUnsealedUnhealthy(e: TrustHealthChanged): string | undefined {
    if (e.data.health !== 'unhealthy') return `verdict ${e.id} is not sealed by the review queue and says ${e.data.health}: not applied`;
    const at = Date.parse(e.time);
    if (!Number.isFinite(at)) return `verdict ${e.id} has no readable time (${String(e.time)}): not applied`;
    const refused = this.apply({ ...e, time: new Date(Math.min(at, this.now())).toISOString() });
    if (!refused && this.latest?.id === e.id) this.latestUnsealed = true;
    return refused;
  }

  /**
   * Whether the verdict in force is `unhealthy` under the trust monitor's seal. An unsealed `unhealthy` is applied
   * (it only tightens: trust-sensitive work is held), but what cannot be undone by waiting, such as refusing a reviewer's
   * approval while the review clock runs, needs the monitor's own word: a forged verdict on the control topic expired
   * items for good (red team, 2026-12-05).
   */
  sealedUnhealthy(): boolean {
    return this.healthy() === false && !this.latestUnsealed;
  }

  /** The topic was read up to the end it had at the start: from now on `healthy()` answers. */
  caughtUp(): void {
    if (this.current) return;
    this.current = true;
    this.tell();
  }

  /** Hears every change of `healthy()` from now on (with the event in force). */
  onApplied(listener: (healthy: boolean | 'unknown', eventId: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private stale(e: TrustHealthChanged): boolean {
    return this.now() - Date.parse(e.time) > STALE_AFTER_HEARTBEATS * heartbeatOf(e) + checkOf(e);
  }

  private tell(): void {
    const healthy = this.healthy()!;
    for (const l of this.listeners) l(healthy, this.latest?.id);
  }
}

const heartbeatOf = (e: TrustHealthChanged) => Math.min(e.data.heartbeatMs, MAX_HEARTBEAT_MS);
const checkOf = (e: TrustHealthChanged) => Math.min(e.data.checkMs, MAX_CHECK_MS);

/**
 * Follows the trust health control topic into the instance's `TrustHealthState`: a replayed subscription of its own
 * (compacted, so a start reads the latest verdict).
 */
@Injectable()
export class TrustHealthFollower extends BusConsumer {
  protected override readonly replay = true;
  // One key: the latest must land last.
  protected override readonly concurrency = 1;

  constructor(
    @Inject(TRUST_HEALTH) private readonly state: TrustHealthState,
    @Inject(FOLLOWER_GROUP) protected readonly group: string,
    @Inject(FOLLOWER_KEYS) private readonly keys: { verify: VerifyKeys | undefined },
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) metrics?: Metrics,
  ) {
    super();
    // `countersign_trust_health`, from the moment the topic is read (before, it is absent), then read at each scrape:
    // a verdict goes stale by the clock, not only by an event.
    const stop = state.onApplied(() => {
      stop();
      metrics?.readGauge('countersign_trust_health', (set) => set({}, state.healthy() === true ? 1 : 0));
    });
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.trustHealthChanged]: async (e) => {
        // Only a verdict the review queue sealed loosens anything (docs/adr/0039); an unsealed one is applied only when it
        // says `unhealthy`, which can only tighten (the monitor publishes it unsealed when its own signing key is what
        // expired). Otherwise the state stays as it was: no verdict at all is `unknown`, and a genuine one goes stale.
        const before = this.state.healthy();
        const unsealed = refusedControlFact(e, this.keys.verify);
        if (unsealed && e.data.health === 'unhealthy')
          this.logger.warn({ eventId: e.id }, `an unsealed verdict "unhealthy" applied (it can only tighten): ${unsealed}`);
        const refused = unsealed ? this.state.applyUnsealedUnhealthy(e) && unsealed : this.state.apply(e);
        if (refused) return void this.logger.error({ alert: 'trust-health-refused', eventId: e.id }, refused);
        const after = this.state.healthy();
        if (before !== undefined && before !== after)
          (after === true ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger))(
            { trustHealth: e.data.health, healthy: after, previous: before },
            `trust health applied: ${e.data.reason}`,
          );
      },
    };
  }

  protected override caughtUp(): void {
    this.state.caughtUp();
    this.logger.info({ healthy: this.state.healthy() }, 'trust health read from the control topic');
  }
}

/**
 * The providers a service needs to follow trust health: the state (injected as `TRUST_HEALTH`) and its follower, in a
 * replay group of this instance's own (`<service>.trust-health.<instance>`), which applies only verdicts sealed by a key
 * of `keys` (the review queue's verify keys; none: no verdict applies, and trust health stays unknown).
 */
export function trustHealthProviders(service: string, keys: VerifyKeys | undefined, state = new TrustHealthState()): Provider[] {
  return [
    { provide: TRUST_HEALTH, useValue: state },
    { provide: FOLLOWER_KEYS, useValue: { verify: keys } },
    { provide: FOLLOWER_GROUP, useValue: `${service}.trust-health.${randomUUID().slice(0, 8)}` },
    TrustHealthFollower,
  ];
}

/**
 * The trust stack as a readiness signal (`advisory`: /readyz reports it under `signals.trust`, and stays ready): `ok`
 * for a fresh `healthy` verdict, otherwise what the verdict says (`degraded: …`, `unhealthy: …`, or why it is unknown).
 * Trust-sensitive work already fails closed per action, with the reason; an operator reading /readyz sees it there too
 * (red team, 2026-12-07: "ready" was read as "nothing noticed a deleted key").
 */
export function trustReadinessSignal(state: TrustHealthState): ReadinessCheck {
  return {
    name: 'trust',
    advisory: true,
    check: async () => {
      const healthy = state.healthy();
      const health = healthy === true ? state.latestEvent()?.data.health : undefined;
      if (health === 'healthy') return true;
      const said = healthy === true ? health : healthy === false ? 'unhealthy' : undefined;
      const reason = state.reason();
      // The monitor's reason may begin with its verdict already ("unhealthy: …"): said once.
      throw new Error(said && !reason.startsWith(`${said}:`) ? `${said}: ${reason}` : reason);
    },
  };
}
