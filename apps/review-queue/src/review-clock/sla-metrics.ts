import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import type { Metrics } from '@countersign/metrics';
import { METRICS } from '@countersign/nest';
import type { DegradationContract } from '../degradation/governance.service';
import { DEGRADATION_CONTRACT } from '../tokens';

/**
 * The SLA of each class of the operational contract as `countersign_review_sla_seconds` (so alerting rules hold the
 * queue age against it without copying the contract), and the clock's expiry and escalation counters at 0 for each
 * class, so a rate over them is 0, not absent, before the first step. Read at every scrape from the running contract,
 * so an approved change of the SLA classes shows at once. Without the contract (no degradation feature) there is
 * nothing to show.
 */
@Injectable()
export class SlaMetrics implements OnModuleInit, OnModuleDestroy {
  private undo?: () => void;

  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    @Optional() @Inject(DEGRADATION_CONTRACT) private readonly contract?: DegradationContract,
  ) {}

  onModuleInit(): void {
    if (!this.contract) return;
    const contract = this.contract;
    const zero = () => {
      for (const slaClass of Object.keys(contract.slaClasses)) {
        this.metrics.counter('countersign_review_items_expired_total').inc({ sla_class: slaClass }, 0);
        this.metrics.counter('countersign_review_items_escalated_total').inc({ sla_class: slaClass }, 0);
        for (const cap of ['proposer', 'tenant']) this.metrics.counter('countersign_review_items_capped_total').inc({ sla_class: slaClass, cap }, 0);
      }
    };
    zero();
    this.undo = this.metrics.readGauge('countersign_review_sla_seconds', async (set) => {
      for (const [slaClass, seconds] of Object.entries(contract.slaClasses)) set({ sla_class: slaClass }, seconds);
      // A class a contract change added: its counters from 0 (shown from this scrape or the next).
      zero();
    });
  }

  onModuleDestroy(): void {
    this.undo?.();
  }
}
