import { DrillClient, END_STATUSES, sleep } from '../client';
import { lowRisk, mediumRisk, reviewLane } from '../proposals';
import { DrillReport } from '../report';
import { byDegradation, ranAutonomously } from '../why';
import { cleanUp, DrillOptions, preflight, propose, proposeAndFollow, settle } from './common';

type Mode = 'normal' | 'elevated' | 'constrained' | 'halted';
const RANK: Record<string, number> = { normal: 0, elevated: 1, constrained: 2, halted: 3 };

/** The part of `GET /v1/governance` this drill reads. */
interface Governance {
  mode: Mode;
  why: string;
  thresholds: null | { minDwellSeconds: number; elevated: { enter: { pending?: number }; exit: { pending?: number } } };
  backlog: { bySlaClass: Record<string, { depth: number }> };
}

/**
 * `queue-overflow`: one agent (`agent2`) floods the review lane past the contract's backlog threshold. The degradation
 * mode rises; risky autonomous intake is routed to review (or refused, from `constrained` on) while low-risk autonomous
 * work of the other agent continues; as reviewers drain the queue the mode holds between the exit and enter thresholds
 * (hysteresis) and falls only after the minimum dwell, once the backlog is below the exit threshold.
 */
export async function queueOverflow(o: DrillOptions): Promise<DrillReport> {
  const r = new DrillReport('queue-overflow', o.log);
  const api = new DrillClient(o.target);
  const gov = async () => {
    const g = await api.governance();
    if (g.status !== 200) throw new Error(`GET /v1/governance answered ${g.status}: ${JSON.stringify(g.body)}`);
    return g.body as unknown as Governance;
  };
  const start = await gov();
  const t = start.thresholds;
  const enter = t?.elevated.enter.pending;
  const exit = t?.elevated.exit.pending;
  if (!t || enter === undefined || exit === undefined) {
    r.check('the contract sets backlog thresholds', false, 'no degradation.elevated pending thresholds: nothing to drill');
    return r;
  }
  // From a degraded mode the rise would be there before the flood, and credited to it: the pre-flight wants `normal`,
  // and a merge (medium risk) that runs on its own (no kill switch off, no anomaly rule holding the agent).
  const baseline = await preflight(api, r, o, {
    what: 'a medium-risk action (a pull-request merge) runs on its own',
    proposal: mediumRisk(),
    expect: ranAutonomously,
  });
  if (!baseline) return cleanUp(api, r, o);
  r.check('before the flood, a medium-risk action runs on its own', ranAutonomously(baseline.view), `a pull-request merge ended ${baseline.why}`);
  const pendingNow = Object.values(start.backlog.bySlaClass).reduce((n, c) => n + c.depth, 0);
  const flood = o.flood ?? Math.max(enter - pendingNow, 0) + 2;

  r.step(`flood: ${flood} review-lane proposals from agent2 (elevated enters at ${enter} pending, exits below ${exit}; dwell ${t.minDwellSeconds} s)`);
  const flooded: string[] = [];
  for (let i = 0; i < flood; i++) {
    const id = await propose(api, r, reviewLane(0.9, 'ops-copilot'), 'agent2');
    if (id) flooded.push(id);
  }
  const floodedAt = r.now();
  const inReview = await Promise.all(flooded.map((id) => api.waitForAction(id, (v) => v.status !== 'proposed', o.waitMs)));
  flooded.forEach((id, i) => r.actions.set(id, inReview[i]?.status ?? 'unknown'));
  r.step(`${inReview.filter((v) => v?.status === 'in_review').length} of ${flooded.length} flood proposals wait for a person`);

  const risen = await waitForMode(gov, (m) => RANK[m] >= 1, o.waitMs);
  r.check('the mode rises with the backlog', RANK[risen.mode] >= 1, `mode ${risen.mode}: ${risen.why}`);
  if (RANK[risen.mode] < 1) return cleanUp(api, r, o);
  const enteredAt = r.now();
  r.degradedAfter(`mode ${risen.mode}: ${risen.why}`, enteredAt - floodedAt);

  const risky = await proposeAndFollow(api, r, mediumRisk(), (s) => s !== 'proposed' && s !== 'autonomous', o.waitMs);
  // Held back by the mode itself, not by anything else that sends a merge to review.
  r.check(
    'risky autonomous intake no longer runs on its own',
    risky.status !== 'executed' && byDegradation(risky.view),
    `a pull-request merge (medium risk) is ${risky.why}`,
  );
  const low = await proposeAndFollow(api, r, lowRisk(0.9), (s) => END_STATUSES.has(s), o.waitMs);
  r.check(
    'low-risk autonomous work continues',
    risen.mode === 'halted' ? low.status !== 'executed' && byDegradation(low.view) : ranAutonomously(low.view),
    `a ticket tag is ${low.why} in ${risen.mode}`,
  );

  // Hysteresis: drain to just above the exit threshold and wait out the dwell: the mode must hold.
  const keep = Math.max(exit - Math.max(pendingNow, 0), 0) + 1;
  const firstDrain = flooded.slice(0, Math.max(flooded.length - keep, 0));
  r.step(`a reviewer drains ${firstDrain.length} items, leaving the backlog just above the exit threshold`);
  await reject(api, r, firstDrain);
  const dwellEnds = enteredAt + t.minDwellSeconds * 1000;
  await sleep(Math.max(dwellEnds - r.now(), 0) + 3_000);
  const held = await gov();
  r.check('between the exit and enter thresholds the mode holds, even past the dwell', RANK[held.mode] >= 1, `mode ${held.mode}: ${held.why}`);

  // The rest of the flood, and the risky action the mode sent to review: the drill leaves no backlog behind.
  const rest = [...r.actions].filter(([id, s]) => s === 'in_review' && !firstDrain.includes(id)).map(([id]) => id);
  r.step(`a reviewer drains the last ${rest.length} items`);
  const drainedAt = r.now();
  await reject(api, r, rest);
  const fell = await waitForMode(gov, (m) => m === 'normal', o.waitMs + t.minDwellSeconds * 1000);
  r.check('once drained below the exit threshold and past the dwell, the mode falls back', fell.mode === 'normal', `mode ${fell.mode}: ${fell.why}`);
  if (fell.mode === 'normal') {
    r.degradedAfter('recovered: mode normal', r.now() - drainedAt);
    r.check(
      'the mode stayed at least the minimum dwell',
      r.now() - enteredAt >= t.minDwellSeconds * 1000,
      `${((r.now() - enteredAt) / 1000).toFixed(1)} s ≥ ${t.minDwellSeconds} s`,
    );
  }
  await settle(api, r, o.waitMs);
  return cleanUp(api, r, o);
}

async function waitForMode(gov: () => Promise<Governance>, done: (m: Mode) => boolean, ms: number): Promise<Governance> {
  const until = Date.now() + ms;
  for (;;) {
    const g = await gov();
    if (done(g.mode) || Date.now() >= until) return g;
    await sleep(250);
  }
}

async function reject(api: DrillClient, r: DrillReport, ids: string[]): Promise<void> {
  for (const id of ids) {
    const d = await api.decide(id, 'reject', 'drill: queue-overflow drains the flood');
    if (d.status !== 200) r.step(`could not reject ${id}: HTTP ${d.status} ${JSON.stringify(d.body).slice(0, 200)}`);
  }
  await Promise.all(ids.map(async (id) => r.actions.set(id, (await api.waitForAction(id, (v) => v.status === 'rejected', 30_000))?.status ?? 'unknown')));
}
