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
  /**
   * How many looks may send an action again under its key (default 30: about half an hour with the default lease; a
   * look that could not finish for another reason, e.g. the bus away, counts too) before a person is asked whether it
   * happened: a target that keeps failing does not leave the action unknown forever.
   */
  maxResends?: number;
}

/** Production defaults: a minute of lease (six webhook timeouts), a look every five seconds. */
export const DEFAULT_RECONCILIATION: ReconciliationSettings = { leaseMs: 60_000, periodMs: 5_000, batch: 50, maxResends: 30 };

/** `maxResends` when the settings leave it out. */
export const DEFAULT_MAX_RESENDS = 30;
