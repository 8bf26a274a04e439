// npm run bench:kill-switch — what a kill switch lowered through Countersign's API does under load, beside the same switch
// flipped directly in Unleash, measured in the same run on the five services over the real stack (issue 10).
// Agents keep proposing autonomous ticket tags (BENCH_AGENTS at once). Each trial turns the switch off and counts the
// effects the target received after the call returned (goal: 0), and how long after the call the last effect came.
// Via the API (`POST /v1/autonomy/ticket.tag/kill-switch`: Unleash's admin API and the compacted control topic the
// services apply at once) it is turned on again through a raise request another admin approves; the baseline flips it
// in Unleash's admin API only, which the services see on their next poll (UNLEASH_REFRESH_MS 500 here). BENCH_TRIALS each.
import { join } from 'node:path';
import { call, loadStackEnvFile, stackEnv, startDistributed, startWebhookSink, unleashAdmin, uniqueName } from '@countersign/testing';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 6);
const TYPE = 'ticket.tag';

loadStackEnvFile();
const env = stackEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(Math.ceil((p / 100) * xs.length) - 1, 0))];

async function main() {
  process.stderr.write('bench:kill-switch: starting the five services\n');
  const ns = uniqueName('bench_kill');
  const sink = await startWebhookSink();
  const stack = await startDistributed({
    namespace: ns,
    webhookUrl: sink.url,
    actionTypes: [TYPE],
    dir: join(__dirname, '../.stack/bench', ns),
    logLevel: 'warn',
    // The load is one agent as fast as it goes: its rate at the door (docs/adr/0048) is out of the way.
    serviceEnv: {
      'policy-engine': { UNLEASH_ADMIN_TOKEN: env.unleashAdminToken },
      orchestrator: { PROPOSALS_PER_SECOND: '1000000', PROPOSAL_BURST: '1000000' },
    },
  });
  const api = `${stack.urls['policy-engine']}/v1/autonomy/${TYPE}`;
  const flags = unleashAdmin(env.unleashUrl, env.unleashAdminToken);
  let n = 0;
  let running = false;
  const agent = async () => {
    while (running) {
      const p = {
        actionType: TYPE,
        target: `ticket-${ns}-${++n}`,
        parameters: { tags: ['bench'] },
        proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'bench-v1' },
        confidence: 0.9,
        tenant: 'acme',
        region: 'eu-west',
        context: {},
      };
      await call('POST', `${stack.urls.orchestrator}/v1/proposals`, p, stack.tokens.agent).catch(() => undefined);
    }
  };
  /** Load on; once effects flow, `turnOff()`; load for 2 s more, then quiet; the effects after the call returned. */
  const trial = async (turnOff: () => Promise<void>) => {
    running = true;
    const agents = Array.from({ length: AGENTS }, agent);
    const flowing = sink.receipts.length + 20;
    const deadline = Date.now() + 60_000;
    while (sink.receipts.length < flowing) {
      if (Date.now() > deadline) throw new Error('no effects reach the target: the switch did not come on again');
      await sleep(20);
    }
    const t0 = Date.now();
    await turnOff();
    const returned = Date.now();
    await sleep(2_000);
    running = false;
    await Promise.all(agents);
    await sleep(3_000);
    const late = sink.receipts.filter((r) => r.at > returned);
    const last = Math.max(...sink.receipts.map((r) => r.at));
    return { callMs: returned - t0, late: late.length, lastEffectAfterCallMs: Math.max(last - returned, 0) };
  };
  /** On again through four eyes: one admin asks, another approves the request's digest. */
  const onAgain = () => stack.switchOn(TYPE);
  const viaApi: Array<Awaited<ReturnType<typeof trial>>> = [];
  const direct: Array<Awaited<ReturnType<typeof trial>>> = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      viaApi.push(
        await trial(async () => void (await expectOk(call('POST', `${api}/kill-switch`, { state: 'off', reason: 'bench: switch off' }, stack.tokens.admin)))),
      );
      await onAgain();
    }
    for (let i = 0; i < TRIALS; i++) {
      // Countersign accepts a lowering made in Unleash (and reverts a raise made there): on again through four eyes too.
      direct.push(await trial(async () => void (await flags.set(`${stack.flagPrefix}${TYPE}`, false))));
      await onAgain();
    }
  } finally {
    running = false;
    await stack.stop();
    await stack.dropDatabase();
    await sink.close();
  }
  const show = (name: string, xs: typeof viaApi) => {
    const after = xs.map((x) => x.lastEffectAfterCallMs);
    process.stdout.write(
      `${name.padEnd(34)} effects after the call returned: ${xs.map((x) => x.late).join(', ')} (total ${xs.reduce((s, x) => s + x.late, 0)}); ` +
        `last effect after the call p50 ${percentile(after, 50)} ms, max ${Math.max(...after)} ms; the call took p50 ${percentile(
          xs.map((x) => x.callMs),
          50,
        )} ms\n`,
    );
  };
  process.stdout.write(`\nkill switch under load (${AGENTS} agents proposing ${TYPE}), ${TRIALS} trials each:\n`);
  show('via POST /v1/autonomy/…/kill-switch', viaApi);
  show('baseline: flipped in Unleash', direct);
  const lateApi = viaApi.reduce((s, x) => s + x.late, 0);
  const lateDirect = direct.reduce((s, x) => s + x.late, 0);
  process.stdout.write(
    `ratio: effects after the flip, baseline / API: ${lateApi ? (lateDirect / lateApi).toFixed(1) : `${lateDirect} / 0`}; goal: 0 via the API\n`,
  );
}

async function expectOk<T extends { status: number; body: unknown }>(p: Promise<T>): Promise<T> {
  const r = await p;
  if (r.status >= 300) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r;
}

main().catch((e) => {
  process.stderr.write(`bench:kill-switch failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
