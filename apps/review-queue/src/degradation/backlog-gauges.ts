// The port of the review backlog gauges: the degradation controller's view of the queue. Derived state (ADR 0011):
// the review items in PostgreSQL are the truth; the gauges are rebuilt from them after a flush and now and then.
// Adapters: `redis-backlog-gauges.ts` (distributed), `in-memory-backlog-gauges.ts` (embedded, tests).

/** A pending approval item as the gauges count it. */
export interface BacklogItem {
  actionId: string;
  slaClass: string;
  requiredRoles: string[];
  /** When its window began (ms since the epoch): queued, or re-routed to its fallback team. Its age is measured from here. */
  createdAt: number;
  /**
   * How long its window is (s): from `createdAt` to its own due time. Its age is a share of this, not of its class's SLA
   * in the running contract: after a change that shortened the class's SLA, an item queued under the longer one was
   * judged against the shorter and put every tenant in `constrained` at 17 % of its own window (lifecycle probe,
   * 2026-12-05). Absent (an item counted before it was kept): its class's SLA.
   */
  windowSeconds?: number;
}

/** Significant bits an item's window keeps in the gauges (see `windowOf`). */
export const WINDOW_BITS = 6;

/**
 * An item's window as the gauges count it: whole seconds, at least one, kept to `WINDOW_BITS` significant bits and
 * rounded down (3600 s counts as 3584, 600 as 592; under 64 s exactly). Undefined when it has none.
 *
 * The gauges keep one set per window length and read every one at each assessment: with exact lengths, items whose due
 * times all differ (the queue's own seed in bench:review; re-routed, revised or paused items in use) made one set each,
 * and an assessment of 100,000 pending items read 100,000 sets, 133 ms of Redis each time, which held every other client
 * (claim + decide fell from 1,003/s to under 200/s; 2026-12-06). Rounded, there are at most 32 per doubling of length
 * (about 700 from a second to a year), and an item's age reads as at most 1/32 (3.1 %) further into its window than it
 * is, never less: the controller errs towards the safer mode.
 */
export function windowOf(item: Pick<BacklogItem, 'windowSeconds'>): number | undefined {
  if (item.windowSeconds === undefined || !Number.isFinite(item.windowSeconds)) return undefined;
  const exact = Math.max(1, Math.round(item.windowSeconds));
  const drop = Math.max(0, exact.toString(2).length - WINDOW_BITS);
  const unit = 2 ** drop;
  return Math.floor(exact / unit) * unit;
}

/** How many items wait in one SLA class or for one role, and since when the oldest. */
export interface BacklogGauge {
  depth: number;
  /** The oldest pending item's `createdAt` (ms); absent when nothing waits. */
  oldestCreatedAt?: number;
}

export interface BacklogSnapshot {
  bySlaClass: Record<string, BacklogGauge>;
  byRole: Record<string, BacklogGauge>;
  /** Per window length (s, as text) of the items that have one (`windowSeconds`); absent when none has. */
  byWindow?: Record<string, BacklogGauge>;
  /** When the gauges were last rebuilt from the records of truth (ms); absent after a flush (rebuild them first). */
  builtAt?: number;
}

/**
 * The live backlog, shared by every review-queue instance: depth and oldest age per SLA class and per required
 * role, and the reviewers on shift (a heartbeat from their sessions, expiring by itself).
 */
export interface BacklogGauges {
  /** Counts a newly queued item; the same item again counts once. */
  add(item: BacklogItem): Promise<void>;
  /** Stops counting an item (decided); an unknown item is no error. */
  remove(actionId: string): Promise<void>;
  /** Replaces everything with these items (read from PostgreSQL), at once: no reader sees half of it. */
  rebuild(items: BacklogItem[], at: Date): Promise<void>;
  snapshot(): Promise<BacklogSnapshot>;
  /** A reviewer is on shift with these roles until `now + ttlMs` (renewed by each heartbeat). */
  heartbeat(reviewer: string, roles: string[], ttlMs: number, now: Date): Promise<void>;
  /** Reviewers on shift at `now`, counted per role. */
  onShift(now: Date): Promise<Record<string, number>>;
}
