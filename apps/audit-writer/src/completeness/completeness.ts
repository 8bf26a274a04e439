import { TOPICS } from '@countersign/contracts';
import type { AuditLogRepository } from '../log-store/audit-log.repository';

export interface Gap {
  actionId: string;
  reached: string[];
  missing: string;
}

const TERMINAL = new Set<string>([TOPICS.actionExecuted, TOPICS.actionFailed, TOPICS.actionRefused]);

/**
 * Every action proposed since `since` (and before `until`, when given) has a complete chain: proposed → policy
 * decision → a terminal state (prohibited; rejected, expired or revised; or executed, failed or refused). Lists the
 * actions that do not, and every action decided in the window that was never proposed (a decision that did not come
 * from a proposal: produced by hand on the bus, red team round 14), whatever came of it.
 */
export async function completeness(log: AuditLogRepository, since: string, until?: string): Promise<{ actions: number; gaps: Gap[] }> {
  const trails = await log.trailsSince(since, until);
  const gaps: Gap[] = [];
  for (const r of trails) {
    const reached = r.types;
    const has = (t: string) => reached.includes(t);
    let missing: string | undefined;
    if (!r.lane) missing = 'policy decision';
    else if (r.lane === 'prohibited') missing = undefined;
    // Approved with changes: the action ends as revised and the new action it names has a chain of its own.
    else if (has(TOPICS.proposalRevised)) missing = undefined;
    else if (r.lane === 'review' && !r.review && !reached.some((t) => TERMINAL.has(t))) missing = 'review decision';
    else if (r.review === 'rejected' || r.review === 'expired') missing = undefined;
    else if (!reached.some((t) => TERMINAL.has(t))) missing = 'execution outcome (executed, failed or refused)';
    if (!has(TOPICS.actionProposed)) missing = 'proposal (a policy decision for an action never proposed)';
    if (missing) gaps.push({ actionId: r.actionId, reached, missing });
  }
  return { actions: trails.length, gaps };
}
