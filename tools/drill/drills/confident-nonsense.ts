import { TOPICS } from '@countersign/contracts';
import { DrillClient } from '../client';
import { lowRisk } from '../proposals';
import { DrillReport } from '../report';
import { DrillOptions, propose, settle } from './common';

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
  r.step(`a burst of ${burst} low-risk proposals at confidence 0.99 from one agent`);
  const lanes: Array<{ id: string; status: string; reasons: string; atMs: number }> = [];
  const start = r.now();
  for (let i = 0; i < burst; i++) {
    const id = await propose(api, r, lowRisk(0.99));
    if (!id) continue;
    const view = await api.waitForAction(id, (v) => v.status !== 'proposed', o.waitMs);
    const decided = view?.timeline.find((t) => t.type === TOPICS.policyDecided);
    lanes.push({ id, status: view?.status ?? 'unknown', reasons: decided?.detail ?? '', atMs: r.now() - start });
    r.actions.set(id, view?.status ?? 'unknown');
  }
  const first = lanes.findIndex((l) => l.status === 'in_review' && l.reasons.includes('anomaly:'));
  if (first >= 0) r.degradedAfter(`caught at proposal ${first + 1} of ${burst}: ${lanes[first].reasons}`, lanes[first].atMs);
  r.check(
    'the burst is caught by an anomaly rule before it ends',
    first >= 0,
    first >= 0 ? `proposal ${first + 1} went to review` : 'every one ran autonomously',
  );
  const after = lanes.slice(Math.max(first, 0));
  const escaped = first >= 0 ? after.filter((l) => l.status !== 'in_review').length : 0;
  r.check(
    'once caught, the rest of the burst goes to review',
    first >= 0 && escaped === 0,
    `${after.length - escaped} of ${after.length} after the first catch in review`,
  );
  r.check(
    'nothing caught runs before a person looks',
    lanes.filter((l) => l.reasons.includes('anomaly:')).every((l) => l.status === 'in_review'),
    `${lanes.filter((l) => l.reasons.includes('anomaly:')).length} caught`,
  );

  r.step('a reviewer rejects what the burst sent to review (nothing left behind)');
  for (const l of lanes.filter((x) => x.status === 'in_review')) {
    const d = await api.decide(l.id, 'reject', 'drill: confident nonsense caught by the anomaly rules');
    if (d.status !== 200) r.step(`could not reject ${l.id}: HTTP ${d.status}`);
    const v = await api.waitForAction(l.id, (x) => x.status === 'rejected', o.waitMs);
    r.actions.set(l.id, v?.status ?? 'unknown');
  }
  await settle(api, r, o.waitMs);
  return r;
}
