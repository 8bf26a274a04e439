import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { LOGGER, METRICS } from '@countersign/nest';
import { BACKLOG_GAUGES, DEGRADATION_CONTRACT } from '../tokens';
import type { BacklogGauges } from './backlog-gauges';
import type { DegradationContract } from './governance.service';

/**
 * Exposes the backlog gauges the degradation controller reads as `countersign_review_queue_depth` and
 * `countersign_review_queue_oldest_age_seconds`, read at each scrape (the gauges are shared by every instance, in
 * Redis or in memory). Every SLA class of the contract is there, at 0 when nothing waits; gauges that cannot be read
 * leave the two metrics out of that scrape rather than fail it.
 */
@Injectable()
export class BacklogMetrics implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void)[] = [];

  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(BACKLOG_GAUGES) private readonly gauges: BacklogGauges,
    @Inject(DEGRADATION_CONTRACT) private readonly contract: DegradationContract,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const snapshot = () =>
      this.gauges.snapshot().catch((err: unknown) => {
        this.logger.warn({ err }, 'backlog gauges unreadable: queue depth left out of this scrape');
        return undefined;
      });
    const classes = Object.keys(this.contract.slaClasses);
    this.stop.push(
      this.metrics.readGauge('countersign_review_queue_depth', async (set) => {
        const s = await snapshot();
        if (!s) return;
        for (const c of new Set([...classes, ...Object.keys(s.bySlaClass)])) set({ sla_class: c }, s.bySlaClass[c]?.depth ?? 0);
      }),
      this.metrics.readGauge('countersign_review_queue_oldest_age_seconds', async (set) => {
        const s = await snapshot();
        if (!s) return;
        const now = Date.now();
        for (const c of new Set([...classes, ...Object.keys(s.bySlaClass)])) {
          const oldest = s.bySlaClass[c]?.oldestCreatedAt;
          set({ sla_class: c }, oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000));
        }
      }),
    );
  }

  onModuleDestroy(): void {
    for (const s of this.stop) s();
    this.stop = [];
  }
}
