// npm run bench:kafka-trickle — what one event costs at a trickle, where nothing is batched: one producer and one consumer
// group in one process, BENCH_N events (default 200), each sent once the one before was handled and BENCH_GAP_MS later
// (default 50), on raw kafkajs and on the project's bus (`KafkaBus.emit` and `subscribe`, a no-op handler). Each side
// runs in a process of its own, alternating, BENCH_RUNS each (default 2); both with kafkajs' request queues fixed
// (docs/adr/0044: loading the bus fixes them). The CPU per event is the process's CPU over the events less its idle CPU
// over as long (measured just before), so what a side spends when nothing happens is not counted. Also prints what a
// wake-up costs on this machine (bench/wake-ups.ts). Last line `ratio: …`.
import '@countersign/bus';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { newId, TOPICS } from '@countersign/contracts';
import { loadStackEnvFile, stackEnv, uniqueName } from '@countersign/testing';
import { wakeUpCost, wakeUpLine } from './wake-ups';

const N = Number(process.env.BENCH_N ?? 200);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const IDLE_MS = 5_000;
const ROOT = join(__dirname, '..');
type Kind = 'raw' | 'bus';

loadStackEnvFile();

/** A ticket.tag proposal: the bus side emits it, the raw side sends an event of about the same size (JSON, about 500 bytes). */
const proposal = (i: number) => ({
  actionType: 'ticket.tag',
  target: `ticket-${i}`,
  parameters: { tags: ['billing', 'x'.repeat(100)] },
  proposer: { agentId: 'bench-agent', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.97,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

/** What a side does: start, send one event (resolves once its consumer handled it), stop. */
interface Side {
  send(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves the next `handled()` call's waiter: one event in flight at a time. */
function handoff() {
  let waiting: (() => void) | undefined;
  return {
    next: () => new Promise<void>((r) => (waiting = r)),
    handled: () => {
      const w = waiting;
      waiting = undefined;
      w?.();
    },
  };
}

async function rawSide(): Promise<Side> {
  const kafka = new Kafka({ ...stackEnv().kafka, clientId: 'bench-trickle-raw', logLevel: logLevel.NOTHING });
  const topic = `bench-trickle-${process.pid}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 1_000 });
  const producer = kafka.producer();
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic, fromBeginning: true });
  const h = handoff();
  await consumer.run({ eachMessage: async () => h.handled() });
  const value = JSON.stringify({ id: newId(), type: TOPICS.proposalSubmitted, data: proposal(0) });
  return {
    async send(i) {
      const handled = h.next();
      await producer.send({ topic, messages: [{ key: `ticket-${i}`, value }] });
      await handled;
    },
    async stop() {
      await Promise.all([consumer.disconnect(), producer.disconnect()]);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

async function busSide(): Promise<Side> {
  const namespace = uniqueName('bench-trickle');
  const bus = new KafkaBus({ ...stackEnv().kafka, clientId: 'bench-trickle-bus', source: 'bench', namespace, logger: pino({ level: 'silent' }) });
  await bus.connect();
  const h = handoff();
  const sub = await bus.subscribe({ group: 'bench.trickle', handlers: { [TOPICS.proposalSubmitted]: async () => h.handled() } });
  return {
    async send(i) {
      const handled = h.next();
      await bus.emit(TOPICS.proposalSubmitted, proposal(i), { subject: newId(), actor: { id: 'bench-agent', kind: 'agent' } });
      await handled;
    },
    async stop() {
      await sub.close();
      await bus.deleteNamespaceTopics().catch(() => undefined);
      await bus.close();
    },
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1_000;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One side, in this process: its CPU per event above idle, as one JSON line. */
async function side(kind: Kind): Promise<void> {
  const s = kind === 'raw' ? await rawSide() : await busSide();
  for (let i = 0; i < 20; i++) await s.send(-i - 1); // warm-up: the group has joined, the code has run
  await pause(1_000);
  const idle0 = cpuMs();
  await pause(IDLE_MS);
  const idlePerMs = (cpuMs() - idle0) / IDLE_MS;
  const started = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < N; i++) {
    await pause(GAP_MS);
    await s.send(i);
  }
  const used = cpuMs() - c0;
  const elapsed = performance.now() - started;
  await s.stop();
  process.stdout.write(`${JSON.stringify({ perEvent: (used - idlePerMs * elapsed) / N, idlePerS: idlePerMs * 1_000 })}\n`);
}

async function main(): Promise<void> {
  process.stdout.write(`${wakeUpLine(await wakeUpCost())}\n`);
  const measured: Record<Kind, number[]> = { raw: [], bus: [] };
  for (let run = 0; run < RUNS; run++)
    for (const kind of ['raw', 'bus'] as const) {
      const child = spawnSync(process.execPath, ['-r', join(ROOT, 'tools/register.js'), __filename, kind], { cwd: ROOT, encoding: 'utf8' });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !line.startsWith('{')) throw new Error(`the ${kind} side failed: ${child.stderr || child.stdout}`);
      const { perEvent, idlePerS } = JSON.parse(line) as { perEvent: number; idlePerS: number };
      measured[kind].push(perEvent);
      process.stdout.write(
        `${kind.padEnd(4)} run ${run + 1}: ${perEvent.toFixed(2)} ms of CPU per event above idle (${N} events, ${GAP_MS} ms apart; idle ${idlePerS.toFixed(1)} ms/s)\n`,
      );
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [raw, bus] = [median(measured.raw), median(measured.bus)];
  process.stdout.write(
    `ratio: CPU per event at a trickle, bus / raw kafkajs ${(bus / raw).toFixed(2)} (${bus.toFixed(2)} vs ${raw.toFixed(2)} ms; a send and a fetch per event, and each side's offset commits: kafkajs' after each batch, the bus's every 100 ms)\n`,
  );
}

if (require.main === module) {
  const kind = process.argv[2];
  const run = kind === 'raw' || kind === 'bus' ? side(kind) : main();
  run.then(
    () => process.exit(0),
    (e: Error) => (process.stderr.write(`bench:kafka-trickle failed: ${e.stack}\n`), process.exit(1)),
  );
}
