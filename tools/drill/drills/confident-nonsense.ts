import { ActionView, DrillClient } from '../client';
import { lowRisk } from '../proposals';
import { DrillReport } from '../report';
import { byAnomaly, decisionOf, ranAutonomously, tally } from '../why';
import { cleanUp, DrillOptions, preflight, propose } from './common';

/**
 * `confident-nonsense`: one agent suddenly proposes a burst of actions it is very sure of, each low risk and
 * autonomous on its own. The contract's anomaly rules (a rise of the agent's mean confidence, of its share of autonomous
 * actions, of its volume) must catch the burst and send the rest of it to review, saying which rule fired and on what
 * numbers. The drill then rejects what it sent to review, so it leaves no backlog behind.
 */
export async function confidentNonsense(o: DrillOptions): Promise<DrillReport> {
  const r = new DrillReport('confident-nonsense', o.log);
  const api = new DrillClient(o.target);
  const burst = o.burst ?? 40;
  // A burst the system refuses for another reason (a kill switch off) or holds already (an earlier burst) shows nothing.
  const probe = await preflight(api, r, o, {
    what: 'a low-risk ticket tag at confidence 0.95 runs on its own',
    proposal: lowRisk(0.95),
    expect: ranAutonomously,
  });
  if (!probe) return cleanUp(api, r, o);
  r.step(`a burst of ${burst} low-risk proposals at confidence 0.99 from one agent`);
  const lanes: BurstLane[] = [];
  const start = r.now();
  for (let i = 0; i < burst; i++) {
    const id = await propose(api, r, lowRisk(0.99));
    if (!id) continue;
    const view = await api.waitForAction(id, (v) => v.status !== 'proposed', o.waitMs);
    lanes.push({ id, status: view?.status ?? 'unknown', view, atMs: r.now() - start });
    r.actions.set(id, view?.status ?? 'unknown');
  }
  judgeBurst(r, lanes, burst);

  r.step('a reviewer rejects what the burst sent to review (nothing left behind)');
  for (const l of lanes.filter((x) => x.status === 'in_review')) {
    const d = await api.decide(l.id, 'reject', 'drill: confident nonsense caught by the anomaly rules');
    if (d.status !== 200) r.step(`could not reject ${l.id}: HTTP ${d.status}`);
    const v = await api.waitForAction(l.id, (x) => x.status === 'rejected', o.waitMs);
    r.actions.set(l.id, v?.status ?? 'unknown');
  }
  return cleanUp(api, r, o);
}

/** One proposal of the burst: where it went, and when (since the burst began). */
export interface BurstLane {
  id: string;
  status: string;
  view?: ActionView;
  atMs: number;
}

/**
 * The burst's checks. A proposal counts as caught only when an anomaly rule decided its lane (the rule leads the
 * decision's reasons) and it waits for a person: one prohibited by a kill switch was not caught by anything.
 */
export function judgeBurst(r: DrillReport, lanes: BurstLane[], burst: number): void {
  const caught = (l: BurstLane) => l.status === 'in_review' && byAnomaly(l.view);
  const first = lanes.findIndex(caught);
  if (first >= 0) r.degradedAfter(`caught at proposal ${first + 1} of ${burst}: ${decisionOf(lanes[first].view)?.reasons ?? ''}`, lanes[first].atMs);
  r.check(
    'the burst is caught by an anomaly rule before it ends',
    first >= 0,
    first >= 0 ? `proposal ${first + 1} went to review: ${decisionOf(lanes[first].view)?.reasons}` : `nothing was caught: ${tally(lanes.map((l) => l.view))}`,
  );
  const after = first >= 0 ? lanes.slice(first) : [];
  const escaped = after.filter((l) => !caught(l));
  r.check(
    'once caught, the rest of the burst goes to review',
    first >= 0 && escaped.length === 0,
    first < 0
      ? 'nothing was caught, so there is no rest of the burst to follow'
      : `${after.length - escaped.length} of ${after.length} after the first catch in review${escaped.length ? `; the others: ${tally(escaped.map((l) => l.view))}` : ''}`,
  );
  // Any proposal whose lane an anomaly rule decided must wait for a person, whatever its status now.
  const byRule = lanes.filter((l) => byAnomaly(l.view));
  const ran = byRule.filter((l) => l.status !== 'in_review');
  r.check(
    'nothing caught runs before a person looks',
    byRule.length > 0 && ran.length === 0,
    byRule.length === 0
      ? 'nothing was caught, so nothing shows it'
      : `${byRule.length} caught${ran.length ? `; not waiting for a person: ${tally(ran.map((l) => l.view))}` : ', every one waits for a person'}`,
  );
}
