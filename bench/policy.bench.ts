// npm run bench:policy — decision latency (p50/p99) and decisions/s of the operational-contract engine on a
// realistic generated contract (60 action types, 240 rules, 60 scoring rules, a typed parameter schema with a
// money amount per type, validated on every decision; half the types outbound, so the regulated-data guardrail scans
// their parameters on every decision), beside Cedar
// (@cedar-policy/cedar-wasm, policies pre-parsed once) evaluating an equivalent permit/forbid set on the
// same proposals, in the same run. Prints both and the ratio, and Countersign's latency by class of proposal: the
// 1.6 % whose guardrail finds regulated data (sent to review, masked) make the p99. And the machine's own tail at
// Countersign's p50 (`plainLoopOf`): what a loop of the same length has at p99, measured right after Countersign.
import { createRequire } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';
import { stringify } from 'yaml';
import { compileContract, DecisionInputs, evaluate, parseContract, ProposalInput } from '@countersign/policy';

// cedar-wasm ships its Node build as CommonJS under nodejs/ (the package root is ESM).
const cedar = createRequire(__filename)('@cedar-policy/cedar-wasm/nodejs') as typeof import('@cedar-policy/cedar-wasm/nodejs');

const TYPES = 60;
const RULES_PER_TYPE = 4;
const ITERATIONS = Number(process.env.BENCH_N ?? 100_000);

