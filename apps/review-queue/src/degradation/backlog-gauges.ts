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

/** An item's window in whole seconds, at least one; undefined when it has none. */
export const windowOf = (item: Pick<BacklogItem, 'windowSeconds'>): number | undefined =>
  item.windowSeconds === undefined || !Number.isFinite(item.windowSeconds) ? undefined : Math.max(1, Math.round(item.windowSeconds));

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
