// The controller's signals from the gauges, the roster and the SLOs: pure, beside the decision (mode.ts).
import type { BacklogSnapshot } from './backlog-gauges';
import type { Signals } from './mode';
import type { SloStatus } from './slo';

/** The SLA of a class the contract does not name (an item queued under an older contract), as the policy lib assumes. */
const DEFAULT_SLA_SECONDS = 14_400;

export function signalsOf(
  backlog: BacklogSnapshot,
  onShift: Record<string, number>,
  slaClasses: Record<string, number>,
  slos: SloStatus[],
  now: number,
): Signals {
  let pending = 0;
  let oldestAgeShare = 0;
  const share = (g: { depth: number; oldestCreatedAt?: number }, seconds: number) =>
    g.depth && g.oldestCreatedAt !== undefined ? Math.max(0, now - g.oldestCreatedAt) / 1000 / seconds : 0;
  for (const [cls, g] of Object.entries(backlog.bySlaClass)) {
    pending += g.depth;
    // Items counted with their own window are judged by it (below); the class's SLA serves only when none is.
    if (!backlog.byWindow) oldestAgeShare = Math.max(oldestAgeShare, share(g, slaClasses[cls] ?? DEFAULT_SLA_SECONDS));
  }
  // Each item's age as a share of its own window (its due time), not of its class's SLA in the running contract: the
  // oldest of each window length is the one furthest into its window (lifecycle probe, 2026-12-05).
  for (const [seconds, g] of Object.entries(backlog.byWindow ?? {})) oldestAgeShare = Math.max(oldestAgeShare, share(g, Number(seconds)));
  let pendingPerReviewer = 0;
  for (const [role, g] of Object.entries(backlog.byRole)) {
    if (!g.depth) continue;
    const reviewers = onShift[role] ?? 0;
    pendingPerReviewer = Math.max(pendingPerReviewer, reviewers ? g.depth / reviewers : Infinity);
  }
  const burnRate = Math.max(0, ...slos.map((s) => s.burnRate));
  return { pending, oldestAgeShare, pendingPerReviewer, burnRate };
}
