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
  for (const [cls, g] of Object.entries(backlog.bySlaClass)) {
    pending += g.depth;
    if (g.depth && g.oldestCreatedAt !== undefined)
      oldestAgeShare = Math.max(oldestAgeShare, Math.max(0, now - g.oldestCreatedAt) / 1000 / (slaClasses[cls] ?? DEFAULT_SLA_SECONDS));
  }
  let pendingPerReviewer = 0;
  for (const [role, g] of Object.entries(backlog.byRole)) {
    if (!g.depth) continue;
    const reviewers = onShift[role] ?? 0;
    pendingPerReviewer = Math.max(pendingPerReviewer, reviewers ? g.depth / reviewers : Infinity);
  }
  const burnRate = Math.max(0, ...slos.map((s) => s.burnRate));
  return { pending, oldestAgeShare, pendingPerReviewer, burnRate };
}
