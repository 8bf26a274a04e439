/**
 * `npm run chaos`: the fault harness. Drives CHAOS_N proposals (default 10,000: autonomous and review lanes, a
 * scripted reviewer, a target answering in 20–200 ms) through the five services on the real stack while it kills -9
 * each service, Kafka, Redis and PostgreSQL and Unleash, each CHAOS_ROUNDS times (default 2), and starts each again;
 * waits for quiet; prints accepted, executed, effects at the target, lost, duplicate, stuck, audit completeness and
 * the verifier's result. Exit 0 only when every goal is met (0 lost, 0 duplicate, 0 stuck, audit complete and verified).
 *
 *   --short        the version `npm test` runs: 300 proposals, each fault once, shorter outages, ~3 minutes
 *   --json FILE    also writes the figures and `{passed, failed}` (one per goal) for tools/test-summary.js
 *
 * The last round (CHAOS_COMPOUND_ROUNDS) kills a service while a shared part is down, so it restarts into the outage.
 * Other settings: CHAOS_FAULTS=executor,redis (only these), CHAOS_SEED, CHAOS_ROUNDS, CHAOS_OUTAGE_S (how long a shared
 * part stays down), CHAOS_SERVICE_DOWN_S (how long a killed service does: past about 3 min for the review queue, its
 * trust monitor's verdict is stale past the policy engine's window), CHAOS_QUIET_S, CHAOS_DEADLINE_S, CHAOS_KEEP=1 (keep the
 * namespace's database). Kills the SHARED Kafka, Redis, PostgreSQL and Unleash: run it when nothing else is testing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStackEnvFile } from '@countersign/testing';
import { ChaosOptions, ChaosReport, runChaos } from './harness';

const { values: args } = parseArgs({ options: { short: { type: 'boolean', default: false }, json: { type: 'string' } } });
const env = (k: string, d: number) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const short = args.short;
const log = (line: string) => process.stderr.write(`${line}\n`);

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`chaos: ${signal}: no more faults; restoring the stack and counting (a second ${signal} leaves at once)`);
  });

const options: ChaosOptions = {
  n: env('CHAOS_N', short ? 300 : 10_000),
  rounds: env('CHAOS_ROUNDS', short ? 1 : 2),
  reviewShare: 0.3,
  approveShare: 0.75,
  concurrency: 16,
  outageMs: env('CHAOS_OUTAGE_S', short ? 2 : 10) * 1000,
  serviceDownMs: env('CHAOS_SERVICE_DOWN_S', short ? 0 : 2) * 1000,
  gapMs: short ? 500 : 5_000,
  compoundRounds: env('CHAOS_COMPOUND_ROUNDS', 1),
  quietMs: env('CHAOS_QUIET_S', short ? 15 : 60) * 1000,
  quietMaxMs: short ? 40_000 : 600_000,
  deadlineMs: env('CHAOS_DEADLINE_S', short ? 180 : 3_600) * 1000,
  patienceMs: short ? 60_000 : 180_000,
  seed: env('CHAOS_SEED', Date.now() % 2 ** 31),
  keep: process.env.CHAOS_KEEP === '1',
  only: process.env.CHAOS_FAULTS ? process.env.CHAOS_FAULTS.split(',').map((s) => s.trim()) : undefined,
  root: join(__dirname, '../..'),
  log,
  aborted: () => interrupted,
};

const pct = (n: number, of: number) => (of ? `${((100 * n) / of).toFixed(1)} %` : '–');
const list = (xs: string[], n = 5) => (xs.length ? ` (${xs.slice(0, n).join(', ')}${xs.length > n ? ', …' : ''})` : '');

function print(r: ChaosReport) {
  const f = r.figures;
  const line = (k: string, v: string) => process.stdout.write(`chaos: ${k.padEnd(22)} ${v}\n`);
  process.stdout.write('\n');
  line('run', `${r.namespace}, seed ${options.seed}, ${r.seconds.toFixed(0)} s, logs in ${join(r.dir, 'logs')}`);
  line(
    'faults (back after)',
    r.faults
      .map(
        (x) =>
          `${x.fault.replace('kill -9 ', '')} ${x.error ? 'NOT BACK' : `${((x.backAfterMs ?? 0) / 1000).toFixed(1)} s`}${x.restarts ? ` (${x.restarts} failed starts)` : ''}`,
      )
      .join(', '),
  );
  line('crashed by themselves', r.crashes.length ? r.crashes.map((c) => c.fault).join(', ') : '0');
  if (r.restoreProblems.length) line('restore problems', r.restoreProblems.join('; '));
  line('proposals', `${f.proposals}: accepted ${f.accepted}, not accepted ${f.notAccepted} (client errors: ${JSON.stringify(r.clientErrors)})`);
  line('executed', `${f.executed} of ${f.expectedEffects} expected (${pct(f.executed, f.expectedEffects)}); statuses ${JSON.stringify(f.byStatus)}`);
  line(
    'effects at the target',
    `${f.effects.distinct} distinct, ${f.effects.duplicate} duplicate; ${f.effects.deliveries} deliveries (${f.effects.redeliveries} redelivered under the same key), ${f.effects.ofNotAccepted} of proposals never accepted`,
  );
  line('lost', `${f.lost.length}${list(f.lost)}`);
  line(
    'told to propose again',
    `${f.proposedAgain.proposals} proposals (rejected at intake: proposer_backlog_full; prohibited with retryLater) proposed again by the agent, ${f.proposedAgain.reproposals} times in all ${JSON.stringify(f.proposedAgain.byReason)}`,
  );
  line('duplicate', `${f.duplicated.length}${list(f.duplicated)}`);
  line('executed unapproved', `${f.unapproved.length}${list(f.unapproved)}`);
  line('stuck', `${f.stuck.length}${list(f.stuck.map((s) => `${s.actionId} ${s.status}`))}`);
  line('waiting for a human', String(f.waitingForHuman));
  line('views forgotten (404)', String(f.viewsMissing));
  line('quiet', `${r.quiet.reached ? 'reached' : 'NOT reached'} ${(r.quiet.waitedMs / 1000).toFixed(0)} s after the last proposal`);
  line(
    'audit completeness',
    `${r.audit.complete ? 'complete' : 'INCOMPLETE'}: ${r.audit.completenessLine}; ${r.audit.absent.length} accepted actions absent from the log${list(r.audit.absent, 5)}${list(r.audit.gaps, 3)}` +
      (r.audit.unclaimed.length ? `; in the log but named by no 202: ${r.audit.unclaimed.length}${list(r.audit.unclaimed, 5)}` : ''),
  );
  line('audit verifier', r.audit.verifyLine);
  line('reviewer', JSON.stringify(r.reviewer));
  const met = r.goals.filter((g) => g.ok).length;
  line('goals', `${r.goals.map((g) => `${g.name} ${g.ok ? 'met' : 'MISSED'}`).join(', ')}: ${met}/${r.goals.length}`);
}

void (async () => {
  loadStackEnvFile();
  let report: ChaosReport | undefined;
  try {
    report = await runChaos(options);
    print(report);
  } catch (e) {
    log(`chaos: FAILED to run: ${(e as Error).stack}`);
  }
  const passed = report?.goals.filter((g) => g.ok).length ?? 0;
  const failed = report ? report.goals.length - passed : 1;
  if (args.json) writeFileSync(args.json, JSON.stringify({ passed, failed, report: report && { ...report, figures: { ...report.figures } } }, null, 2));
  process.exit(failed ? 1 : 0);
})();
