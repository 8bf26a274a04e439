import type { ActionStatus } from './types';

const UNDECIDED: ReadonlySet<ActionStatus> = new Set(['proposed', 'in_review']);
// Autonomous, approved and held actions still execute; an unknown outcome is still settled by the executor (it ends
// executed or failed: the reconciler asks the target, sends it again under the same key, or has a person check).
const NOT_FINAL: ReadonlySet<ActionStatus> = new Set(['proposed', 'in_review', 'autonomous', 'approved', 'held', 'outcome_unknown']);

/** Decided: no human decision is pending (anything but `proposed` and `in_review`). What `awaitDecision` waits for by default. */
export function isDecided(status: ActionStatus): boolean {
  return !UNDECIDED.has(status);
}

/**
 * Final: nothing more will happen to the action (`executed`, `failed`, `refused`, `prohibited`, `rejected`, `expired`,
 * `revised`). Not `outcome_unknown`: the executor cannot tell yet whether the action took effect and is settling it
 * (it ends `executed` or `failed`); never propose such an action again, the first call may have taken effect. What
 * `awaitDecision(…, { waitFor: 'final' })` waits for, and what a caller polling `status()` itself should test.
 */
export function isFinal(status: ActionStatus): boolean {
  return !NOT_FINAL.has(status);
}
