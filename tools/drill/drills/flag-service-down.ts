import { DrillClient, END_STATUSES } from '../client';
import { lowRisk, ofType } from '../proposals';
import { DrillReport } from '../report';
import { DrillOptions, proposeAndFollow, settle } from './common';

/**
 * `flag-service-down`: the flag service goes away. Flags already read keep their last-known values (Unleash's client
 * keeps them; a flag file that cannot be read fails closed instead), a flag never seen fails closed, nothing is made
 * final for a transient cause, and everything proposed during the outage ends properly once it is back.
 */
export async function flagServiceDown(o: DrillOptions): Promise<DrillReport> {
  const r = new DrillReport('flag-service-down', o.log);
  const api = new DrillClient(o.target);
  const fs = o.target.flagService;
  if (!fs) {
    r.check('the target can take its flag service away', false, 'its target file names no flagService: nothing was done');
    return r;
  }
  r.step(`baseline: a low-risk action with the flag service (${fs.kind}) up`);
  const before = await proposeAndFollow(api, r, lowRisk(), (s) => END_STATUSES.has(s), o.waitMs);
  r.check('before the outage, a low-risk action executes', before === 'executed', `it ended ${before}`);

  r.step(`the flag service goes down (${fs.kind})`);
  await fs.down();
  const downAt = r.now();
  try {
    const during = await proposeAndFollow(api, r, lowRisk(), (s) => END_STATUSES.has(s), fs.kind === 'unleash' ? o.waitMs : 3_000);
    if (fs.kind === 'unleash') {
      r.check('during the outage, flags already read keep their last-known values', during === 'executed', `a low-risk action ended ${during}`);
      r.degradedAfter('nothing degraded for flags already read: served from last-known values', r.now() - downAt);
    } else {
      // The file is the only source: unreadable means every flag unknown, and nothing runs until it is back.
      r.check(
        'during the outage, nothing runs on a flag that cannot be read',
        during !== 'executed',
        `a low-risk action is still ${during} after 3 s (it waits)`,
      );
      r.degradedAfter('every flag unknown: a low-risk action waits instead of executing', r.now() - downAt);
    }
    if (o.neverSeenActionType) {
      const unseen = await proposeAndFollow(api, r, ofType(o.neverSeenActionType, o.neverSeenParameters ?? {}), (s) => END_STATUSES.has(s), 3_000);
      r.check('a flag never seen fails closed', unseen !== 'executed', `an action of ${o.neverSeenActionType} (no flag ever seen) is ${unseen}`);
    }
  } finally {
    r.step('the flag service comes back');
    await fs.up();
  }
  const upAt = r.now();
  const after = await proposeAndFollow(api, r, lowRisk(), (s) => s === 'executed', o.waitMs);
  r.check('after the outage, a low-risk action executes again', after === 'executed', `it ended ${after}`);
  if (after === 'executed') r.degradedAfter('recovered: a new action executed', r.now() - upAt);
  await settle(api, r, o.waitMs);
  const notEnded = [...r.actions].filter(([, s]) => !END_STATUSES.has(s) && s !== 'in_review');
  r.check(
    'everything proposed during the drill ended (or waits for a person)',
    notEnded.length === 0,
    notEnded.length ? `${notEnded.map(([id, s]) => `${id}: ${s}`).join(', ')}` : `${r.actions.size} actions`,
  );
  return r;
}