function generate() {
  const actions: Record<string, unknown> = {};
  const rules: unknown[] = [];
  const scoring: unknown[] = [];
  const cedarPolicies: string[] = [];
  for (let t = 0; t < TYPES; t++) {
    const type = `domain${t % 6}.action_${t}`;
    actions[type] = {
      owner: `team-${t % 5}`,
      reversibility: 'reversible',
      customerImpact: 'low',
      regulatorySensitivity: 'none',
      blastRadius: 'single',
      lane: 'autonomous',
      reason: 'generated',
      // Half the types send text outside: the regulated-data guardrail scans their parameters on every decision.
      ...(t % 2 === 0 ? { outbound: true } : {}),
      thresholds: { review: 50 },
      review: { slaClass: 'normal', requiredRoles: ['reviewer'], quorum: 1, whenUnavailable: 'fail-closed' },
      // Typed parameters: validated (ajv) on every decision, inside the measured path.
      parameters: {
        type: 'object',
        additionalProperties: false,
        required: ['amount', 'currency', 'reason'],
        properties: {
          amount: { money: { currency: 'currency', minimum: 0 } },
          currency: { type: 'string' },
          // One schema per type, as a real contract has: identical ones would share one compiled validator (the
          // contract's compile keeps one per distinct schema), whose code then stays hot across types.
          reason: { type: 'string', maxLength: 2000 + t },
          cmd: { type: 'string' },
        },
      },
    };
    scoring.push({ id: `score-${t}`, actionTypes: [type], when: { field: 'confidence', lt: 0.5 + (t % 5) / 20 }, points: 30 });
    cedarPolicies.push(`permit(principal, action == Action::"${type}", resource);`);
    cedarPolicies.push(`forbid(principal, action == Action::"${type}", resource) when { context.lowConfidence${t % 5} };`);
    for (let r = 0; r < RULES_PER_TYPE; r++) {
      const limit = 100 * (r + 1) + t;
      rules.push({
        id: `rule-${t}-${r}`,
        actionTypes: [type],
        when: {
          all: [
            { field: 'parameters.amount', gt: limit },
            { field: 'region', in: ['eu-west', 'us-east'] },
          ],
        },
        lane: r === 3 ? 'prohibited' : 'review',
        reason: `amount over ${limit}`,
      });
      cedarPolicies.push(
        `forbid(principal, action == Action::"${type}", resource) when { context.amount > ${limit} && ["eu-west", "us-east"].contains(context.region) };`,
      );
    }
  }
  const contract = {
    version: 'bench-1',
    service: { name: 'bench', model: { type: 'llm', version: '1' }, dataSources: [], owners: { product: 'p', platform: 'p', security: 's', sre: 's' } },
    slaClasses: { normal: 14400 },
    money: { reference: 'EUR', rates: { EUR: 1, USD: 0.92, JPY: 0.0061 } },
    scoring,
    actions,
    rules,
    // The content guardrails (cards, IBANs, e-mail, phones, national ids in outbound text; a card in any parameters), as shipped: in the measured path.
    guardrails: { regulatedDataInOutboundText: 'review', cardDataInParameters: 'review' },
    prohibited: [{ id: 'no-shell', actionTypes: ['domain0.action_0'], when: { field: 'parameters.cmd', exists: true }, reason: 'no shell' }],
  };
  return { yaml: stringify(contract), cedarPolicies: cedarPolicies.join('\n'), types: Object.keys(actions) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// Warm-up: long enough that every action type's compiled parameter validator is optimised (each of the 60 gets about
// 3,000 calls), the steady state of a service that has decided for a second or two. Cedar's wasm is compiled ahead of
// its calls; 20,000 of them (about 12 s) are its warm-up.
const WARM_UP = Number(process.env.BENCH_WARMUP ?? 200_000);

interface Measured {
  name: string;
  fn: (i: number) => void;
  classOf?: (i: number) => string;
}

/**
 * Latency samples of one function, `n` after `warmUp` calls, alone. Measured in turns of 1,000 calls with the plain
 * loop below instead, Countersign's p99 was 97–129 µs against 13–15 µs alone, the loop's unchanged (three runs each,
 * 2026-12-06; not explained yet: see the README's row).
 */
function measure({ name, fn, classOf }: Measured, n: number, warmUp: number) {
  for (let i = 0; i < warmUp; i++) fn(i);
  const samples = new Float64Array(n);
  // performance.now(): a double with sub-microsecond resolution; no BigInt allocated per sample in the measured loop.
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  const totalS = (performance.now() - start) / 1000;
  const sorted = Array.from(samples).sort((a, b) => a - b);
  // The same samples by class of input (share, p50, p99): which inputs the tail is made of.
  const byClass = new Map<string, number[]>();
  if (classOf)
    for (let i = 0; i < n; i++) {
      const cls = classOf(i);
      const of = byClass.get(cls);
      if (of) of.push(samples[i]);
      else byClass.set(cls, [samples[i]]);
    }
  const classes = [...byClass].map(([cls, s]) => {
    s.sort((a, b) => a - b);
    return { cls, share: s.length / n, p50: pct(s, 50), p99: pct(s, 99) };
  });
  return { name, p50: pct(sorted, 50), p99: pct(sorted, 99), p999: pct(sorted, 99.9), perSecond: n / totalS, classes };
}

/**
 * The machine's own tail at Countersign's p50: a loop that only adds numbers from a small array (no allocation, no
 * call, nothing that varies from one run to the next), its length chosen so that its p50 is Countersign's, measured
 * right after it. What it has at p99 the machine adds to any work of that length (the hypervisor, the other core);
 * Countersign's p99 above it is Countersign's own.
 */
function plainLoopOf(targetP50: number): Measured {
  const data = new Float64Array(4096).map((_, i) => i % 7);
  let sink = 0;
  let steps = 1000;
  const fn = (i: number) => {
    let s = 0;
    for (let k = 0; k < steps; k++) s += data[(k + i) & 4095];
    sink += s;
    if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  };
  // Its length: a few rounds of scaling by the measured p50 (each round 20,000 samples after 20,000 to warm up).
  for (let round = 0; round < 4; round++) {
    const p50 = measure({ name: 'calibration', fn }, 20_000, 20_000).p50;
    steps = Math.max(1, Math.round((steps * targetP50) / p50));
  }
  return { name: `the machine: a plain loop of that p50 (${steps} additions)`, fn };
}

/**
 * Bytes a decision allocates in the steady state: the young generation's growth over rounds of 500 decisions, the
 * median of the rounds in which no collection ran (the generation only grows between two).
 */
function bytesPerDecision(fn: (i: number) => void) {
  const used = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
  const rounds: number[] = [];
  for (let round = 0, i = 0; round < 40; round++) {
    const before = used();
    for (let k = 0; k < 500; k++) fn(i++);
    const after = used();
    if (after > before) rounds.push((after - before) / 500);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(rounds.length / 2)] ?? NaN;
}

/**
 * How often the machine takes the running thread away, unseen by the code: the clock read in a tight loop for two
 * seconds, a jump of more than 1.5 µs between two reads counted as an interruption. On the 2-core VM where the figures
 * were measured: about 15,800 per second (one every 55 µs), 2.7 µs each at p50, none of them an interrupt the guest's
 * kernel counts (/proc/interrupts): the hypervisor's. A decision of 4 µs meets one in about one sample in sixteen
 * (16,000 a second × 4 µs).
 */
function interruptions() {
  const end = performance.now() + 2000;
  let last = performance.now();
  const lengths: number[] = [];
  while (last < end) {
    const t = performance.now();
    if (t - last > 0.0015) lengths.push((t - last) * 1000);
    last = t;
  }
  lengths.sort((a, b) => a - b);
  return { perSecond: lengths.length / 2, p50: pct(lengths, 50) ?? 0, p90: pct(lengths, 90) ?? 0 };
}

function main() {
  const { yaml, cedarPolicies, types } = generate();
  const compiled = compileContract(parseContract(yaml, 'bench.yaml'));
  const ruleCount = (compiled.contract.rules ?? []).length + (compiled.contract.scoring ?? []).length;
  process.stdout.write(`contract: ${types.length} action types, ${ruleCount} rules; Cedar: ${cedarPolicies.split('\n').length} policies\n`);

  // Every 64th reason carries an e-mail address: the guardrail finds it (review) and the explanation masks it.
  const carriesRegulatedData = (i: number) => i % 64 === 0;
  const proposals: ProposalInput[] = Array.from({ length: 4096 }, (_, i) => ({
    actionType: types[i % types.length],
    target: `order-${i}`,
    parameters: {
      amount: (i * 37) % 600,
      currency: 'EUR',
      reason: carriesRegulatedData(i) ? `late delivery, write to jane.doe${i}@example.com` : 'late delivery',
    },
    proposer: { agentId: 'bench-agent', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p' },
    confidence: ((i * 13) % 100) / 100,
    tenant: 'acme',
    region: i % 3 ? 'eu-west' : 'ap-south',
    context: {},
  }));
  const inputs: DecisionInputs = {
    killSwitch: 'on',
    degradationMode: 'normal',
    trustStackHealthy: true,
    autonomy: 'autonomous',
    now: new Date('2026-11-24T10:00:00Z'),
  };

  const parsed = cedar.preparsePolicySet('bench', { staticPolicies: cedarPolicies });
  if (parsed.type !== 'success') throw new Error(`cedar could not parse the policies: ${JSON.stringify(parsed)}`);
  const cedarCalls = proposals.map((p) => ({
    principal: { type: 'Agent', id: p.proposer.agentId },
    action: { type: 'Action', id: p.actionType },
    resource: { type: 'Target', id: p.target },
    context: {
      amount: p.parameters.amount as number,
      region: p.region,
      ...Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`lowConfidence${k}`, p.confidence < 0.5 + k / 20])),
    },
    preparsedPolicySetId: 'bench',
    entities: [],
  }));
  const probe = cedar.statefulIsAuthorized(cedarCalls[0]);
  if (probe.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(probe)}`);

  const decide = (i: number) => void evaluate(compiled, proposals[i & 4095], inputs);
  const ours = measure(
    {
      name: 'Countersign evaluate (validation, guardrails, explanation)',
      fn: decide,
      classOf: (i) => (carriesRegulatedData(i & 4095) ? 'regulated data found (review, masked)' : 'nothing found'),
    },
    ITERATIONS,
    WARM_UP,
  );
  const floor = measure(plainLoopOf(ours.p50), ITERATIONS, 20_000);
  const theirs = measure(
    { name: 'Cedar statefulIsAuthorized (pre-parsed)', fn: (i) => void cedar.statefulIsAuthorized(cedarCalls[i & 4095]) },
    Math.floor(ITERATIONS / 5),
    Math.min(WARM_UP, 20_000),
  );
  const allocated = bytesPerDecision(decide);
  const interrupted = interruptions();
  const row = (r: typeof ours) =>
    process.stdout.write(
      `${r.name.padEnd(66)} p50 ${r.p50.toFixed(1)} µs   p99 ${r.p99.toFixed(1)} µs   p99.9 ${r.p999.toFixed(1)} µs   ${Math.round(r.perSecond).toLocaleString('en')}/s\n`,
    );
  process.stdout.write('\n');
  row(ours);
  for (const c of ours.classes)
    process.stdout.write(
      `  of which ${c.cls.padEnd(40)} ${(c.share * 100).toFixed(1).padStart(5)} %   p50 ${c.p50.toFixed(1)} µs   p99 ${c.p99.toFixed(1)} µs\n`,
    );
  process.stdout.write(`  allocated per decision (steady state, the mix above)   ${Math.round(allocated).toLocaleString('en')} bytes\n`);
  row(floor);
  process.stdout.write(
    `  the running thread is interrupted ${Math.round(interrupted.perSecond).toLocaleString('en')} times a second, for ${interrupted.p50.toFixed(1)} µs at p50 and ${interrupted.p90.toFixed(1)} µs at p90 (the clock read in a tight loop)\n`,
  );
  row(theirs);
  process.stdout.write(
    `ratio: Countersign is ${(theirs.p50 / ours.p50).toFixed(1)}× faster than Cedar per decision at p50, ${(theirs.p99 / ours.p99).toFixed(1)}× at p99, ${(ours.perSecond / theirs.perSecond).toFixed(1)}× in decisions/s; Countersign p99 ${ours.p99.toFixed(1)} µs, p99.9 ${ours.p999.toFixed(1)} µs; the machine's own p99 at that p50 ${floor.p99.toFixed(1)} µs   (goal ≥ 20× at p50, p99 ≤ 10 µs, validation and guardrails included)\n`,
  );
}

main();
