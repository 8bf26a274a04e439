import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, serviceActor } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { DecisionSigner, SigningUnavailableError } from '@countersign/approval';
import { emitControlFact, EVENT_BUS, LOGGER, TRUST_HEALTH, TrustHealthState } from '@countersign/nest';
import type { LeaderLease } from '../degradation/leader-lease';
import { APPROVAL_SIGNING_KEY, TRUST_LEASE, TRUST_MONITOR_SETTINGS, TRUST_SOURCES } from '../tokens';
import { assessTrust, TrustFinding, TrustSource, worse } from './trust-source';

const REVIEW_QUEUE = serviceActor('review-queue');

/** The one key of the compacted trust health topic. */
export const TRUST_HEALTH_SUBJECT = 'trust-health';

export interface TrustMonitorSettings {
  /** How often every source is checked (`TRUST_CHECK_MS`): the fail-closed delay is at most this (plus propagation). */
  checkMs: number;
  /** An unchanged verdict is published again this often, so followers can tell a live monitor from a gone one. */
  heartbeatMs: number;
  /** The lease's time to live: a monitor that stops renewing hands over after this long. */
  leaseTtlMs: number;
  /** This instance's name in the lease. */
  instanceId: string;
  now: () => number;
}

export const DEFAULT_TRUST_MONITOR_SETTINGS: Omit<TrustMonitorSettings, 'instanceId'> = {
  checkMs: 5_000,
  heartbeatMs: 30_000,
  leaseTtlMs: 15_000,
  now: Date.now,
};

/** What decides whether a verdict is news: the health and, per item, its status and key. */
const fingerprint = (findings: readonly TrustFinding[]) =>
  findings
    .map((f) => `${f.kind}|${f.owner}|${f.purpose}|${f.source}|${f.status}|${f.keyId ?? ''}|${f.notAfter ?? ''}`)
    .sort()
    .join('\n');

/**
 * The trust monitor (ADR 0019): every review-queue instance runs the ticker, the one holding its lease checks every
 * source each `checkMs` and publishes the verdict on the compacted control topic `control.trust.health-changed.v1`
 * when it changes, and as a heartbeat every `heartbeatMs`. It continues from the verdict the topic holds (read first),
 * so a new leader neither repeats an unchanged verdict nor loses the `previous` health. Every degradation is an alert
 * line (`alert: 'trust-stack'`); every verdict is audited by the audit writer like any event.
 */
@Injectable()
export class TrustMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private leading = false;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(TRUST_LEASE) private readonly lease: LeaderLease,
    @Inject(TRUST_HEALTH) private readonly state: TrustHealthState,
    @Inject(TRUST_SOURCES) private readonly sources: readonly TrustSource[],
    @Inject(TRUST_MONITOR_SETTINGS) private readonly settings: TrustMonitorSettings,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.settings.checkMs);
    this.timer.unref();
    // The first verdict as soon as the topic is read, not a check interval later.
    this.state.onApplied(() => void this.tick());
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    if (this.leading) await this.lease.release(this.settings.instanceId).catch(() => undefined);
  }

  /** Whether this instance held the lease at its last check. */
  isLeader(): boolean {
    return this.leading;
  }

  /** One check (a check asked for while one runs joins it). Never throws: a failure is logged and the next tick tries again. */
  tick(): Promise<void> {
    this.ticking ??= this.check()
      .catch((err) => this.logger.warn({ err }, 'trust monitor check failed; next tick'))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async hold(): Promise<boolean> {
    const held = await this.lease.acquire(this.settings.instanceId, this.settings.leaseTtlMs).catch(() => false);
    if (held !== this.leading) {
      if (held) this.logger.info({ instanceId: this.settings.instanceId }, 'holds the trust monitor lease: checks the keys');
      else this.logger.warn({ instanceId: this.settings.instanceId }, 'lost the trust monitor lease: stops checking');
    }
    this.leading = held;
    return held;
  }

  private async check(): Promise<void> {
    // The verdict continues from what the topic holds: not read yet, nothing to continue from.
    if (!this.state.known()) return;
    if (!(await this.hold())) return;
    const now = this.settings.now();
    const findings = this.sources.flatMap((s) => s.check(new Date(now)));
    const { health, reason } = assessTrust(findings);
    const last = this.state.latestEvent();
    const changed = !last || last.data.health !== health || fingerprint(last.data.findings) !== fingerprint(findings);
    const heartbeatDue = !last || now - Date.parse(last.time) >= this.settings.heartbeatMs;
    if (!changed && !heartbeatDue) return;
    // Checked on a lease that may have run out meanwhile: only a holder publishes.
    if (!(await this.hold())) return;
    const previous = last?.data.health;
    // Sealed with the review-decision key (docs/adr/0039): the topic's write credential alone states no verdict. When
    // that key is what expired, an `unhealthy` verdict goes out unsealed (followers accept it: it can only tighten).
    const data = { health, ...(previous && { previous }), findings, reason, checkMs: this.settings.checkMs, heartbeatMs: this.settings.heartbeatMs };
    const options = { subject: TRUST_HEALTH_SUBJECT, actor: REVIEW_QUEUE, time: new Date(now) };
    const event = await emitControlFact(this.bus, this.key, TOPICS.trustHealthChanged, data, options).catch((e: unknown) => {
      if (!(e instanceof SigningUnavailableError) || health !== 'unhealthy') throw e;
      return this.bus.emit(TOPICS.trustHealthChanged, data, options);
    });
    // Applied at once: the next check compares with it, before the follower reads it back.
    this.state.apply(event);
    if (!changed) return;
    const bad = findings
      .filter((f) => f.status !== 'ok')
      .map(({ owner, purpose, keyId, status, notAfter, reason: why }) => ({ owner, purpose, keyId, status, notAfter, reason: why }));
    if (worse(previous, health) || (health !== 'healthy' && previous === health))
      this.logger.error({ alert: 'trust-stack', health, previous, findings: bad }, `trust stack ${health}: ${reason}`);
    // Better, or the first verdict of a healthy stack: news, not a warning.
    else
      (health === 'healthy' ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger))(
        { health, previous },
        `trust stack ${health}: ${reason}`,
      );
  }
}
