// npm run bench:spine — autonomous-lane throughput through all five services over the real broker, beside raw kafkajs
// produce→consume on one topic of the same broker, measured in the same run; then end-to-end latency (proposal produced →
// executed and audited) at a trickle (10/s) and at half of the measured capacity, and the CPU each service spends per action (from
// /proc) in the throughput phase, and the broker's, PostgreSQL's and Redis's (all their processes: an estimate) — once on mTLS + HTTPS (the way the services run) and once on plaintext, to show what TLS
// costs (BENCH_TRANSPORTS). Then the fair ceiling (bench/relay-chain.ts): the same hops with no business logic, on raw
// kafkajs and on the project's bus, measured the same way (BENCH_CHAINS), so the cost splits into Kafka, the bus, and
// Countersign. Needs the real stack (the npm script starts it). Prints the rates, their ratios, and p50/p99.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Client } from 'pg';
import pino from 'pino';
import { createTopics, KafkaBus } from '@countersign/bus';
import { newId, signSubmission, TOPICS } from '@countersign/contracts';
import { loadStackEnvFile, stackEnv, startDistributed, startWebhookSink, uniqueName } from '@countersign/testing';
import { RelayTemplates, startRelayChain } from './relay-chain';
import { wakeUpCost, wakeUpLine } from './wake-ups';

const THROUGHPUT_N = Number(process.env.BENCH_N ?? 3000);
/** The loaded latency phase's offered rate: BENCH_RATE, or half of the throughput just measured (the goal's point). */
const loadRate = (capacity: number) => Number(process.env.BENCH_RATE ?? Math.max(IDLE_RATE, Math.round(capacity / 2)));
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/** A trickle, well under capacity: the pipeline's own latency, without queueing. */
const IDLE_RATE = 10;
const IDLE_SECONDS = 4;
/** USER_HZ: the unit of /proc/<pid>/stat times (100 on Linux x86_64). */
const CLOCK_TICKS = 100;

loadStackEnvFile();
const stackKafka = () => stackEnv().kafka;

