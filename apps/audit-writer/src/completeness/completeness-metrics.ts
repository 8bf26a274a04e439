import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { LOGGER, METRICS, Sweeper } from '@countersign/nest';
import type { AuditLogRepository } from '../log-store/audit-log.repository';
import { AUDIT_LOG, COMPLETENESS_SETTINGS } from '../tokens';
import { completeness } from './completeness';

export interface CompletenessSettings {
  /** How far back the window reaches: actions proposed at most this long ago (default 1 h). */
  windowMs: number;
  /** Actions proposed within this long are left out: still on their way through the pipeline (default 5 min). */
  graceMs: number;
  /** How often the check runs (default 60 s): one query over the window, cheap at this size. */
  intervalMs: number;
  now: () => number;
}

export const DEFAULT_COMPLETENESS: CompletenessSettings = { windowMs: 3_600_000, graceMs: 300_000, intervalMs: 60_000, now: Date.now };

/**
 * The share of the actions proposed in the recent window whose audit trail is complete: the operators' completeness
 * check (`countersign audit completeness`) over [now − window, now − grace]. A pending action is left out rather than
 * counted incomplete, as nothing is missing from its trail yet: one that waits for its reviewers (it may wait for its
 * SLA, the review clock ends it, and its age shows in the queue metrics), and one whose outcome the executor recorded as
 * unknown (its reconciler settles it executed or failed, a person's check may take hours; unknown outcomes and their
 * settlements show in `countersign_execution_outcomes_total`). Counted complete only once settled: an unknown outcome
 * is no end. 1 when the window holds no judged action.
 */
export async function completenessRatio(log: AuditLogRepository, now: number, s: Pick<CompletenessSettings, 'windowMs' | 'graceMs'>): Promise<number> {
  const { actions, gaps } = await completeness(log, new Date(now - s.windowMs).toISOString(), new Date(now - s.graceMs).toISOString());
  const pending = gaps.filter((g) => g.pending).length;
  const judged = actions - pending;
  return judged > 0 ? (judged - (gaps.length - pending)) / judged : 1;
}

/**
 * Runs the completeness check on an interval (the platform's `Sweeper`: an unref'd timer, one pass at a time, stopped
 * with the application) and sets `countersign_audit_completeness_ratio`. A check that fails (the store is away) leaves
 * the last value and is logged once per outage; the gauge is absent until the first check succeeds.
 */
@Injectable()
export class CompletenessMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sweeper: Sweeper;

  constructor(
    @Inject(AUDIT_LOG) private readonly log: AuditLogRepository,
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(LOGGER) logger: Logger,
    @Optional() @Inject(COMPLETENESS_SETTINGS) settings?: Partial<CompletenessSettings>,
  ) {
    const s = { ...DEFAULT_COMPLETENESS, ...settings };
    this.sweeper = new Sweeper(
      async () => {
        this.metrics.gauge('countersign_audit_completeness_ratio').set(await completenessRatio(this.log, s.now(), s));
        return 1;
      },
      s.intervalMs,
      logger,
      'audit completeness check (the metric keeps its last value)',
    );
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
    void this.sweeper.run();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }

  /** One check (joins one that runs). Never throws. */
  async check(): Promise<void> {
    await this.sweeper.run();
  }
}
