// The port of what the degradation controller reads from the records of truth (the review items in PostgreSQL):
// the pending approval items, to rebuild the gauges, and the decided ones, for the SLOs.
// Adapter: `pg-review-history.ts` (the distributed mode, and the embedded mode over PGlite).
import type { BacklogItem } from './backlog-gauges';
import type { DecidedCounts } from './slo';

export interface ReviewHistory {
  /** Every pending approval item (audit samples and outcome checks hold no action back, and are not counted). */
  pendingItems(): Promise<BacklogItem[]>;
  /** Approval items decided after `since`, per SLA class, and how many of them late (after their due time, or expired). */
  decidedSince(since: Date): Promise<DecidedCounts[]>;
}
