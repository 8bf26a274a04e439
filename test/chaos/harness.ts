import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { runAuditCli } from '@countersign/audit-writer/cli';
import { KafkaBus } from '@countersign/bus';
import { ActionView, proposeAgainReason } from '@countersign/client';
import { TOPICS } from '@countersign/contracts';
import { verifyKeyEntry } from '@countersign/keys';
import { SERVICES, stackEnv, startDistributed, testFetch, uniqueName } from '@countersign/testing';
import { Fault, faultName, FaultRecord, Faults, PARTS, sleep } from './faults';
import { Reproposals } from './reproposals';
import { plannedIntent } from './reviewer';
import { Figures, goals, Intent, Outcome, ProposalRun, tally } from './tally';
import { startSlowTarget } from './target';

export interface ChaosOptions {
  /** Proposals to drive. */
  n: number;
  /** How many times each fault is injected. */
  rounds: number;
  /** Share of the proposals that take the review lane, and of those the share the scripted reviewer approves. */
  reviewShare: number;
  approveShare: number;
  /** Proposals in flight at once (an agent's concurrency). */
  concurrency: number;
  /** How long a killed part of the stack stays down, and a killed service. */
  outageMs: number;
  serviceDownMs: number;
  /** Pause between two faults. */
  gapMs: number;
  /** How many of the rounds (the last ones) kill a service while a shared part is down. */
  compoundRounds: number;
  /**
   * "Quiet": every accepted action is in a terminal state, or nothing changed (audit log, target, reviewer, settled
   * actions) for `quietMs`; waited for at most `quietMaxMs` after the last proposal, whatever the deadline.
   */
  quietMs: number;
  quietMaxMs: number;
  /** No fault and no proposal after this (from the start); then the wait for quiet, then the counting. */
  deadlineMs: number;
  /** How long an agent keeps retrying one proposal (same Idempotency-Key) before it gives up. */
  patienceMs: number;
  seed: number;
  /** Only these faults (service or part names); all when absent. */
  only?: string[];
  /** Keep the namespace's database (for a post-mortem) instead of dropping it. */
  keep: boolean;
  root: string;
  log: (line: string) => void;
  /** Aborts the run early (Ctrl-C): faults stop, the stack is restored, the figures are counted. */
  aborted?: () => boolean;
}

export interface ChaosReport {
  namespace: string;
  dir: string;
  seconds: number;
  figures: Figures;
  faults: FaultRecord[];
  /** Services that exited without being killed (each was started again). */
  crashes: FaultRecord[];
  restoreProblems: string[];
  quiet: { reached: boolean; waitedMs: number };
  audit: {
    actions: number;
    gaps: string[];
    absent: string[];
    unclaimed: string[];
    complete: boolean;
    completenessLine: string;
    verified: boolean;
    verifyLine: string;
  };
  goals: Array<{ name: string; ok: boolean }>;
  reviewer: Record<string, number>;
  clientErrors: Record<string, number>;
}

const ACTION_TYPES = ['ticket.tag', 'support.reply', 'account.close'];

