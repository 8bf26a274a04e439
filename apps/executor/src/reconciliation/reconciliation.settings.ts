/** How the executor settles unknown outcomes (`EXECUTION_LEASE_MS`, `RECONCILE_PERIOD_MS`, validated at boot by `main.ts`). */
export interface ReconciliationSettings {
  /**
   * How long an action may stay `executing` (or `reconciling`) before it is taken for stranded: longer than any
   * connector call may take (the main checks it exceeds the webhook timeout), or a live call would be re-sent.
   */
  leaseMs: number;
  /** How often the reconciler looks for unsettled actions. */
  periodMs: number;
  /** How many actions one look takes on, settled side by side (well within the lease). */
  batch: number;
}

/** Production defaults: a minute of lease (six webhook timeouts), a look every five seconds. */
export const DEFAULT_RECONCILIATION: ReconciliationSettings = { leaseMs: 60_000, periodMs: 5_000, batch: 50 };
