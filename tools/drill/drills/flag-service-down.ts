import { DrillClient, END_STATUSES } from '../client';
import { lowRisk, ofType } from '../proposals';
import { DrillReport } from '../report';
import { flagCause, ranAutonomously } from '../why';
import { cleanUp, DrillOptions, preflight, proposeAndFollow, settle } from './common';

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
  // The baseline is the pre-flight: a low-risk action that does not run on its own now (a kill switch off, an anomaly
  // rule holding the agent) would be held during the outage too, and the outage would be credited for it.
  const before = await preflight(api, r, o, {
    what: `baseline: a low-risk action with the flag service (${fs.kind}) up executes on its own`,
    proposal: lowRisk(),
    expect: ranAutonomously,
  });
  if (!before) return cleanUp(api, r, o);
  r.check('before the outage, a low-risk action executes', ranAutonomously(before.view), `it ended ${before.why}`);

  r.step(`the flag service goes down (${fs.kind})`);
  await fs.down();
  const downAt = r.now();
  // Followed until it ends, waits for a person, or says it waits on a flag source: its own view says why it does not run.
  const stopsOrWaits = (s: string, v: Parameters<typeof flagCause>[0]) =>
    END_STATUSES.has(s) || s === 'in_review' || s === 'held' || flagCause(v) !== undefined;
  try {
    if (fs.kind === 'unleash') {
      const during = await proposeAndFollow(api, r, lowRisk(), (s) => END_STATUSES.has(s), o.waitMs);
      const kept = ranAutonomously(during.view);
      r.check('during the outage, flags already read keep their last-known values', kept, `a low-risk action ended ${during.why}`);
      if (kept) r.degradedAfter('nothing degraded for flags already read: served from last-known values', r.now() - downAt);
    } else {
      // The file is the only source: unreadable means every flag unknown, and nothing runs until it is back. Only the
      // action's own reason credits the outage: held for anything else (an anomaly rule), it shows nothing about flags.
      const during = await proposeAndFollow(api, r, lowRisk(), stopsOrWaits, o.waitMs);
      const cause = flagCause(during.view);
      r.check(
        'during the outage, nothing runs on a flag that cannot be read',
        during.status !== 'executed' && cause !== undefined,
        cause ? `a low-risk action is ${during.status}: ${cause}` : `a low-risk action ended ${during.why}, not held by the flag outage`,
      );
      if (cause) r.degradedAfter('every flag unknown: a low-risk action waits instead of executing', r.now() - downAt);
    }
    if (o.neverSeenActionType) {
      const unseen = await proposeAndFollow(api, r, ofType(o.neverSeenActionType, o.neverSeenParameters ?? {}), stopsOrWaits, o.waitMs);
      const cause = flagCause(unseen.view);
      r.check(
        'a flag never seen fails closed',
        unseen.status !== 'executed' && cause !== undefined,
        `an action of ${o.neverSeenActionType} (no flag ever seen) is ${cause ? `${unseen.status}: ${cause}` : `${unseen.why}, not for its flag`}`,
      );
    }
  } finally {
    r.step('the flag service comes back');
    await fs.up();
  }
  const upAt = r.now();
  const after = await proposeAndFollow(api, r, lowRisk(), (s) => END_STATUSES.has(s) || s === 'in_review', o.waitMs);
  const recovered = ranAutonomously(after.view);
  r.check('after the outage, a low-risk action executes again', recovered, `it ended ${after.why}`);
  if (recovered) r.degradedAfter('recovered: a new action executed', r.now() - upAt);
  await settle(api, r, o.waitMs);
  const notEnded = [...r.actions].filter(([, s]) => !END_STATUSES.has(s) && s !== 'in_review');
  r.check(
    'everything proposed during the drill ended (or waits for a person)',
    notEnded.length === 0,
    notEnded.length ? `${notEnded.map(([id, s]) => `${id}: ${s}`).join(', ')}` : `${r.actions.size} actions`,
  );
  return cleanUp(api, r, o);
}