/** A small seeded generator (mulberry32): the same seed, the same run plan. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A request with a deadline: a service that hangs must not hang the harness. */
async function http(method: string, url: string, token: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 15_000) {
  // The services serve HTTPS from the stack's PKI: testFetch trusts its root.
  const res = await testFetch(url, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
}

const proposalBody = (run: ProposalRun) => {
  const base = {
    target: run.target,
    proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
    confidence: 0.97,
    tenant: 'acme',
    region: 'eu-west',
    context: {},
  };
  if (run.intent !== 'autonomous') return { ...base, actionType: 'account.close', parameters: { reason: `chaos ${run.index}: customer asked` } };
  return run.index % 2
    ? { ...base, actionType: 'ticket.tag', parameters: { tags: ['chaos', `n${run.index}`] } }
    : { ...base, actionType: 'support.reply', parameters: { body: `Chaos reply ${run.index}.` } };
};

const count = (m: Record<string, number>, k: string) => void (m[k] = (m[k] ?? 0) + 1);

/**
 * Drives `n` proposals through the five services on the real stack while it kills -9 each service, Kafka,
 * Redis and PostgreSQL and stops Unleash, each `rounds` times; waits for quiet; counts what happened.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + o.deadlineMs;
  const over = () => Date.now() > deadline || !!o.aborted?.();
  const since = new Date(started - 5_000).toISOString();
  const namespace = uniqueName('chaos');
  const dir = join(o.root, '.stack/chaos', namespace);
  const random = rng(o.seed);
  const runs: ProposalRun[] = Array.from({ length: o.n }, (_, index) => {
    const review = random() < o.reviewShare;
    const intent: Intent = !review ? 'autonomous' : random() < o.approveShare ? 'approve' : 'reject';
    // A ticket's id: a reply's target is one ticket (contract 2026.12.17, `reply-not-to-a-ticket`), and the other types
    // take it as they took the bare name.
    return { index, target: `ticket-${namespace}-${index}`, intent };
  });
  const intentOf = new Map(runs.map((r) => [r.target, r.intent]));
  // Filled as the 202s arrive: the reviewer matches items by action id (a listed target may be masked, see reviewer.ts).
  const intentByActionId = new Map<string, Intent>();

  const target = await startSlowTarget();
  o.log(`chaos: starting the five services in namespace ${namespace} (logs: ${join(dir, 'logs')})`);
  const stack = await startDistributed({
    namespace,
    webhookUrl: target.url,
    actionTypes: ACTION_TYPES,
    dir,
    logLevel: 'info',
    // A lease the quiet window can see end: an execution stranded by a kill is reconciled within seconds.
    serviceEnv: { executor: { EXECUTION_LEASE_MS: '6000', RECONCILE_PERIOD_MS: '1000', WEBHOOK_TIMEOUT_MS: '3000' } },
  });
  const faults = new Faults(stack, { root: o.root, logDir: join(dir, 'logs'), log: o.log });
  const db = () => new Client({ connectionString: stack.env.DATABASE_URL, connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
  const reviewer: Record<string, number> = {};
  const clientErrors: Record<string, number> = {};
  let restoreProblems: string[] = [];
  let stopReviewer = false;
  try {
    // ---- the fault plan: every kind `rounds` times, shuffled per round ----
    const kinds: Fault[] = [...SERVICES.map((name) => ({ kind: 'service' as const, name })), ...PARTS.map((part) => ({ kind: 'stack' as const, part }))].filter(
      (f) => !o.only || o.only.includes(faultName(f)),
    );
    const shuffled = <T>(xs: T[]) => {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    };
    // A step is one fault, or (in a compound round) a service killed while a shared part is down: it then
    // restarts into the outage, as a crash-looping service does.
    const plan: Fault[][] = [];
    for (let r = 0; r < o.rounds; r++) {
      if (r < o.rounds - o.compoundRounds) {
        plan.push(...shuffled(kinds).map((f) => [f]));
        continue;
      }
      const services = shuffled(kinds.filter((f) => f.kind === 'service'));
      const parts = shuffled(kinds.filter((f) => f.kind === 'stack'));
      const steps: Fault[][] = [];
      while (services.length || parts.length) steps.push([parts.shift(), services.shift()].filter((f): f is Fault => !!f));
      plan.push(...shuffled(steps));
    }
    // Rough time each fault takes (kill, outage, start, ready): the load is spread over the whole plan.
    const estimate = (f: Fault) =>
      f.kind === 'service' ? o.serviceDownMs + 9_000 : o.outageMs + { kafka: 15_000, redis: 2_000, postgres: 8_000, unleash: 10_000 }[f.part];
    const estimateStep = (step: Fault[]) => o.gapMs + Math.max(...step.map(estimate)) + (step.length > 1 ? 3_000 : 0);
    let remainingEstimate = plan.reduce((t, step) => t + estimateStep(step), 0);
    const planned = plan.flat().length;
    o.log(
      `chaos: ${o.n} proposals (${runs.filter((r) => r.intent !== 'autonomous').length} to review), ${planned} faults in ${plan.length} steps ` +
        `(${plan.map((step) => step.map(faultName).join('+')).join(', ')}), seed ${o.seed}`,
    );

    // ---- the scripted reviewer: approves or rejects each approval item as planned, agrees with each audit sample ----
    const rq = stack.urls['review-queue'];
    const reviewerLoop = (async () => {
      while (!stopReviewer) {
        try {
          const list = await http('GET', `${rq}/v1/reviews?limit=200`, stack.tokens.reviewer);
          if (list.status !== 200) count(reviewer, `list ${list.status}`);
          const items = (list.body.items ?? []) as Array<{ actionId: string; kind?: string; proposal?: { target?: string } }>;
          for (let i = 0; i < items.length && !stopReviewer; i += 8) {
            await Promise.all(
              items.slice(i, i + 8).map(async (item) => {
                const intent = plannedIntent(item, intentByActionId, intentOf);
                let res;
                if (item.kind === 'audit-sample') {
                  res = await http('POST', `${rq}/v1/reviews/${item.actionId}/assess`, stack.tokens.reviewer, {
                    verdict: 'agree',
                    reason: 'chaos: sample checked',
                  });
                  count(reviewer, `assess ${res.status}`);
                } else if ((item.kind ?? 'approval') === 'approval' && intent && intent !== 'autonomous') {
                  const verb = intent === 'approve' ? 'approve' : 'reject';
                  res = await http('POST', `${rq}/v1/reviews/${item.actionId}/${verb}`, stack.tokens.reviewer, { reason: `chaos: planned ${verb}` });
                  count(reviewer, `${verb} ${res.status}`);
                } else count(reviewer, `left ${item.kind ?? 'approval'}`);
              }),
            ).catch((e: Error) => count(reviewer, `error ${e.name === 'TypeError' ? 'network' : e.name}`));
          }
        } catch (e) {
          count(reviewer, `error ${(e as Error).name === 'TypeError' ? 'network' : (e as Error).name}`);
        }
        await sleep(300);
      }
    })();

    // ---- the agent: proposals at a pace that spreads them over the fault plan, each retried under its key ----
    const api = `${stack.urls.orchestrator}/v1/proposals`;
    const submit = async (run: ProposalRun, key = run.target) => {
      const until = Math.min(Date.now() + o.patienceMs, deadline);
      let backoff = 200;
      let last = '';
      const body = proposalBody(run);
      while (!o.aborted?.()) {
        try {
          const res = await http('POST', api, stack.tokens.agent, body, { 'Idempotency-Key': key }, 20_000);
          if (res.status === 202) {
            run.actionId = String(res.body.actionId);
            intentByActionId.set(run.actionId, run.intent);
            return;
          }
          last = `${res.status} ${String(res.body.message ?? '').slice(0, 120)}`;
          count(clientErrors, String(res.status));
          if (res.status < 500 && res.status !== 429 && res.status !== 408) break; // the proposal itself was refused: no retry
          const after = Number(res.retryAfter);
          if (after > 0) backoff = Math.min(after * 1000, 5_000);
        } catch (e) {
          last = (e as Error).message;
          count(clientErrors, (e as Error).name === 'TimeoutError' ? 'timeout' : 'network');
        }
        if (Date.now() + backoff > until) break;
        await sleep(backoff + Math.random() * 100);
        backoff = Math.min(backoff * 2, 2_000);
      }
      run.gaveUp = last || 'aborted';
    };
    let faultsDone = false;
    const driver = (async () => {
      let next = 0;
      let inFlight = 0;
      let credit = 0;
      let tick = Date.now();
      const pending = new Set<Promise<void>>();
      while (next < runs.length && !over()) {
        const now = Date.now();
        const rate = (runs.length - next) / Math.max(1_000, faultsDone ? 1_000 : remainingEstimate);
        credit += rate * (now - tick);
        tick = now;
        while (credit >= 1 && inFlight < o.concurrency && next < runs.length) {
          credit--;
          inFlight++;
          const p = submit(runs[next++]).finally(() => {
            inFlight--;
            pending.delete(p);
          });
          pending.add(p);
        }
        credit = Math.min(credit, o.concurrency);
        await sleep(50);
      }
      await Promise.all(pending);
      for (const run of runs) if (!run.actionId && !run.gaveUp) run.gaveUp = 'not sent before the deadline';
    })();

    // ---- the faults, step by step ----
    // Every planned fault is injected even when the submission deadline has passed (a slow restart must not leave a
    // fault out of the run); only an interrupt stops the plan.
    for (const step of plan) {
      if (o.aborted?.()) break;
      const t0 = Date.now();
      const records = await Promise.all(
        step.map(async (f, i) => {
          await sleep(i * 1_000); // the shared part first, the service a second later (into the outage)
          return f.kind === 'service' ? faults.crashService(f.name, o.serviceDownMs) : faults.crashPart(f.part, o.outageMs);
        }),
      );
      for (const rec of records)
        o.log(`chaos: ${rec.fault}: ${rec.error ? `NOT BACK: ${rec.error}` : `back after ${((rec.backAfterMs ?? 0) / 1000).toFixed(1)} s`}`);
      remainingEstimate = Math.max(0, remainingEstimate - estimateStep(step));
      const gapUntil = Date.now() + o.gapMs;
      while (Date.now() < gapUntil && !o.aborted?.()) await sleep(100);
      o.log(
        `chaos: step ${step.map(faultName).join('+')} took ${((Date.now() - t0) / 1000).toFixed(1)} s (estimated ${(estimateStep(step) / 1000).toFixed(0)} s)`,
      );
    }
    faultsDone = true;
    restoreProblems = await faults.restoreAll();
    await driver;
    const submittedAt = Date.now();
    o.log(
      `chaos: all submitted (${runs.filter((r) => r.actionId).length} accepted); waiting for quiet (${o.quietMs / 1000} s without change, at most ${o.quietMaxMs / 1000} s)`,
    );

    // ---- quiet: every accepted action settled, or nothing new (audit log, target, reviewer, settled actions) for `quietMs` ----
    const TERMINAL = ['executed', 'failed', 'refused', 'prohibited', 'rejected', 'expired'];
    const unsettled = new Set(runs.filter((r) => r.actionId).map((r) => r.actionId!));
    // The agent reads each action's view as it settles: an approval the backlog cap rejected, or an action prohibited for
    // a reason that passes (`retryLater`), it proposes again later, as the reason asks (`reproposals.ts`); the new action
    // joins `unsettled`.
    const reproposals = new Reproposals({ maxAttempts: 8, firstDelayMs: 5_000, maxDelayMs: 60_000 });
    const sweep = async () => {
      const ids = [...unsettled].slice(0, 2_000);
      const current = new Map(runs.filter((r) => r.actionId).map((r) => [r.actionId!, r]));
      // Past the agent's read rate (429: docs/adr/0048, addendum 2026-12-07), the rest wait for the next sweep, as an agent
      // that honours the rate does.
      let limited = false;
      for (let i = 0; i < ids.length && !limited; i += 16)
        await Promise.all(
          ids.slice(i, i + 16).map(async (id) => {
            const res = await http('GET', `${stack.urls.orchestrator}/v1/actions/${id}`, stack.tokens.agent).catch(() => undefined);
            if (res?.status === 429) limited = true;
            if (res?.status !== 200 || !TERMINAL.includes(String(res.body.status))) return;
            unsettled.delete(id);
            const run = current.get(id);
            const again = run && proposeAgainReason(res.body as unknown as ActionView);
            if (again) reproposals.toldAgain(run, again);
          }),
        );
    };
    const probe = db();
    await probe.connect().catch(() => undefined);
    const signature = async () => {
      const audit = await probe.query('SELECT count(*)::int AS n FROM audit_log').then(
        (r) => r.rows[0].n as number,
        () => -Date.now(),
      );
      return `${audit}|${target.deliveries()}|${unsettled.size}|${reproposals.busy}|${Object.entries(reviewer)
        .filter(([k]) => !k.startsWith('list') && !k.startsWith('left'))
        .reduce((t, [, v]) => t + v, 0)}`;
    };
    let last = '';
    let changedAt = Date.now();
    const quietUntil = submittedAt + o.quietMaxMs;
    let reached = false;
    while (Date.now() < quietUntil && !o.aborted?.()) {
      await sweep();
      for (const id of await reproposals.proposeDue(submit, 16)) unsettled.add(id);
      if (unsettled.size === 0 && reproposals.busy === 0) {
        reached = true;
        break;
      }
      const s = await signature();
      if (s !== last) [last, changedAt] = [s, Date.now()];
      // A re-proposal waiting for its time is not stillness.
      else if (Date.now() - changedAt >= o.quietMs && reproposals.busy === 0) {
        reached = true;
        break;
      }
      await sleep(1_000);
    }
    await probe.end().catch(() => undefined);
    const quiet = { reached, waitedMs: Date.now() - submittedAt };
    stopReviewer = true;
    await reviewerLoop;

    // ---- counting ----
    o.log(`chaos: counting (${quiet.reached ? 'quiet' : 'NOT quiet'} after ${(quiet.waitedMs / 1000).toFixed(0)} s)`);
    const outcomes = new Map<string, Outcome>();
    const accepted = runs.filter((r) => r.actionId);
    const getWithRetry = async (url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      for (let attempt = 0, waits = 0; ; attempt++) {
        try {
          const res = await http('GET', url, token);
          // Past the agent's read rate: it waits as told (at most 5 s a time, as the typed client does) and reads again.
          if (res.status === 429 && waits++ < 60) {
            await sleep(Math.min(5, Math.max(1, Number(res.retryAfter) || 1)) * 1000);
            attempt--;
            continue;
          }
          if (res.status < 500 || attempt >= 3) return res;
        } catch (e) {
          if (attempt >= 3) return { status: 0, body: { message: (e as Error).message } };
        }
        await sleep(500);
      }
    };
    for (let i = 0; i < accepted.length; i += 16) {
      await Promise.all(
        accepted.slice(i, i + 16).map(async (run) => {
          const res = await getWithRetry(`${stack.urls.orchestrator}/v1/actions/${run.actionId}`, stack.tokens.agent);
          outcomes.set(run.actionId!, { view: res.status === 200 ? String(res.body.status) : undefined });
        }),
      );
    }
    const client = db();
    await client.connect();
    // What the log holds of each accepted action (entry types); one without its proposal is absent.
    let logged = new Map<string, string[]>();
    const proposedIn = (id: string) => logged.get(id)?.includes(TOPICS.actionProposed) === true;
    let unclaimed: string[] = [];
    try {
      // The audit writer appends behind the services (and was killed and restarted itself): wait, a little, until the log
      // holds every accepted action's proposal, so the check judges the log, not the moment it was asked.
      const proposed = async () =>
        (
          await client.query<{ n: number }>(`SELECT count(DISTINCT subject)::int AS n FROM audit_log WHERE subject = ANY($1) AND type = $2`, [
            accepted.map((r) => r.actionId),
            TOPICS.actionProposed,
          ])
        ).rows[0].n;
      for (const until = Date.now() + 30_000; Date.now() < until && (await proposed()) < accepted.length;) await sleep(500);
      const { rows } = await client.query<{ subject: string; types: string[]; lane: string | null; decision: string | null }>(
        `SELECT subject, array_agg(type) AS types,
                (array_agg(entry_json::jsonb->'data'->>'lane') FILTER (WHERE type = $2))[1] AS lane,
                (array_agg(entry_json::jsonb->'data'->>'decision') FILTER (WHERE type = $3))[1] AS decision
           FROM audit_log WHERE subject = ANY($1) GROUP BY subject`,
        [accepted.map((r) => r.actionId), TOPICS.policyDecided, TOPICS.reviewDecided],
      );
      logged = new Map(rows.map((r) => [r.subject, r.types]));
      // The other side of an absence, looked up only when there is one: proposals in the log since the run began that no
      // 202 named (what an absent id became).
      if (accepted.some((r) => !proposedIn(r.actionId!))) {
        const others = await client.query<{ subject: string; target: string | null }>(
          `SELECT subject, entry_json::jsonb->'data'->'proposal'->>'target' AS target FROM audit_log
            WHERE type = $1 AND event_time >= $2 AND NOT (subject = ANY($3)) ORDER BY idx`,
          [TOPICS.actionProposed, since, accepted.map((r) => r.actionId)],
        );
        unclaimed = others.rows.map((r) => `${r.subject} (target ${r.target ?? 'unknown'})`);
      }
      for (const r of rows) {
        const has = (t: string) => r.types.includes(t);
        const audited = has(TOPICS.actionExecuted)
          ? 'executed'
          : has(TOPICS.actionFailed)
            ? 'failed'
            : has(TOPICS.actionRefused)
              ? 'refused'
              : r.decision === 'rejected' || r.decision === 'expired'
                ? r.decision
                : r.lane === 'prohibited'
                  ? 'prohibited'
                  : undefined;
        const out = outcomes.get(r.subject);
        if (out) out.audited = audited;
      }
    } finally {
      await client.end();
    }
    // Not terminal: is a person asked (a pending item in the review queue)?
    const open = [...outcomes].filter(([, out]) => !TERMINAL.includes(out.view ?? out.audited ?? ''));
    for (let i = 0; i < open.length; i += 16) {
      await Promise.all(
        open.slice(i, i + 16).map(async ([actionId, out]) => {
          const res = await getWithRetry(`${rq}/v1/reviews/${actionId}`, stack.tokens.reviewer);
          out.humanItem = res.status === 200 && res.body.status === 'pending';
        }),
      );
    }
    const figures = tally(runs, outcomes, target.byTarget);

    // The operator's own commands: `countersign audit completeness` and `countersign audit verify`.
    const lines = (into: string[]) => ({ out: (l: string) => void into.push(l), err: (l: string) => void into.push(l) });
    const completenessOut: string[] = [];
    await runAuditCli(['completeness', '--database', stack.env.DATABASE_URL, '--since', since], lines(completenessOut));
    const summary = completenessOut.find((l) => / actions since .*, \d+ incomplete$/.test(l)) ?? completenessOut.join(' | ');
    const actions = Number(/^(\d+) actions/.exec(summary)?.[1] ?? -1);
    const gaps = completenessOut.filter((l) => l.startsWith('gap: '));
    // Named, with what the orchestrator and the log say of each, so a miss can be followed up after the database is gone.
    const absent = accepted
      .filter((r) => !proposedIn(r.actionId!))
      .map(
        (r) =>
          `${r.actionId} (target ${r.target}, view ${outcomes.get(r.actionId!)?.view ?? '404'}, logged ${logged.get(r.actionId!)?.join('+') || 'nothing'})`,
      );
    // A head comes every second while anything is new: wait (a little) for one covering the whole log, so the
    // verifier judges the log, not the moment it was asked.
    const headCovers = async () => {
      const res = await http('GET', `${stack.urls['audit-writer']}/v1/audit/heads`, stack.tokens.auditor).catch(() => undefined);
      const heads = (res?.body.heads ?? []) as Array<{ treeSize: number }>;
      const tip = (res?.body.tip ?? {}) as { size?: number };
      return res?.status === 200 && tip.size !== undefined && (heads[heads.length - 1]?.treeSize ?? 0) >= tip.size;
    };
    for (const until = Date.now() + 15_000; Date.now() < until && !(await headCovers());) await sleep(500);
    const keysFile = join(dir, 'keys', 'audit-heads-verify.json');
    writeFileSync(keysFile, JSON.stringify(stack.headKeys.map(verifyKeyEntry)));
    const verifyOut: string[] = [];
    const verifyCode = await runAuditCli(
      ['verify', '--database', stack.env.DATABASE_URL, '--keys', keysFile, '--heads-dir', stack.env.AUDIT_HEAD_STORE_DIR],
      lines(verifyOut),
    );
    const verifyLine = verifyOut.find((l) => l.startsWith('verified:') || l.startsWith('FAILED')) ?? verifyOut.join(' | ');
    const audit = {
      actions,
      gaps,
      absent,
      unclaimed,
      complete: actions >= 0 && gaps.length === 0 && absent.length === 0,
      completenessLine: summary,
      verified: verifyCode === 0,
      verifyLine,
    };
    return {
      namespace,
      dir,
      seconds: (Date.now() - started) / 1000,
      figures,
      faults: faults.records,
      crashes: faults.crashes,
      restoreProblems,
      quiet,
      audit,
      goals: [
        ...goals(figures, audit),
        {
          name: `every fault injected (${faults.records.length}/${planned}) and recovered`,
          ok: faults.records.length === planned && faults.records.every((r) => !r.error) && restoreProblems.length === 0,
        },
      ],
      reviewer,
      clientErrors,
    };
  } finally {
    stopReviewer = true;
    // Whatever happened: every part this run killed comes back, then the run's own processes and data go.
    const late = await faults.restoreAll().catch((e: Error) => [e.message]);
    if (late.length) o.log(`chaos: could not restore: ${late.join('; ')}`);
    faults.close();
    await stack.stop().catch(() => undefined);
    const bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'chaos-cleanup', namespace, logger: pino({ level: 'silent' }) });
    await bus
      .deleteNamespaceTopics()
      .catch(() => undefined)
      .finally(() => bus.close().catch(() => undefined));
    if (!o.keep) await stack.dropDatabase().catch(() => undefined);
    await target.close();
  }
}
