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
  refused: 3,
  failed: 3,
  outcome_unknown: 3,
  executed: 4,
};

/** The action's view: its current status and lane, and the timeline in the order things happened. */
export function summarise(entries: TimelineEntry[]) {
  const timeline = [...entries].sort((a, b) => STAGE[a.status] - STAGE[b.status] || a.time.localeCompare(b.time));
  const last = timeline[timeline.length - 1];
  const lane = timeline.find((e) => e.lane)?.lane ?? null;
  return { status: last?.status ?? 'proposed', lane, timeline };
}
