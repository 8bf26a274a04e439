import { DrillClient, END_STATUSES } from '../client';
import { mediumRisk } from '../proposals';
import { DrillReport } from '../report';
import { byTrustStack, ranAutonomously } from '../why';
import { cleanUp, DrillOptions, Followed, preflight, proposeAndFollow, settle } from './common';

/**
 * `cert-failure`: a service's certificate expires on a running system (as a renewal that failed would leave it). The trust
 * monitor finds it at its next check and turns trust `unhealthy`; trust-sensitive autonomy (a merge) fails closed (the
 * agent is told to retry later) and nothing of it reaches the target; once the certificate is renewed, the same kind of
 * action runs again, without a restart. Prints how long each took (goal: fail closed within one check interval, plus the
 * time a verdict takes to reach the policy engine).
 */
/** How long a merge proposed after the expiry is followed before the next is proposed. */
const FOLLOW_MS = 1_000;

export async function certFailure(o: DrillOptions): Promise<DrillReport> {
  const r = new DrillReport('cert-failure', o.log);
  const api = new DrillClient(o.target);
  const cert = o.target.certificate;
  // The embedded mode's trust monitor watches no certificate, only the keys the process holds (its HTTPS certificate,
  // when it has one, is not among them): an expired one would change nothing there, and the drill could show nothing.
  if (!cert) {
    r.stop(
      o.target.mode === 'embedded'
        ? 'pre-flight: the embedded mode has no certificate its trust monitor watches (it checks only the keys it holds): run cert-failure against the distributed mode (npm run start:distributed, then --target .stack/distributed)'
        : 'pre-flight: the target names no certificate the trust monitor watches (no certificate in its target file): nothing was done',
    );
    return r;
  }
  // The baseline is the pre-flight: a merge that does not run on its own now would not show the expiry's effect.
  const before = await preflight(api, r, o, {
    what: `baseline: a trust-sensitive action (a merge) with ${cert.owner}'s certificate valid executes on its own`,
    proposal: mediumRisk(),
    expect: ranAutonomously,
  });
  if (!before) return cleanUp(api, r, o);
  r.check('before, a merge executes', ranAutonomously(before.view), `it ended ${before.why}`);

  r.step(`${cert.owner}'s certificate is replaced by an expired one`);
  await cert.expire();
  const expiredAt = r.now();
  let closed: Followed | undefined;
  let closedAfter = Infinity;
  try {
    // Proposed one after another until one is refused: the first refusal marks the moment trust-sensitive work stopped.
    // Each is followed for a moment only: a merge decided autonomous just before the verdict reached the policy engine
    // is held by the executor once the verdict reaches it (not executed, not ended) until trust is healthy again, and
    // the next proposal must not wait for it. The held ones run after the renewal (`settle` below checks they end).
    const followMs = Math.min(o.waitMs, FOLLOW_MS);
    let held = 0;
    let slow = 0;
    while (r.now() - expiredAt < o.waitMs) {
      const f = await proposeAndFollow(api, r, mediumRisk(), (s) => END_STATUSES.has(s) || s === 'held', followMs);
      const status = f.status;
      if (status === 'executed') continue;
      if (status === 'held') {
        held++;
        continue;
      }
      if (!END_STATUSES.has(status)) {
        slow++;
        continue;
      }
      closed = f;
      // Only a prohibition for the trust stack is the expiry's doing: its time is the one the check measures.
      if (byTrustStack(f.view)) closedAfter = r.now() - expiredAt;
      break;
    }
    if (held) r.step(`${held} merge(s) held by the executor (decided autonomous before the verdict reached the policy engine): they run once trust is healthy`);
    if (slow) r.step(`${slow} merge(s) not ended within ${followMs} ms`);
    const failedClosed = byTrustStack(closed?.view);
    r.check(
      'with the certificate expired, trust-sensitive autonomy fails closed',
      failedClosed,
      `a merge ended ${closed ? `${closed.why}${failedClosed ? '' : ', not for the trust stack'}` : 'executed every time'}`,
    );
    if (closed && failedClosed) r.degradedAfter(`failed closed: a merge was ${closed.status}`, closedAfter);
    const limit = cert.checkMs + 5_000;
    r.check(
      `failed closed within one check interval (${cert.checkMs} ms) plus 5 s for the verdict to travel`,
      closedAfter <= limit,
      Number.isFinite(closedAfter) ? `${(closedAfter / 1000).toFixed(2)} s` : 'never',
    );
  } finally {
    r.step(`${cert.owner}'s certificate is renewed`);
    await cert.renew();
  }
  const renewedAt = r.now();
  let after: Followed | undefined;
  while (r.now() - renewedAt < o.waitMs) {
    after = await proposeAndFollow(api, r, mediumRisk(), (s) => END_STATUSES.has(s), o.waitMs);
    if (ranAutonomously(after.view)) break;
  }
  const recovered = ranAutonomously(after?.view);
  r.check('after the renewal, a merge executes again (no restart)', recovered, `it ended ${after?.why ?? 'never proposed'}`);
  if (recovered) r.degradedAfter('recovered: a merge executed', r.now() - renewedAt);
  await settle(api, r, o.waitMs);
  const notEnded = [...r.actions].filter(([, s]) => !END_STATUSES.has(s));
  r.check(
    'everything proposed during the drill ended',
    notEnded.length === 0,
    notEnded.length ? notEnded.map(([id, s]) => `${id}: ${s}`).join(', ') : `${r.actions.size} actions`,
  );
  return cleanUp(api, r, o);
}
