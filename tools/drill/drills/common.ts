import type { Proposal } from '@countersign/contracts';
import { DrillClient, END_STATUSES } from '../client';
import type { DrillReport } from '../report';
import type { DrillTarget } from '../target';

export interface DrillOptions {
  target: DrillTarget;
  log?: (line: string) => void;
  /** How long to wait for one action to get where the drill expects it (default 30 s). */
  waitMs: number;
  /** `flag-service-down`: an action type whose flags were never seen, to show it fails closed. */
  neverSeenActionType?: string;
  neverSeenParameters?: Record<string, unknown>;
  /** `reviewer-outage`: the review-lane action type to wait on (default `infra.iam_policy_change`, class critical) and its parameters. */
  reviewActionType?: string;
  reviewParameters?: Record<string, unknown>;
  /** `queue-overflow`: how many review-lane proposals flood the queue (default: enough to pass the contract's limit). */
  flood?: number;
  /** `confident-nonsense`: how many high-confidence proposals make the burst. */
  burst?: number;
}

export const DEFAULT_WAIT_MS = 30_000;

/**
 * Proposes as the agent, records the answer, and follows the action until `done` holds for its status or `waitMs`
 * passes; returns the status reached ('not-accepted' when the proposal was refused at the door, 'unknown' when the
 * action was accepted but never showed up).
 */
export async function proposeAndFollow(api: DrillClient, r: DrillReport, p: Proposal, done: (status: string) => boolean, waitMs: number): Promise<string> {
  const id = await propose(api, r, p);
  if (!id) return 'not-accepted';
  const view = await api.waitForAction(id, (v) => done(v.status), waitMs);
  r.actions.set(id, view?.status ?? 'unknown');
  return view?.status ?? 'unknown';
}

/** Proposes as the agent; returns the action id when accepted (the answer is recorded either way). */
export async function propose(api: DrillClient, r: DrillReport, p: Proposal, as = 'agent'): Promise<string | undefined> {
  const a = await api.propose(p, as);
  r.answered(a.status);
  if (a.status !== 202 || !a.body.actionId) return undefined;
  r.actions.set(a.body.actionId, a.body.status ?? 'proposed');
  return a.body.actionId;
}

/** Waits until every action of the drill has ended or waits for a person (or `waitMs` passes), and records where each stands. */
export async function settle(api: DrillClient, r: DrillReport, waitMs: number): Promise<void> {
  const until = Date.now() + waitMs;
  for (const id of r.actions.keys()) {
    const view = await api.waitForAction(id, (v) => END_STATUSES.has(v.status) || v.status === 'in_review', Math.max(until - Date.now(), 0));
    r.actions.set(id, view?.status ?? 'unknown');
  }
}
