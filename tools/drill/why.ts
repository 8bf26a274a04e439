import { TOPICS } from '@countersign/contracts';
import type { ActionView } from './client';

/** The policy decision on an action's timeline: the lane it chose and its reasons, the one that decided first. */
export interface DecisionSeen {
  lane: string;
  /** The decision's reasons as the timeline shows them ("contract <version>: " left off). */
  reasons: string;
  /** On a prohibition, the rule that decided it (`kill-switch:off`, `trust-stack:unhealthy`, …). */
  code?: string;
}

export function decisionOf(v: ActionView | undefined): DecisionSeen | undefined {
  const d = v?.timeline.find((t) => t.type === TOPICS.policyDecided);
  if (!d) return undefined;
  const reasonCode = d.reasonCode ?? (d.status === 'prohibited' ? v?.reasonCode : undefined);
  return { lane: d.lane ?? d.status, reasons: d.detail.replace(/^contract [^:]*: /, ''), ...(reasonCode && { code: reasonCode }) };
}

/** The reason that decided the lane: the policy engine puts it first. Empty when there is no decision yet. */
export function leadReason(v: ActionView | undefined): string {
  return decisionOf(v)?.reasons ?? '';
}

/** Ran on its own: executed, and the policy decision put it in the autonomous lane (not approved by a person). */
export function ranAutonomously(v: ActionView | undefined): boolean {
  return v?.status === 'executed' && decisionOf(v)?.lane === 'autonomous';
}

/** Sent to review (or prohibited) by an anomaly rule: the rule leads the decision's reasons. */
export function byAnomaly(v: ActionView | undefined): boolean {
  return leadReason(v).startsWith('anomaly:');
}

/** Held back by the degradation mode: its rule decided the lane. */
export function byDegradation(v: ActionView | undefined): boolean {
  const d = decisionOf(v);
  return Boolean(d && (d.code?.startsWith('degradation:') || d.reasons.startsWith('degradation mode')));
}

/** Prohibited because the trust stack is not healthy (the rule `trust-stack:unhealthy` or `trust-stack:unknown`). */
export function byTrustStack(v: ActionView | undefined): boolean {
  return v?.status === 'prohibited' && Boolean(decisionOf(v)?.code?.startsWith('trust-stack:'));
}

/**
 * Why an action does not run, when the cause is a flag that cannot be read; undefined for any other cause. The action
 * itself must say so: it waits on a flag source (`waiting`), or its kill switch or autonomy level could not be read.
 */
export function flagCause(v: ActionView | undefined): string | undefined {
  if (!v || v.status === 'executed') return undefined;
  if (v.waiting && /feature flags/.test(v.waiting)) return `waiting: ${v.waiting}`;
  const d = decisionOf(v);
  if (d?.code === 'kill-switch:unknown') return `${d.code} (${d.reasons})`;
  if (d?.reasons.startsWith('the autonomy level cannot be read')) return d.reasons;
  return undefined;
}

const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The status a lane puts an action in. */
const LANE_STATUS: Record<string, string> = { review: 'in_review', autonomous: 'autonomous', prohibited: 'prohibited' };

/**
 * Where an action stands and why, in one line: its status, then the decision's reason (its rule, on a prohibition),
 * what happened after the decision when that set the status, and what it waits on. For a failed check's detail.
 */
export function why(v: ActionView | undefined): string {
  if (!v) return 'unknown (GET /v1/actions never showed it)';
  const d = decisionOf(v);
  const decided = d ? (d.code ? `${d.code} (${short(d.reasons)})` : short(d.reasons)) : 'no decision yet';
  let line = d && LANE_STATUS[d.lane] === v.status ? `${v.status}: ${decided}` : `${v.status} (${d ? `decided ${d.lane}: ` : ''}${decided})`;
  const last = v.timeline.at(-1);
  // A status set after the decision (refused, held, failed, rejected, expired) has its own reason.
  if (last && last.status === v.status && last.type !== TOPICS.policyDecided && last.type !== TOPICS.actionProposed && v.status !== 'executed')
    line += `: ${short(last.detail)}`;
  if (v.waiting) line += `; waiting: ${short(v.waiting)}`;
  return line;
}

/** The cause in a few words, for a tally: the rule of a prohibition, else the decision's leading reason. */
function causeOf(v: ActionView | undefined): string {
  if (!v) return 'never shown';
  const d = decisionOf(v);
  if (!d) return v.waiting ? `waiting: ${short(v.waiting, 80)}` : 'no decision yet';
  return d.code ?? short(d.reasons.split('; ')[0], 120);
}

/** Views counted by status and cause: "38 prohibited (kill-switch:off), 2 executed (internal, reversible bookkeeping)". */
export function tally(views: Array<ActionView | undefined>): string {
  const counts = new Map<string, number>();
  for (const v of views) {
    const key = `${v?.status ?? 'unknown'} (${causeOf(v)})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts.size ? [...counts].map(([k, n]) => `${n} ${k}`).join(', ') : 'no action accepted';
}
