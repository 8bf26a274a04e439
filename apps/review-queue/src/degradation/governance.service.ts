import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import { LOGGER } from '@countersign/nest';
import { BACKLOG_GAUGES, DEGRADATION_CONTRACT, DEGRADATION_SETTINGS, REVIEW_HISTORY } from '../tokens';
import type { BacklogGauges, BacklogSnapshot } from './backlog-gauges';
import type { DegradationSettings, ModeInputs } from './mode';
import type { ReviewHistory } from './review-history';
import { signalsOf } from './signals';
import { DecidedCounts, sloStatus, SloStatus } from './slo';

/** The parts of the operational contract the controller reads (`degradationContract`: the running contract, read at each use). */
export interface DegradationContract {
  slaClasses: Record<string, number>;
  degradation?: DegradationSettings;
}

export interface DegradationControllerSettings {
  /** How often the controller decides (default 1 s). */
  tickMs: number;
  /** The leader lease's time to live; renewed every tick (default 5 s: a dead leader is replaced within it). */
  leaseTtlMs: number;
  /**
   * The longest the gauges go without a rebuild from PostgreSQL (default 5 min). They are rebuilt sooner when they may
   * have missed a change: at once when a flush left them empty, and at the next tick after an update of them failed
   * here or a tick could not read them.
   */
  reconcileMs: number;
  /** How often the SLO counts are read from PostgreSQL (default 10 s). */
  sloRefreshMs: number;
  /** How long a reviewer's heartbeat keeps them on shift (default 90 s). */
  heartbeatTtlMs: number;
  /** The longest operator override (default 7 days). */
  maxOverrideMs: number;
  /**
   * How long the leader goes without publishing the mode (default 10 min): it publishes it again, unchanged, so that the
   * compacted topic's latest record on its key is always a sealed mode, whatever was written after it (a tombstone, red
   * team pass 6, would otherwise leave a restarted follower an empty topic, read as `normal`).
   */
  reassertMs: number;
  /** This instance, as the lease holder. */
  instanceId: string;
  now: () => number;
}

export const DEFAULT_DEGRADATION_SETTINGS: Omit<DegradationControllerSettings, 'instanceId'> = {
  tickMs: 1_000,
  leaseTtlMs: 5_000,
  reconcileMs: 300_000,
  sloRefreshMs: 10_000,
  heartbeatTtlMs: 90_000,
  maxOverrideMs: 7 * 24 * 3600_000,
  reassertMs: 600_000,
  now: Date.now,
};

/** The SLO window is counted again each time this share of its length has passed (7 days: every 5 min). */
const WINDOW_REFRESH_DIVISOR = 2000;

/** What the controller reads at one moment. */
export interface Assessment {
  at: number;
  inputs: ModeInputs;
  backlog: BacklogSnapshot;
  onShift: Record<string, number>;
  slos: SloStatus[];
}

/** Reads the controller's inputs: the gauges (Redis), the roster, and the SLOs (PostgreSQL, refreshed now and then). */
@Injectable()
export class GovernanceService {
  private slos?: { at: number; value: SloStatus[] };
  /** The SLO window's counts, read less often than the burn window's (`sloStatus`). */
  private windowCounts?: { at: number; counts: DecidedCounts[] };

  constructor(
    @Inject(BACKLOG_GAUGES) private readonly gauges: BacklogGauges,
    @Inject(REVIEW_HISTORY) private readonly history: ReviewHistory,
    @Inject(DEGRADATION_CONTRACT) readonly contract: DegradationContract,
    @Inject(DEGRADATION_SETTINGS) readonly settings: DegradationControllerSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Whether the gauges may have missed a change since their last rebuild (`suspectDrift`). */
  private driftSuspected = false;

  /** The gauges may have missed a change (an update of them failed, a tick could not read them): the next tick rebuilds them. */
  suspectDrift(): void {
    this.driftSuspected = true;
  }

  /** Whether a rebuild is due at `now` (drift suspected, or `reconcileMs` since `lastRebuild`); a suspicion is taken by it. */
  takeRebuildDue(now: number, lastRebuild: number): boolean {
    const due = this.driftSuspected || now - lastRebuild >= this.settings.reconcileMs;
    this.driftSuspected = false;
    return due;
  }

  /** Replaces the gauges with the pending items of PostgreSQL (after a flush; on suspected drift; at least every `reconcileMs`). */
  async rebuild(now: number): Promise<number> {
    const items = await this.history.pendingItems();
    await this.gauges.rebuild(items, new Date(now));
    return items.length;
  }

  async assess(now: number): Promise<Assessment> {
    let backlog = await this.gauges.snapshot();
    if (backlog.builtAt === undefined) {
      // Flushed (or never built): the gauges come back from the records of truth before anyone reads them.
      const n = await this.rebuild(now);
      this.logger.warn({ pending: n }, 'backlog gauges were empty (a Redis flush?): rebuilt from PostgreSQL');
      backlog = await this.gauges.snapshot();
    }
    const [onShift, slos] = await Promise.all([this.gauges.onShift(new Date(now)), this.sloStatus(now)]);
    const signals = signalsOf(backlog, onShift, this.contract.slaClasses, slos, now);
    return { at: now, inputs: { signals, budgetExhausted: slos.some((s) => s.exhausted) }, backlog, onShift, slos };
  }

  private async sloStatus(now: number): Promise<SloStatus[]> {
    const slo = this.contract.degradation?.slo;
    if (!slo) return [];
    if (this.slos && now - this.slos.at < this.settings.sloRefreshMs) return this.slos.value;
    // The SLO's window (the contract's: 7 days) is counted again once a 1/2000th of it has passed (5 min), the burn
    // window at every refresh: counting 7 days of decisions every 10 s held PostgreSQL 383 ms each time at 200,000
    // decided (a scale probe, 2026-12-06), for counts that a 5-minute lag moves by a 2000th of the window.
    const windowDue =
      !this.windowCounts || now - this.windowCounts.at >= Math.max(this.settings.sloRefreshMs, (slo.windowSeconds * 1000) / WINDOW_REFRESH_DIVISOR);
    const [window, burn] = await Promise.all([
      windowDue ? this.history.decidedSince(new Date(now - slo.windowSeconds * 1000)) : this.windowCounts!.counts,
      this.history.decidedSince(new Date(now - slo.burnWindowSeconds * 1000)),
    ]);
    if (windowDue) this.windowCounts = { at: now, counts: window };
    this.slos = { at: now, value: sloStatus(this.contract.slaClasses, slo, window, burn) };
    return this.slos.value;
  }
}
