import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Metrics } from '@countersign/metrics';
import { METRICS, TRUST_HEALTH, TrustHealthState } from '@countersign/nest';
import type { TrustFinding } from './trust-source';

/** What the key and certificate gauges show for a set of findings, by key use (the finding's purpose) and certificate. */
export interface TrustGauges {
  /** key use → when its current key ends (unix seconds): the earliest over the files of that use. */
  keyExpiry: Map<string, number>;
  /** key use → 1 when a rotation is needed now (`rotation-due`, or no key valid: `expired`), else 0. */
  rotationOverdue: Map<string, number>;
  /** certificate → when it expires (unix seconds). */
  certificateExpiry: Map<string, number>;
}

const OVERDUE = new Set<TrustFinding['status']>(['rotation-due', 'expired']);

/**
 * The gauges of a verdict's findings. A key use is the finding's `purpose` (`approval-signing`, `audit-tree-head`, …),
 * bounded by the deployment's watched files; a file that could not be read has no end to show, only its overdue flag
 * (0: a missing file is the trust health's alarm, not a rotation's).
 */
export function trustGauges(findings: readonly TrustFinding[]): TrustGauges {
  const g: TrustGauges = { keyExpiry: new Map(), rotationOverdue: new Map(), certificateExpiry: new Map() };
  for (const f of findings) {
    const end = f.notAfter ? Date.parse(f.notAfter) / 1000 : undefined;
    if (f.kind === 'certificate') {
      if (end !== undefined) g.certificateExpiry.set(f.purpose, Math.min(end, g.certificateExpiry.get(f.purpose) ?? Infinity));
      continue;
    }
    if (end !== undefined) g.keyExpiry.set(f.purpose, Math.min(end, g.keyExpiry.get(f.purpose) ?? Infinity));
    g.rotationOverdue.set(f.purpose, Math.max(OVERDUE.has(f.status) ? 1 : 0, g.rotationOverdue.get(f.purpose) ?? 0));
  }
  return g;
}

/**
 * Exposes the verdict in force (the compacted trust health topic every review-queue instance follows, ADR 0019) as
 * `countersign_key_expiry_timestamp_seconds`, `countersign_key_rotation_overdue` and
 * `countersign_certificate_expiry_timestamp_seconds`, read at each scrape: every instance shows the same values,
 * whichever holds the monitor's lease, and nothing before a verdict exists.
 */
@Injectable()
export class TrustMetrics implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void)[] = [];

  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(TRUST_HEALTH) private readonly state: TrustHealthState,
  ) {}

  onModuleInit(): void {
    const gauges = () => trustGauges(this.state.latestEvent()?.data.findings ?? []);
    this.stop.push(
      this.metrics.readGauge('countersign_key_expiry_timestamp_seconds', (set) => gauges().keyExpiry.forEach((v, key_use) => set({ key_use }, v))),
      this.metrics.readGauge('countersign_key_rotation_overdue', (set) => gauges().rotationOverdue.forEach((v, key_use) => set({ key_use }, v))),
      this.metrics.readGauge('countersign_certificate_expiry_timestamp_seconds', (set) =>
        gauges().certificateExpiry.forEach((v, certificate) => set({ certificate }, v)),
      ),
    );
  }

  onModuleDestroy(): void {
    for (const s of this.stop) s();
    this.stop = [];
  }
}
