import { ActionView, DrillClient, END_STATUSES, sleep } from '../client';
import { lowRisk, ofType } from '../proposals';
import { DrillReport } from '../report';
import type { DrillTarget } from '../target';
import { flagCause, ranAutonomously, tally } from '../why';
import { cleanUp, DrillOptions, Followed, preflight, proposeAndFollow, settle } from './common';

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
    r.stop('pre-flight: the target names no flag service the drill can take away (no flagService in its target file): nothing was done');
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
  const restore = restoreOnce(r, fs);
  // Followed until it ends, waits for a person, or says it waits on a flag source: its own view says why it does not run.
  const stopsOrWaits = (s: string, v: Parameters<typeof flagCause>[0]) =>
    END_STATUSES.has(s) || s === 'in_review' || s === 'held' || flagCause(v) !== undefined;
  // Unleash's outage shows in no action (flags already read keep their values): there is nothing to wait for.
  let noticed = fs.kind === 'unleash';
  try {
    if (fs.kind === 'unleash') {
      const during = await proposeAndFollow(api, r, lowRisk(), (s) => END_STATUSES.has(s), o.waitMs);
      const kept = ranAutonomously(during.view);
      r.check('during the outage, flags already read keep their last-known values', kept, `a low-risk action ended ${during.why}`);
      if (kept) r.degradedAfter('nothing degraded for flags already read: served from last-known values', r.now() - downAt);
    } else {
      // The file is the only source: unreadable means every flag unknown, and nothing runs until it is back. The system
      // sees the file go a moment after it went (it watches it), and what it decided before then ran on the flags as
      // they were: the drill judges only what it proposes once an action of its own shows the outage noticed.
      noticed = await untilNoticed(api, r, o, downAt, stopsOrWaits);
      if (noticed) {
        // Only the action's own reason credits the outage: held for anything else (an anomaly rule), it shows nothing
        // about flags.
        const during = await proposeAndFollow(api, r, lowRisk(), stopsOrWaits, o.waitMs);
        const cause = flagCause(during.view);
        r.check(
          'during the outage, nothing runs on a flag that cannot be read',
          during.status !== 'executed' && cause !== undefined,
          cause ? `a low-risk action is ${during.status}: ${cause}` : `a low-risk action ended ${during.why}, not held by the flag outage`,
        );
      }
    }
    if (o.neverSeenActionType && noticed) {
      const unseen = await proposeAndFollow(api, r, ofType(o.neverSeenActionType, o.neverSeenParameters ?? {}), stopsOrWaits, o.waitMs);
      const cause = flagCause(unseen.view);
      r.check(
        'a flag never seen fails closed',
        unseen.status !== 'executed' && cause !== undefined,
        `an action of ${o.neverSeenActionType} (no flag ever seen) is ${cause ? `${unseen.status}: ${cause}` : `${unseen.why}, not for its flag`}`,
      );
    }
  } finally {
    await restore();
  }
  if (r.stopped) {
    // Its probes are accounted for: each has ended, or the report names it as left pending.
    await settle(api, r, o.waitMs);
    return cleanUp(api, r, o);
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

/** How long the drill waits before its next probe while the system has not noticed the outage yet. */
const PROBE_EVERY_MS = 250;

/**
 * With the flag file gone, proposes low-risk probes one after another until one shows the outage noticed (it waits on
 * the flags, as its view says: `flagCause`), for at most `o.waitMs` from `downAt`. A probe that executed was decided
 * before the system saw the file go, and the next is sent. Returns true once one waits on the flags. Otherwise the
 * report says why and false is returned: stopped (exit 3) when no probe showed the outage in time (each executed, or
 * the last was still on its way), a failed check when one ended for another cause (an anomaly rule, a final refusal).
 */
async function untilNoticed(
  api: DrillClient,
  r: DrillReport,
  o: DrillOptions,
  downAt: number,
  done: (status: string, view: ActionView) => boolean,
): Promise<boolean> {
  const until = Date.now() + o.waitMs;
  const probes: Followed[] = [];
  let probe: Followed;
  do {
    if (probes.length) await sleep(PROBE_EVERY_MS);
    probe = await proposeAndFollow(api, r, lowRisk(), done, Math.max(until - Date.now(), 0));
    probes.push(probe);
  } while (probe.status === 'executed' && Date.now() < until);
  const ran = probes.filter((p) => p.status === 'executed').map((p) => p.id);
  const cause = flagCause(probe.view);
  if (cause) {
    if (ran.length) r.step(`${ran.length} probe(s) executed: decided before the system noticed the outage, on the flags as they were: ${ran.join(', ')}`);
    r.step(`the outage is noticed: probe ${probe.id} is ${probe.status}: ${cause}`);
    r.degradedAfter('every flag unknown: a low-risk action waits instead of executing', r.now() - downAt);
    return true;
  }
  if (ran.length) r.step(`${ran.length} probe(s) executed, on the flags as they were before the outage: ${ran.join(', ')}`);
  // Still running, or still on its way at the end of the wait: the outage never showed.
  if (probe.status === 'executed' || probe.status === 'unknown' || (probe.view && !done(probe.status, probe.view))) {
    r.stop(
      `pre-flight: the flag file was moved aside, but in ${(o.waitMs / 1000).toFixed(0)} s no action showed that the system noticed (once it has, an action waits on the flags): ${probes.length} probe(s), ${tally(probes.map((p) => p.view))}`,
    );
    return false;
  }
  // Refused for good for the flag it could not read (the outage made final), or stopped for another cause (an anomaly
  // rule): either way it does not wait for the flags.
  const finalForFlags = probe.status === 'refused' && Boolean(probe.view?.timeline.at(-1)?.detail.startsWith('flag-unknown'));
  const instead = finalForFlags ? 'made final instead of waiting until the flags are back' : 'not held by the flag outage';
  r.check('during the outage, nothing runs on a flag that cannot be read', false, `a low-risk action ended ${probe.why}, ${instead}`);
  return false;
}

/**
 * Brings the flag service back once, whatever ends the drill: its own course, an error, or the operator's Ctrl-C
 * (SIGINT, SIGTERM: the flags are put back, then the signal takes its usual course). Returns what the drill calls itself.
 */
function restoreOnce(r: DrillReport, fs: NonNullable<DrillTarget['flagService']>): () => Promise<void> {
  let restored: Promise<void> | undefined;
  const restore = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!restored) {
      r.step('the flag service comes back');
      restored = fs.up();
    }
    return restored;
  };
  const onSignal = (signal: NodeJS.Signals) => void restore().finally(() => process.kill(process.pid, signal));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return restore;
}
