// npm run bench:kafka-idle — the CPU an idle process spends on its Kafka clients: kafkajs as shipped (2.2.4, whose request
// queues re-arm a 1 ms check for ever, tulios/kafkajs#1556) beside kafkajs as the bus runs it (docs/adr/0044). Each
// side runs in a process of its own: three consumer groups, a producer and an admin on the stack's broker. One message
// goes through, then the process's CPU is read over BENCH_SECONDS (default 5) of nothing. Sides alternate, BENCH_RUNS
// (default 2) each; last line `ratio: …`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const ROOT = join(__dirname, '..');

/** The stack's plaintext listener and its admin sign-in, from `.stack/stack.env` (read without the bus: see `side`). */
function stackKafka() {
  const env = Object.fromEntries(
    readFileSync(join(ROOT, '.stack/stack.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const password = readFileSync(env.KAFKA_SASL_PASSWORD_FILE, 'utf8').trim();
  return { brokers: env.KAFKA_BROKERS.split(','), sasl: { mechanism: 'plain' as const, username: env.KAFKA_SASL_USERNAME, password } };
}

/**
 * One side, in this process. This file never loads the bus, so kafkajs runs as shipped here; `kafka-idle.fixed.ts` loads
 * the bus first (which fixes kafkajs when it loads), then runs this.
 */
export async function side(kind: 'shipped' | 'fixed'): Promise<void> {
  const kafka = new Kafka({ ...stackKafka(), clientId: `bench-idle-${kind}`, logLevel: logLevel.NOTHING });
  const topic = `bench-idle-${kind}-${process.pid}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const consumers = await Promise.all(
    [1, 2, 3].map(async (i) => {
      const consumer = kafka.consumer({ groupId: `${topic}-${i}`, maxWaitTimeInMs: 1_000 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen!: () => void;
      const read = new Promise<void>((r) => (seen = r));
      await consumer.run({ eachMessage: async () => seen() });
      return { consumer, read };
    }),
  );
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'one' }] });
  await Promise.all(consumers.map((c) => c.read));
  const before = process.cpuUsage();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1_000));
  const used = process.cpuUsage(before);
  const msPerS = (used.user + used.system) / 1_000 / ((performance.now() - started) / 1_000);
  await Promise.all(consumers.map((c) => c.consumer.disconnect()));
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  process.stdout.write(`${JSON.stringify({ msPerS })}\n`);
}

function main(): void {
  const measured: Record<'shipped' | 'fixed', number[]> = { shipped: [], fixed: [] };
  for (let run = 0; run < RUNS; run++)
    for (const kind of ['shipped', 'fixed'] as const) {
      const file = kind === 'fixed' ? join(__dirname, 'kafka-idle.fixed.ts') : __filename;
      const child = spawnSync(process.execPath, ['-r', join(ROOT, 'tools/register.js'), file, kind], { cwd: ROOT, encoding: 'utf8' });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !line.startsWith('{')) throw new Error(`the ${kind} side failed: ${child.stderr || child.stdout}`);
      measured[kind].push(JSON.parse(line).msPerS);
      process.stdout.write(`${kind.padEnd(8)} run ${run + 1}: ${measured[kind].at(-1)!.toFixed(1)} ms of CPU per second, idle\n`);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [shipped, fixed] = [median(measured.shipped), median(measured.fixed)];
  process.stdout.write(
    `ratio: idle CPU as the bus runs kafkajs / as shipped ${(fixed / shipped).toFixed(2)} (${fixed.toFixed(1)} vs ${shipped.toFixed(1)} ms/s; three consumers, a producer, an admin)\n`,
  );
}

/** Runs `side(kind)` as a child process's whole work: one JSON line out, exit 0; or the error, exit 1. */
export function runSide(kind: 'shipped' | 'fixed'): void {
  void side(kind).then(
    () => process.exit(0),
    (e: Error) => (process.stderr.write(`${e.stack}\n`), process.exit(1)),
  );
}

if (require.main === module) {
  if (process.argv[2] === 'shipped') runSide('shipped');
  else main();
}
