import { TimelineEntry, ActionStatus } from './action-view.repository';

// Events of one action arrive on different topics, so in any order: the status is derived from the
// whole timeline by stage, never from whichever event came last.
const STAGE: Record<ActionStatus, number> = {
  proposed: 0,
  autonomous: 1,
  in_review: 1,
  prohibited: 1,
  approved: 2,
  rejected: 2,
  expired: 2,
  revised: 2,
  held: 3,
  refused: 4,
  failed: 4,
  outcome_unknown: 4,
  executed: 5,
};

/**
 * The action's view: its current status and lane, the reason code of the entry that set the status (when it has one)
 * and whether that reason passes (`retryLater`), and the timeline in the order things happened.
 */
export function summarise(entries: TimelineEntry[]) {
  const timeline = [...entries].sort((a, b) => STAGE[a.status] - STAGE[b.status] || a.time.localeCompare(b.time));
  const last = timeline[timeline.length - 1];
  const lane = timeline.find((e) => e.lane)?.lane ?? null;
  // Approve with changes links the two actions both ways (docs/adr/0017).
  const revisedTo = timeline.find((e) => e.revisedTo)?.revisedTo;
  const revisionOf = timeline.find((e) => e.revisionOf)?.revisionOf;
  const reasonCode = last?.reasonCode;
  return {
    status: last?.status ?? 'proposed',
    lane,
    ...(reasonCode && { reasonCode }),
    ...(last?.retryLater && { retryLater: true as const }),
    ...(revisedTo && { revisedTo }),
    ...(revisionOf && { revisionOf }),
    timeline,
  };
}

/** What a long poll of `GET /v1/actions/{id}` waits for. */
export type WaitFor = 'decision' | 'final';

// A decision: the lane is chosen and no human decision is pending (`proposed` and `in_review` are not decisions).
const UNDECIDED: ReadonlySet<ActionStatus> = new Set(['proposed', 'in_review']);
// Final: nothing more will happen to the action (autonomous, approved and held still execute).
const NOT_FINAL: ReadonlySet<ActionStatus> = new Set(['proposed', 'in_review', 'autonomous', 'approved', 'held']);

/** True when an action in `status` has reached what `waitFor` waits for. */
export function reached(status: ActionStatus, waitFor: WaitFor): boolean {
  return waitFor === 'decision' ? !UNDECIDED.has(status) : !NOT_FINAL.has(status);
}