const proposalData = (i: number) => ({
  actionType: 'ticket.tag',
  target: `ticket-${i}`,
  // About 200 bytes of parameters, within ticket.tag's schema (tags only, each at most 100 characters).
  parameters: { tags: ['billing', 'x'.repeat(100), 'y'.repeat(90)] },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.97,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

async function rawKafka(n: number): Promise<number> {
  const kafka = new Kafka({ ...stackKafka(), clientId: 'bench-raw', logLevel: logLevel.NOTHING });
  const topic = `bench-raw-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [topic], 6);
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.run({ partitionsConsumedConcurrently: 3, eachMessage: async () => void (++seen === n && done()) });
  await joined;
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = JSON.stringify({ data: proposalData(0) });
  const started = performance.now();
  for (let i = 0; i < n; i += 500) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ key: `k-${i + j}`, value })) });
  }
  await finished;
  const rate = n / ((performance.now() - started) / 1000);
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return rate;
}

/** What the services lean on, by the name of its processes in /proc: their CPU is part of what an action costs. */
const INFRA: Array<{ name: string; is: (comm: string, cmdline: string) => boolean }> = [
  { name: 'broker', is: (comm, cmdline) => comm === 'java' && cmdline.includes('kafka') },
  { name: 'PostgreSQL', is: (comm) => comm === 'postgres' },
  { name: 'Redis', is: (comm) => comm === 'redis-server' },
];

/** The CPU (ms) each part of INFRA has used so far, by process id (a process that starts later counts from zero). */
function infraCpu(): Map<number, { name: string; ms: number }> {
  const found = new Map<number, { name: string; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const part = INFRA.find((p) => p.is(comm, readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
      if (part) found.set(pid, { name: part.name, ms: cpuMs(pid) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU per action of each part of INFRA between two readings (a process gone meanwhile is not counted: an estimate). */
function infraPerAction(before: Map<number, { name: string; ms: number }>, after: Map<number, { name: string; ms: number }>, n: number) {
  return INFRA.map(({ name }) => ({
    name,
    ms: [...after].filter(([, v]) => v.name === name).reduce((t, [pid, v]) => t + v.ms - (before.get(pid)?.ms ?? 0), 0) / n,
  }));
}

/** CPU time (user + system) a process has used so far, from /proc (NaN where there is none). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "pid (comm) ".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** The whole machine's CPU time so far, busy and in all (jiffies, all cores, from /proc/stat). */
function machineCpu(): { busy: number; all: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = ticks.map(Number);
  const all = n.slice(0, 8).reduce((t, x) => t + x, 0);
  // idle and iowait are the 4th and 5th: the rest is work (user, nice, system, irq, softirq, steal).
  return { busy: all - n[3] - n[4], all };
}

/**
 * BENCH_COUNT_REQUESTS=1: every process the bench starts (services and relays) counts the round trips it starts
 * (bench/request-counts.preload.js) — PostgreSQL queries, Kafka requests by API, Redis commands — and each phase prints
 * them per action. Off by default: the counting wraps library methods, so the figures without it are the ones to quote.
 */
const REQUEST_COUNTS = process.env.BENCH_COUNT_REQUESTS === '1' ? mkdtempSync(join(tmpdir(), 'countersign-requests-')) : undefined;
if (REQUEST_COUNTS) {
  process.env.COUNTERSIGN_REQUEST_COUNTS_DIR = REQUEST_COUNTS;
  process.env.SERVICE_NODE_ARGS = `${process.env.SERVICE_NODE_ARGS ?? ''} -r ${join(__dirname, 'request-counts.preload.js')}`;
}

/** Each process's running totals (`kafka.<API>`, `postgres`, `redis`), as it last wrote them (at most 100 ms old). */
function requestTotals(pid: number | undefined): Record<string, number> {
  try {
    return JSON.parse(readFileSync(join(REQUEST_COUNTS!, `${pid}.json`), 'utf8')) as Record<string, number>;
  } catch {
    return {}; // not written yet: nothing counted
  }
}

/** Round trips per action over a phase, of all the processes and of each (`name`). */
interface RequestsPerAction {
  all: Record<string, number>;
  by: { name: string; counts: Record<string, number> }[];
}

/** Starts counting the round trips of `processes` (with BENCH_COUNT_REQUESTS); the function returned ends it, per action. */
function requestCounts(processes: { name: string; pid: number | undefined }[]): (actions: number) => RequestsPerAction | undefined {
  if (!REQUEST_COUNTS) return () => undefined;
  const before = processes.map((p) => requestTotals(p.pid));
  return (actions) => {
    const all: Record<string, number> = {};
    const by = processes.map((p, i) => {
      const after = requestTotals(p.pid);
      const counts = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] - (before[i][k] ?? 0)) / actions]));
      for (const [k, v] of Object.entries(counts)) all[k] = (all[k] ?? 0) + v;
      return { name: p.name, counts };
    });
    return { all, by };
  };
}

/** One line of round trips per action: PostgreSQL, Kafka (Fetch, Produce, OffsetCommit, the rest), Redis. */
function requestsLine(c: Record<string, number>): string {
  const kafka = Object.entries(c).filter(([k]) => k.startsWith('kafka.'));
  const of = (api: string) => c[`kafka.${api}`] ?? 0;
  const rest = kafka.reduce((t, [, v]) => t + v, 0) - of('Fetch') - of('Produce') - of('OffsetCommit');
  return (
    `PostgreSQL ${(c.postgres ?? 0).toFixed(2)}, Kafka ${kafka.reduce((t, [, v]) => t + v, 0).toFixed(2)} ` +
    `(Fetch ${of('Fetch').toFixed(2)}, Produce ${of('Produce').toFixed(2)}, OffsetCommit ${of('OffsetCommit').toFixed(2)}, other ${rest.toFixed(2)}), ` +
    `Redis ${(c.redis ?? 0).toFixed(2)}`
  );
}

/** What a phase cost: the measured processes' CPU per action offered (their background work included), and the machine. */
interface PhaseCost {
  servicesMs: number;
  /** The share of the machine's CPU (all cores) not idle over the phase (steal included): how near saturation it ran. */
  machineBusy: number;
  /** With BENCH_COUNT_REQUESTS=1: the round trips the processes started, per action. */
  requests?: RequestsPerAction;
}

/** Starts counting a phase's cost for `processes`; the function returned ends it, for `actions` offered. */
function phaseCost(processes: { name: string; pid: number | undefined }[]): (actions: number) => PhaseCost {
  const before = processes.map((p) => cpuMs(p.pid));
  const machineBefore = machineCpu();
  const requests = requestCounts(processes);
  return (actions) => {
    const machineAfter = machineCpu();
    return {
      servicesMs: processes.reduce<number>((t, p, i) => t + cpuMs(p.pid) - before[i], 0) / actions,
      machineBusy: (machineAfter.busy - machineBefore.busy) / (machineAfter.all - machineBefore.all),
      requests: requests(actions),
    };
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Offers `rate` submissions/s for `seconds` (`submit(i)` each); resolves with the rate actually offered once all are sent. */
async function offer(rate: number, seconds: number, submit: (i: number) => Promise<void>): Promise<number> {
  process.stdout.write(`latency: ${rate} proposals/s offered for ${seconds} s…\n`);
  const total = rate * seconds;
  let sent = 0;
  const t0 = performance.now();
  const sends: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.ceil(((performance.now() - t0) / 1000) * rate));
    for (; sent < due; sent++) sends.push(submit(sent));
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(sends);
  return total / ((performance.now() - t0) / 1000);
}

/** Submits `n` proposals as fast as they are taken (500 at a time). */
async function flood(n: number, submit: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => submit(i + j)));
}

/** The lane's events in order, and the service that emits each (the proposal: the agent). */
const HOPS = [
  { topic: TOPICS.proposalSubmitted, by: 'agent' },
  { topic: TOPICS.actionProposed, by: 'orchestrator' },
  { topic: TOPICS.policyDecided, by: 'policy-engine' },
  { topic: TOPICS.actionExecuted, by: 'executor' },
];

/** What one run of the five services measured. */
interface SpineRun {
  transport: 'tls' | 'plaintext';
  spine: number;
  idle: LatencyRun;
  loaded: LatencyRun;
  cpuPerAction: { name: string; ms: number }[];
  /** With BENCH_COUNT_REQUESTS=1: the round trips of the throughput phase, per action. */
  requests?: RequestsPerAction;
  /** The same for the broker, PostgreSQL and Redis (all their processes on this machine). */
  infraPerAction: { name: string; ms: number }[];
  failed: number;
  distinctEffects: number;
  deliveries: number;
  /** The data the services emitted for one action on each relayed topic: what the relay chains send. */
  templates: RelayTemplates;
}

/** One latency phase of a spine run: what was offered, the latencies, and what the phase cost the machine. */
interface LatencyRun {
  offered: number;
  lat: number[];
  hops: { name: string; ms: number[] }[];
  /** CPU of the five services over the phase per action offered, their background work (timers, polls) included. */
  servicesMs: number;
  /** The share of the machine's CPU (all cores) not idle over the phase (steal included): how near saturation it ran. */
  machineBusy: number;
}

/** Starts the five services on `transport` (mTLS + HTTPS, or plaintext), measures throughput, latency and CPU, and stops them. */
async function runSpine(transport: 'tls' | 'plaintext'): Promise<SpineRun> {
  const ns = uniqueName('bench');
  const sink = await startWebhookSink();
  process.stdout.write(`starting the five services on ${transport === 'tls' ? 'mTLS (Kafka) and HTTPS' : 'plaintext'} (namespace ${ns})…\n`);
  const stack = await startDistributed({
    namespace: ns,
    webhookUrl: sink.url,
    actionTypes: ['ticket.tag'],
    dir: join(__dirname, '../.stack/bench', ns),
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
    transport,
  });
  // The bench's own agent produces over the plaintext listener (the broker's operator side): the same for both runs.
  const bus = new KafkaBus({ ...stackKafka(), clientId: 'bench', source: 'bench', namespace: ns, logger: pino({ level: 'silent' }) });
  await bus.connect();
  const db = new Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  /** Actions since `since` that reached an outcome (executed, or failed) and are in the audit store. */
  const finishedAudited = async (since: string) =>
    Number(
      (await db.query(`SELECT count(*) FROM audit_log WHERE type = ANY($1) AND event_time >= $2`, [[TOPICS.actionExecuted, TOPICS.actionFailed], since]))
        .rows[0].count,
    );
  /** Waits until `n` actions since `since` have an outcome; stops the run if nothing moves for a minute. */
  const outcomes = async (n: number, since: string, stepMs: number) => {
    let seen = -1;
    let movedAt = Date.now();
    for (;;) {
      const now = await finishedAudited(since);
      if (now >= n) return;
      if (now !== seen) [seen, movedAt] = [now, Date.now()];
      else if (Date.now() - movedAt > 60_000) throw new Error(`stalled: ${now} of ${n} actions have an outcome after a minute without progress`);
      await new Promise((r) => setTimeout(r, stepMs));
    }
  };
  const submit = (i: number, time = new Date()) => {
    // Signed by the agent's key, as every submission must be (docs/adr/0008); signing is part of what an agent pays.
    const event = bus.envelope(TOPICS.proposalSubmitted, proposalData(i), { subject: newId(), actor: { id: 'support-copilot', kind: 'agent' }, time });
    return bus.publish(TOPICS.proposalSubmitted, signSubmission(event, stack.signingKeys.agent.keyId, stack.signingKeys.agent.privateKey));
  };
  /** Offers `rate` proposals/s for `seconds`; latency per action: the proposal's timestamp → its executed event's append to the audit store. */
  const latencyAt = async (rate: number, seconds: number): Promise<LatencyRun> => {
    const loadStart = new Date();
    const cost = phaseCost(stack.running.map((s) => ({ name: s.name, pid: s.process.pid })));
    const offered = await offer(rate, seconds, (i) => submit(i));
    await outcomes(rate * seconds, loadStart.toISOString(), 100);
    const spent = cost(rate * seconds);
    const { rows } = await db.query(
      `SELECT EXTRACT(EPOCH FROM (x.recorded_at - p.event_time)) * 1000 AS ms
         FROM audit_log x JOIN audit_log p ON p.subject = x.subject AND p.type = $2
        WHERE x.type = $1 AND p.event_time >= $3`,
      [TOPICS.actionExecuted, TOPICS.proposalSubmitted, loadStart.toISOString()],
    );
    // Where the time goes, hop by hop: each service's event time (when it emitted) after the one before it.
    const { rows: steps } = await db.query(
      `SELECT p.subject, array_agg(EXTRACT(EPOCH FROM x.event_time) * 1000 ORDER BY array_position($2::text[], x.type)) AS at,
              max(EXTRACT(EPOCH FROM x.recorded_at) * 1000) FILTER (WHERE x.type = $3) AS audited
         FROM audit_log p JOIN audit_log x ON x.subject = p.subject AND x.type = ANY($2)
        WHERE p.type = $1 AND p.event_time >= $4
        GROUP BY p.subject HAVING count(*) = 4`,
      [TOPICS.proposalSubmitted, HOPS.map((h) => h.topic), TOPICS.actionExecuted, loadStart.toISOString()],
    );
    const hops = HOPS.slice(1).map((h, i) => ({ name: h.by, ms: steps.map((r) => Number(r.at[i + 1]) - Number(r.at[i])).sort((a, b) => a - b) }));
    hops.push({ name: 'audit-writer', ms: steps.map((r) => Number(r.audited) - Number(r.at[HOPS.length - 1])).sort((a, b) => a - b) });
    return { offered, lat: rows.map((r) => Number(r.ms)).sort((a, b) => a - b), hops, ...spent };
  };
  try {
    // Warm-up: JIT, connections, group assignments.
    const warm = new Date().toISOString();
    await Promise.all(Array.from({ length: 200 }, (_, i) => submit(i)));
    await outcomes(200, warm, 100);

    process.stdout.write(`throughput: ${THROUGHPUT_N} autonomous proposals, as fast as they are taken…\n`);
    const since = new Date().toISOString();
    const cpuBefore = stack.running.map((s) => cpuMs(s.process.pid));
    const infraBefore = infraCpu();
    const floodRequests = requestCounts(stack.running.map((s) => ({ name: s.name, pid: s.process.pid })));
    const started = performance.now();
    await flood(THROUGHPUT_N, (i) => submit(i));
    await outcomes(THROUGHPUT_N, since, 50);
    const requests = floodRequests(THROUGHPUT_N);
    const spine = THROUGHPUT_N / ((performance.now() - started) / 1000);
    // CPU per action by service: steadier than the rate on a shared machine, and it says where to look.
    const cpuPerAction = stack.running.map((s, i) => ({ name: s.name, ms: (cpuMs(s.process.pid) - cpuBefore[i]) / THROUGHPUT_N }));
    // And by what they lean on (the stack's, shared with the bench's own agent and audit reads: an estimate).
    const infraPerActionMs = infraPerAction(infraBefore, infraCpu(), THROUGHPUT_N);

    const idle = await latencyAt(IDLE_RATE, IDLE_SECONDS);
    const loaded = await latencyAt(loadRate(spine), LOAD_SECONDS);
    const failed = Number((await db.query(`SELECT count(*) FROM audit_log WHERE type = $1`, [TOPICS.actionFailed])).rows[0].count);
    const { rows: emitted } = await db.query(
      `SELECT DISTINCT ON (type) type, entry_json::jsonb->'data' AS data FROM audit_log WHERE type = ANY($1) ORDER BY type, idx DESC`,
      [[TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.actionExecuted]],
    );
    return {
      templates: Object.fromEntries(emitted.map((r) => [r.type, r.data])) as RelayTemplates,
      transport,
      spine,
      idle,
      loaded,
      cpuPerAction,
      requests,
      infraPerAction: infraPerActionMs,
      failed,
      distinctEffects: new Set(sink.receipts.map((r) => r.idempotencyKey)).size,
      deliveries: sink.receipts.length,
    };
  } finally {
    await db.end();
    await bus.deleteNamespaceTopics();
    await bus.close();
    await stack.stop();
    await stack.dropDatabase();
    await sink.close();
  }
}

/** What one relay chain (bench/relay-chain.ts) measured: the same phases as a spine run. */
interface ChainRun {
  kind: 'raw' | 'bus';
  rate: number;
  idle: { offered: number; lat: number[] } & PhaseCost;
  loaded: { offered: number; lat: number[] } & PhaseCost;
  cpuPerAction: { name: string; ms: number }[];
  requests?: RequestsPerAction;
  infraPerAction: { name: string; ms: number }[];
}

/**
 * The fair ceiling: the spine's hops with no business logic, on raw kafkajs or on the bus, fed and measured like the
 * spine (signed submissions from the same producer, the same phases). Latency: the proposal's time → the audit relay
 * reading its executed event.
 */
async function runChain(kind: ChainRun['kind'], templates: RelayTemplates): Promise<ChainRun> {
  const ns = uniqueName(`bench-chain-${kind}`);
  process.stdout.write(`starting the no-op relay chain on ${kind === 'raw' ? 'raw kafkajs' : 'KafkaBus'} (namespace ${ns})…\n`);
  const bus = new KafkaBus({ ...stackKafka(), clientId: 'bench', source: 'bench', namespace: ns, logger: pino({ level: 'silent' }) });
  await bus.connect(); // creates the namespace's topics, as the services' buses do
  const chain = await startRelayChain(kind, stackKafka(), ns, templates);
  const agentKey = generateKeyPairSync('ed25519').privateKey;
  const submit = (i: number, time = new Date()) => {
    const event = bus.envelope(TOPICS.proposalSubmitted, proposalData(i), { subject: newId(), actor: { id: 'support-copilot', kind: 'agent' }, time });
    return bus.publish(TOPICS.proposalSubmitted, signSubmission(event, 'bench-agent', agentKey));
  };
  const executed = async (n: number) => {
    const deadline = Date.now() + 120_000;
    while (chain.executed() < n) {
      if (Date.now() > deadline) throw new Error(`${kind} chain stalled: ${chain.executed()} of ${n} executed`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const latencyAt = async (rate: number, seconds: number) => {
    const before = chain.executed();
    await chain.collectLatencies(); // forgets the earlier phases'
    const cost = phaseCost(chain.processes.map((p) => ({ name: p.name, pid: p.process.pid })));
    const offered = await offer(rate, seconds, (i) => submit(i));
    await executed(before + rate * seconds);
    const spent = cost(rate * seconds);
    return { offered, lat: (await chain.collectLatencies()).sort((a, b) => a - b), ...spent };
  };
  try {
    await Promise.all(Array.from({ length: 200 }, (_, i) => submit(i)));
    await executed(200);
    process.stdout.write(`throughput: ${THROUGHPUT_N} proposals through the ${kind} chain…\n`);
    const cpuBefore = chain.processes.map((p) => cpuMs(p.process.pid));
    const infraBefore = infraCpu();
    const floodRequests = requestCounts(chain.processes.map((p) => ({ name: p.name, pid: p.process.pid })));
    const started = performance.now();
    await flood(THROUGHPUT_N, (i) => submit(i));
    await executed(200 + THROUGHPUT_N);
    const requests = floodRequests(THROUGHPUT_N);
    const rate = THROUGHPUT_N / ((performance.now() - started) / 1000);
    const cpuPerAction = chain.processes.map((p, i) => ({ name: p.name, ms: (cpuMs(p.process.pid) - cpuBefore[i]) / THROUGHPUT_N }));
    const infraPerActionMs = infraPerAction(infraBefore, infraCpu(), THROUGHPUT_N);
    const idle = await latencyAt(IDLE_RATE, IDLE_SECONDS);
    const loaded = await latencyAt(loadRate(rate), LOAD_SECONDS);
    return { kind, rate, idle, loaded, cpuPerAction, requests, infraPerAction: infraPerActionMs };
  } finally {
    await chain.stop();
    await bus.deleteNamespaceTopics();
    await bus.close();
  }
}

async function main() {
  // What a wake-up costs here: the paced phases pay it per request, so their figures depend on it (bench/wake-ups.ts).
  const wakeUps = await wakeUpCost();
  process.stdout.write(`raw kafkajs produce→consume, ${THROUGHPUT_N} messages on one topic…\n`);
  const raw = await rawKafka(THROUGHPUT_N);
  // BENCH_TRANSPORTS=tls,plaintext (default): the same run with and without TLS, both against the same raw hop.
  // `none`: the relay chains only, fed with what the last run that had services emitted (kept in .stack/bench).
  const transports = (process.env.BENCH_TRANSPORTS ?? 'tls,plaintext')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== 'none') as Array<'tls' | 'plaintext'>;
  const runs: SpineRun[] = [];
  for (const t of transports) runs.push(await runSpine(t));
  const templatesFile = join(__dirname, '../.stack/bench/relay-templates.json');
  if (runs.length) {
    mkdirSync(dirname(templatesFile), { recursive: true });
    writeFileSync(templatesFile, JSON.stringify(runs[runs.length - 1].templates));
  } else if (!existsSync(templatesFile)) throw new Error(`BENCH_TRANSPORTS=none needs ${templatesFile}: run the services once first`);
  // BENCH_CHAINS=raw,bus (default): the fair ceiling, fed with what the last spine run emitted; `none` skips it.
  const kinds = (process.env.BENCH_CHAINS ?? 'raw,bus')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== 'none') as ChainRun['kind'][];
  const chains: ChainRun[] = [];
  for (const k of kinds) chains.push(await runChain(k, JSON.parse(readFileSync(templatesFile, 'utf8')) as RelayTemplates));

  const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(48)} ${v}\n`);
  const requestLines = (label: string, r: RequestsPerAction | undefined) => {
    if (!r) return;
    line(label, `all five: ${requestsLine(r.all)}`);
    for (const p of r.by) line('', `${p.name}: ${requestsLine(p.counts)}`);
  };
  const costLine = (c: PhaseCost) => {
    line(
      '  CPU over the phase (idle work included)',
      `all five: ${c.servicesMs.toFixed(2)} ms per action; the machine ${(c.machineBusy * 100).toFixed(0)} % not idle`,
    );
    requestLines('  round trips per action over the phase', c.requests);
  };
  process.stdout.write(`\n${wakeUpLine(wakeUps)}\n`);
  line('raw kafkajs produce→consume (baseline)', `${raw.toFixed(0)} msg/s`);
  for (const r of runs) {
    const label = r.transport === 'tls' ? 'mTLS + HTTPS' : 'plaintext';
    process.stdout.write(`\n[${label}]\n`);
    line('Countersign autonomous lane, proposal→executed+audited', `${r.spine.toFixed(0)} actions/s`);
    line('ratio (Countersign / raw hop)', `${((r.spine / raw) * 100).toFixed(1)} %`);
    for (const l of [r.idle, r.loaded]) {
      line(
        `end-to-end latency at ${l.offered.toFixed(0)}/s offered (${l.lat.length} actions)`,
        `p50 ${pct(l.lat, 50).toFixed(1)} ms   p99 ${pct(l.lat, 99).toFixed(1)} ms   (goal: p99 ≤ 50 ms at half of capacity)`,
      );
      line(
        '  by hop (event emitted after the one before), p50/p99',
        l.hops.map((h) => `${h.name} ${pct(h.ms, 50).toFixed(0)}/${pct(h.ms, 99).toFixed(0)}`).join(', ') + ' ms',
      );
      costLine(l);
    }
    if (r.cpuPerAction.every((c) => !Number.isNaN(c.ms))) {
      line('CPU per action (throughput phase), by service', r.cpuPerAction.map((c) => `${c.name} ${c.ms.toFixed(2)}`).join(', ') + ' ms');
      line('', `all five: ${r.cpuPerAction.reduce((t, c) => t + c.ms, 0).toFixed(2)} ms per action`);
    }
    requestLines('round trips per action (throughput phase)', r.requests);
    line('CPU per action, what they lean on (estimate)', r.infraPerAction.map((c) => `${c.name} ${c.ms.toFixed(2)}`).join(', ') + ' ms');
    line('actions failed or outcome unknown (must be 0)', String(r.failed));
    line('effects on the target (must equal actions)', `${r.distinctEffects} distinct, ${r.deliveries} deliveries`);
  }
  const rawChain = chains.find((c) => c.kind === 'raw');
  const busChain = chains.find((c) => c.kind === 'bus');
  // The chains run on the broker's plaintext listener: Countersign is set beside them on plaintext when it ran so.
  const beside = runs.find((r) => r.transport === 'plaintext') ?? runs[runs.length - 1];
  for (const c of chains) {
    process.stdout.write(`\n[no-op relay chain on ${c.kind === 'raw' ? 'raw kafkajs' : 'KafkaBus'} (fair ceiling)]\n`);
    line('the same hops, no business logic', `${c.rate.toFixed(0)} actions/s   (${((c.rate / raw) * 100).toFixed(1)} % of the raw hop)`);
    if (beside) line(`Countersign (${beside.transport}) / this chain`, `${((beside.spine / c.rate) * 100).toFixed(1)} %`);
    for (const l of [c.idle, c.loaded]) {
      line(
        `latency at ${l.offered.toFixed(0)}/s offered (${l.lat.length} actions)`,
        `p50 ${pct(l.lat, 50).toFixed(1)} ms   p99 ${pct(l.lat, 99).toFixed(1)} ms`,
      );
      costLine(l);
    }
    if (c.cpuPerAction.every((x) => !Number.isNaN(x.ms))) {
      line('CPU per action (throughput phase), by relay', c.cpuPerAction.map((x) => `${x.name} ${x.ms.toFixed(2)}`).join(', ') + ' ms');
      line('', `all five: ${c.cpuPerAction.reduce((t, x) => t + x.ms, 0).toFixed(2)} ms per action`);
    }
    requestLines('round trips per action (throughput phase)', c.requests);
    line('CPU per action, what they lean on (estimate)', c.infraPerAction.map((x) => `${x.name} ${x.ms.toFixed(2)}`).join(', ') + ' ms');
  }
  if (rawChain || busChain) {
    process.stdout.write('\n');
    if (rawChain && beside) line('Countersign / no-op chain on raw kafkajs', `${((beside.spine / rawChain.rate) * 100).toFixed(1)} %   (goal: ≥ 40 %)`);
    if (rawChain && busChain) line('no-op chain on the bus / on raw kafkajs', `${((busChain.rate / rawChain.rate) * 100).toFixed(1)} %   (goal: ≥ 80 %)`);
    process.stdout.write(
      `ratio: chains ${beside?.transport ?? 'only'}` +
        (rawChain && beside ? ` spine/raw-chain ${(beside.spine / rawChain.rate).toFixed(4)}` : '') +
        (busChain && beside ? ` spine/bus-chain ${(beside.spine / busChain.rate).toFixed(4)}` : '') +
        (rawChain && busChain ? ` bus-chain/raw-chain ${(busChain.rate / rawChain.rate).toFixed(4)}` : '') +
        '\n',
    );
  }
  const tls = runs.find((r) => r.transport === 'tls');
  const plain = runs.find((r) => r.transport === 'plaintext');
  if (tls && plain) {
    process.stdout.write('\n');
    line('TLS cost (throughput with TLS / without)', `${((tls.spine / plain.spine) * 100).toFixed(1)} %`);
    process.stdout.write(
      `ratio: spine/raw tls ${(tls.spine / raw).toFixed(4)} plaintext ${(plain.spine / raw).toFixed(4)} tls/plaintext ${(tls.spine / plain.spine).toFixed(4)}\n`,
    );
  } else for (const r of runs) process.stdout.write(`ratio: spine/raw ${r.transport} ${(r.spine / raw).toFixed(4)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
