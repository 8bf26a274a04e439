import { TimelineEntry, ActionStatus } from './action-view.repository';

// Events of one action arrive on different topics, so in any order: the status is derived from the
// whole timeline by stage, never from whichever event came last. An unknown outcome is a stage of its own, below
// the outcomes that settle it: the reconciler's `executed` or `failed` shows, whatever their clocks say.
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
  outcome_unknown: 4,
  refused: 5,
  failed: 5,
  executed: 6,
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
// Final: nothing more will happen to the action. Autonomous, approved and held still execute; an unknown outcome is
// still settled by the executor's reconciler, which never gives up on one (it asks the target, sends it again under the
// same key, or has a person answer "did this happen?", an item that never expires): it ends executed or failed.
const NOT_FINAL: ReadonlySet<ActionStatus> = new Set(['proposed', 'in_review', 'autonomous', 'approved', 'held', 'outcome_unknown']);

/** True when an action in `status` has reached what `waitFor` waits for. */
export function reached(status: ActionStatus, waitFor: WaitFor): boolean {
  return waitFor === 'decision' ? !UNDECIDED.has(status) : !NOT_FINAL.has(status);
}

/**
 * What `waiting` tells the caller of an action whose outcome is unknown. Read as "failed", it was proposed again and the
 * effect happened twice (a second refund): it is not final, and the first call may well have taken effect.
 */
export const OUTCOME_BEING_RECONCILED =
  'outcome_unknown: the executor cannot tell yet whether this action took effect and is settling it (it asks the target, sends it again under the same idempotency key where the target applies an action once per key, or a person checks at the target); it ends executed or failed. Do not propose it again: the first call may have taken effect';

/** The reason code of the timeline entry an outcome check adds: the reconciler has asked a person (`OUTCOME_BEING_CHECKED`). */
export const OUTCOME_CHECK = 'outcome-check';

/** What `waiting` says once the reconciler could not settle the outcome itself and asked a person. */
export const OUTCOME_BEING_CHECKED =
  'outcome_unknown: neither the target nor a second call under the same idempotency key could settle whether this action took effect, so a person was asked to check at the target (an outcome check in the review queue); it ends executed or failed when they answer. Do not propose it again: the first call may have taken effect';

/**
 * What `waiting` tells the caller of an action decided to run (autonomous, approved) whose outcome is not in yet. The
 * executor may be calling the target now, or may have called it and stopped before it could record the answer (the
 * next delivery or its reconciler finishes it, under the same idempotency key): for up to a minute after such a stop
 * the action read `autonomous` and nothing else, and an agent with a short timeout proposed it again, a second action
 * and a second effect (lifecycle probe, 2026-12-05).
 */
export const EXECUTION_PENDING =
  'decided to run, and no outcome reported for a while: the executor may have stopped during its call and settles it (under the same idempotency key); it ends executed, failed or refused. Do not propose it again: wait for it (waitFor=final)';

/** How long an action decided to run goes without an outcome before `waiting` says so: an execution takes milliseconds. */
export const EXECUTION_PENDING_AFTER_MS = 5_000;

/**
 * Why an action decided to run waits on its execution, once it has been decided to run for `EXECUTION_PENDING_AFTER_MS`
 * without an outcome (a stop mid-call, a held delivery); undefined before, and for any other status. `waiting` stays what
 * clients read it as: the action is held on something, and proposing it again is wrong.
 */
export function executionWaiting(
  view: { status: ActionStatus; timeline: Array<Pick<TimelineEntry, 'status' | 'time'>> },
  now = Date.now(),
): string | undefined {
  if (view.status !== 'autonomous' && view.status !== 'approved') return undefined;
  const since = [...view.timeline].reverse().find((e) => e.status === view.status)?.time;
  return since !== undefined && now - Date.parse(since) >= EXECUTION_PENDING_AFTER_MS ? EXECUTION_PENDING : undefined;
}

/** Why an action in this state (`summarise`'s status and reason code) waits on its own outcome; undefined when it does not. */
export function outcomeWaiting(view: { status: ActionStatus; reasonCode?: string }): string | undefined {
  if (view.status !== 'outcome_unknown') return undefined;
  return view.reasonCode === OUTCOME_CHECK ? OUTCOME_BEING_CHECKED : OUTCOME_BEING_RECONCILED;
}
