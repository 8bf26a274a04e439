import { TOPICS } from '@countersign/contracts';
import type { AuditLogRepository } from '../log-store/audit-log.repository';

export interface Gap {
  actionId: string;
  reached: string[];
  missing: string;
  /**
   * Set when the action has not ended but nothing is missing from its trail yet: it waits for its reviewers (`review`;
   * the review clock ends it as expired if nobody decides), or for the executor's reconciler to settle an outcome it
   * recorded as unknown (`reconciliation`; it ends executed or failed). The operators' check lists it; the completeness
   * metric leaves it out.
   */
  pending?: 'review' | 'reconciliation';
}

const TERMINAL = new Set<string>([TOPICS.actionExecuted, TOPICS.actionFailed, TOPICS.actionRefused]);

/** What `missing` says of an action whose only outcome so far is unknown: not ended, the reconciler is settling it. */
export const OUTCOME_BEING_SETTLED = 'settled execution outcome (the executor recorded it as unknown; its reconciler is settling it as executed or failed)';

/**
 * Every action proposed since `since` (and before `until`, when given) has a complete chain: proposed → policy
 * decision → a terminal state (prohibited; rejected, expired or revised; or executed, failed or refused). Lists the
 * actions that do not, and every action decided in the window that was never proposed (a decision that did not come
 * from a proposal: produced by hand on the bus, red team round 14), whatever came of it.
 *
 * An unknown outcome (`execution.action.failed.v1` with `outcome: outcome_unknown`) is no end: the executor's reconciler
 * settles it later as executed or failed (docs/adr/0042). The action is listed as pending until one of those is on the
 * record, whatever the order the events were logged in; an unknown outcome logged after the settled one changes nothing,
 * as in the orchestrator's timeline (executed above failed and refused above an unknown outcome).
 */
export async function completeness(log: AuditLogRepository, since: string, until?: string): Promise<{ actions: number; gaps: Gap[] }> {
  const trails = await log.trailsSince(since, until);
  const gaps: Gap[] = [];
  for (const r of trails) {
    const reached = r.types;
    const has = (t: string) => reached.includes(t);
    let missing: string | undefined;
    let pending: Gap['pending'];
    if (!r.lane) missing = 'policy decision';
    else if (r.lane === 'prohibited') missing = undefined;
    // Approved with changes: the action ends as revised and the new action it names has a chain of its own.
    else if (has(TOPICS.proposalRevised)) missing = undefined;
    else if (r.lane === 'review' && !r.review && !reached.some((t) => TERMINAL.has(t))) [missing, pending] = ['review decision', 'review'];
    else if (r.review === 'rejected' || r.review === 'expired') missing = undefined;
    else if (!reached.some((t) => TERMINAL.has(t))) missing = 'execution outcome (executed, failed or refused)';
    else if (!(await outcomeSettled(log, r.actionId, reached))) [missing, pending] = [OUTCOME_BEING_SETTLED, 'reconciliation'];
    if (!has(TOPICS.actionProposed)) [missing, pending] = ['proposal (a policy decision for an action never proposed)', undefined];
    if (missing) gaps.push({ actionId: r.actionId, reached, missing, ...(pending && { pending }) });
  }
  return { actions: trails.length, gaps };
}

/**
 * Whether an action that reached an outcome event has a settled one: executed, refused (a final refusal: the trail
 * leaves out the others), or failed with `outcome: failed`. Only an action whose every outcome is `failed` is read
 * again, for the failures' data (the trail has types only): few, and one indexed query each.
 */
async function outcomeSettled(log: AuditLogRepository, actionId: string, reached: string[]): Promise<boolean> {
  if (reached.includes(TOPICS.actionExecuted) || reached.includes(TOPICS.actionRefused)) return true;
  const failures = await log.query({ actionId, type: TOPICS.actionFailed, limit: 5000 });
  return failures.some(({ entry }) => (entry.data as { outcome?: unknown } | undefined)?.outcome !== 'outcome_unknown');
}
