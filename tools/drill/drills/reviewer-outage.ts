import { TOPICS } from '@countersign/contracts';
import { DrillClient, END_STATUSES } from '../client';
import { ofType } from '../proposals';
import { DrillReport } from '../report';
import { cleanUp, DrillOptions, preflight } from './common';

/** A review item as `GET /v1/reviews/{id}` shows it (the fields this drill reads). */
interface ShownItem {
  slaClass: string;
  createdAt: string;
  dueAt: string;
  requiredRoles: string[];
}

/**
 * `reviewer-outage`: nobody decides. A review-lane action escalates to the next tier at the contract's share of its SLA
 * and expires at 100 % (`sla_expired`): final, never executed, and nothing approves it on the way. Takes as long as the
 * class's SLA (critical, 5 minutes under the shipped contract; seconds under a test contract).
 */
export async function reviewerOutage(o: DrillOptions): Promise<DrillReport> {
  const r = new DrillReport('reviewer-outage', o.log);
  const api = new DrillClient(o.target);
  const actionType = o.reviewActionType ?? 'infra.iam_policy_change';
  // The drill's own proposal is the pre-flight: one that does not go to review (a kill switch off, a mode that
  // prohibits it) has nothing to time out.
  const queued = await preflight(api, r, o, {
    what: `a ${actionType} proposal goes to review (nobody will decide it: the drill waits)`,
    proposal: ofType(actionType, o.reviewParameters ?? { addPermissions: ['drill:read'] }),
    expect: (v) => v?.status === 'in_review',
  });
  if (!queued?.id) return cleanUp(api, r, o);
  const id = queued.id;
  const shown = await api.item(id);
  if (shown.status !== 200) return (r.check('the review item can be read', false, `HTTP ${shown.status}`), cleanUp(api, r, o));
  const item = shown.body as unknown as ShownItem;
  const created = Date.parse(item.createdAt);
  const slaMs = Date.parse(item.dueAt) - created;
  r.step(`in review: class ${item.slaClass}, SLA ${(slaMs / 1000).toFixed(0)} s, roles ${item.requiredRoles.join(', ')}`);

  // Past the SLA, with room for the clock's period and a slow machine: the expiry must have come by then.
  const view = await api.waitForAction(id, (v) => END_STATUSES.has(v.status), slaMs + o.waitMs, 500);
  const timeline = view?.timeline ?? [];
  const escalation = timeline.find((t) => t.type === TOPICS.reviewDecided && t.status === 'in_review');
  const expiry = timeline.find((t) => t.status === 'expired');
  if (escalation) {
    const share = (Date.parse(escalation.time) - created) / slaMs;
    r.degradedAfter(`escalated at ${(share * 100).toFixed(0)} % of the SLA: ${escalation.detail}`, Date.parse(escalation.time) - created);
    r.check('it escalates once, past the escalation share and before expiry', share >= 0.5 && share < 1, `at ${(share * 100).toFixed(0)} % of the SLA`);
  } else r.check('it escalates before it expires', false, 'no escalation on its timeline');
  if (expiry) r.degradedAfter(`expired: ${expiry.detail}`, Date.parse(expiry.time) - created);
  r.check(
    'it expires at the end of its SLA, with reason sla_expired',
    Boolean(expiry?.detail.includes('sla_expired')),
    expiry ? expiry.detail : `it is ${view?.status ?? 'unknown'}`,
  );
  const escalations = timeline.filter((t) => t.type === TOPICS.reviewDecided && t.status === 'in_review').length;
  r.check('one escalation, not two', escalations === 1, `${escalations} escalation(s) on the timeline`);
  r.check(
    'a timeout never approves or executes',
    !timeline.some((t) => t.status === 'approved' || t.status === 'executed'),
    timeline.map((t) => t.status).join(' → '),
  );
  r.actions.set(id, view?.status ?? 'unknown');
  return cleanUp(api, r, o);
}
