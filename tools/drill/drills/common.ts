import type { Proposal } from '@countersign/contracts';
import { ActionView, DrillClient, END_STATUSES } from '../client';
import type { DrillReport } from '../report';
import type { DrillTarget } from '../target';
import { byAnomaly, why } from '../why';

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

/** An action the drill proposed and followed: its id (none when refused at the door), its status, its view, and why. */
export interface Followed {
  id?: string;
  /** 'not-accepted' when the proposal was refused at the door, 'unknown' when the action never showed up. */
  status: string;
  view?: ActionView;
  /** Its status and the reason for it, in one line (`why`): what a failed check says. */
  why: string;
}

/**
 * Proposes as the agent, records the answer, and follows the action until `done` holds for its status (and view) or
 * `waitMs` passes; returns where it got.
 */
export async function proposeAndFollow(
  api: DrillClient,
  r: DrillReport,
  p: Proposal,
  done: (status: string, view: ActionView) => boolean,
  waitMs: number,
  as = 'agent',
): Promise<Followed> {
  const a = await api.propose(p, as);
  const id = accepted(r, a);
  if (!id) {
    const said = typeof a.body.message === 'string' ? a.body.message : JSON.stringify(a.body).slice(0, 200);
    return { status: 'not-accepted', why: `not accepted: HTTP ${a.status} ${said}` };
  }
  const view = await api.waitForAction(id, (v) => done(v.status, v), waitMs);
  r.actions.set(id, view?.status ?? 'unknown');
  return { id, status: view?.status ?? 'unknown', ...(view && { view }), why: why(view) };
}

/** Proposes as the agent; returns the action id when accepted (the answer is recorded either way). */
export async function propose(api: DrillClient, r: DrillReport, p: Proposal, as = 'agent'): Promise<string | undefined> {
  return accepted(r, await api.propose(p, as));
}

function accepted(r: DrillReport, a: Awaited<ReturnType<DrillClient['propose']>>): string | undefined {
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

/** What a drill needs before it changes anything: one proposal that must end as `expect` says. */
export interface Probe {
  /** What must happen, for the report ("a low-risk ticket tag runs on its own"). */
  what: string;
  proposal: Proposal;
  expect: (v: ActionView | undefined) => boolean;
  /** The token to propose with (default `agent`). */
  as?: string;
}

/**
 * The pre-flight: is the system where the drill can show anything? The degradation mode must be `normal` (a degraded
 * mode changes every lane the checks expect), and one probe proposal must end where the drill expects it (a kill switch
 * that is off, or an anomaly rule that already holds the agent, would make every check about something else). When
 * either fails the report is stopped with the reason in one line, and undefined is returned: the drill does nothing
 * more. Otherwise the probe, which the drill may use as its baseline.
 */
export async function preflight(api: DrillClient, r: DrillReport, o: DrillOptions, probe: Probe): Promise<Followed | undefined> {
  const g = await api.governance().catch((e: Error) => ({ status: 0, body: { error: e.message } as Record<string, unknown> }));
  if (g.status !== 200) {
    r.stop(`pre-flight: the degradation mode cannot be read (GET /v1/governance: HTTP ${g.status} ${JSON.stringify(g.body).slice(0, 200)})`);
    return undefined;
  }
  const mode = String(g.body.mode);
  if (mode !== 'normal') {
    r.stop(`pre-flight: the degradation mode is ${mode} (${String(g.body.why ?? '')}); the drill needs normal: run it once the mode is back`);
    return undefined;
  }
  r.step(`pre-flight: degradation mode normal; probe: ${probe.what}`);
  // Waits until the probe has ended, waits for a person, or waits on a flag source: none of these moves on by itself soon.
  // An action decided to run whose outcome is late is followed on: its executor settles it (`decided to run, …`).
  const held = (v: ActionView) => Boolean(v.waiting) && !v.waiting!.startsWith('decided to run');
  const f = await proposeAndFollow(api, r, probe.proposal, (s, v) => END_STATUSES.has(s) || s === 'in_review' || held(v), o.waitMs, probe.as);
  if (probe.expect(f.view)) return f;
  const agent = probe.proposal.proposer.agentId;
  const hint = byAnomaly(f.view)
    ? ` (${agent} is under an anomaly rule, which looks at its recent proposals: five minutes under the shipped contract; run the drill once that has passed)`
    : '';
  r.stop(`pre-flight: expected ${probe.what}, but ${f.id ? `action ${f.id} ended ` : ''}${f.why}${hint}`);
  return undefined;
}

/**
 * Leaves nothing waiting for a person: every action of the drill still in review is rejected (they are the drill's own,
 * and a backlog left behind would change the next drill's mode). Says so in the report; what is still pending after
 * that, the report names (`what it left pending`). Returns the report, for `return cleanUp(…)`.
 */
export async function cleanUp(api: DrillClient, r: DrillReport, o: DrillOptions): Promise<DrillReport> {
  for (const [id, status] of r.actions) {
    if (END_STATUSES.has(status)) continue;
    const a = await api.action(id);
    if (a.status === 200) r.actions.set(id, a.body.status);
  }
  const inReview = [...r.actions].filter(([, s]) => s === 'in_review').map(([id]) => id);
  if (!inReview.length) return r;
  r.step(`a reviewer rejects the ${inReview.length} action(s) the drill left in review: ${inReview.join(', ')}`);
  for (const id of inReview) {
    const d = await api.decide(id, 'reject', `drill ${r.name}: the drill's own action, left in review at its end`);
    if (d.status !== 200) r.step(`could not reject ${id}: HTTP ${d.status} ${JSON.stringify(d.body).slice(0, 200)}`);
  }
  const until = Date.now() + o.waitMs;
  for (const id of inReview) {
    const v = await api.waitForAction(id, (x) => x.status !== 'in_review', Math.max(until - Date.now(), 0));
    r.actions.set(id, v?.status ?? 'unknown');
  }
  return r;
}
