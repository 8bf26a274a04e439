// npm run bench:bus — what handling different keys side by side buys when handlers wait on I/O.
// On the real broker, one topic of 6 partitions, 1,200 events of distinct keys, a handler that waits
// 20 ms (a database round trip or a target system's answer): consumed with 6 handlers in flight (what
// one-event-at-a-time-per-partition gives), then with 32, in the same run. Prints both
// rates and their ratio. Needs Kafka (the npm script starts the stack).
import { KafkaBus } from '@countersign/bus';
import { newId, TOPICS } from '@countersign/contracts';
import { loadStackEnvFile, stackEnv, uniqueName } from '@countersign/testing';
import pino from 'pino';

const N = Number(process.env.BENCH_N ?? 1200);
const HANDLER_MS = Number(process.env.BENCH_HANDLER_MS ?? 20);

loadStackEnvFile();

/** A proposal of the bench's agent, each one an action of its own (a key of its own). */
const emitProposal = (bus: KafkaBus, i: number) =>
  bus.emit(
    TOPICS.proposalSubmitted,
    {
      actionType: 'ticket.tag',
      target: `ticket-${i}`,
      parameters: { tags: ['billing'] },
      proposer: { agentId: 'bench-agent', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
      confidence: 0.97,
      tenant: 'acme',
      region: 'eu-west',
      context: {},
    },
    { subject: newId(), actor: { id: 'bench-agent', kind: 'agent' } },
  );

/** Events per second for one consumer group reading all N events with `concurrency` handlers in flight. */
async function consume(bus: KafkaBus, concurrency: number): Promise<number> {
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const started = performance.now();
  const sub = await bus.subscribe({
    group: `bench.c${concurrency}`,
    concurrency,
    handlers: {
      [TOPICS.proposalSubmitted]: async () => {
        await new Promise((r) => setTimeout(r, HANDLER_MS));
        if (++handled === N) done();
      },
    },
  });
  await finished;
  const rate = N / ((performance.now() - started) / 1000);
  await sub.close();
  return rate;
}

async function main() {
  const bus = new KafkaBus({
    ...stackEnv().kafka,
    clientId: 'bench-bus',
    source: 'bench',
    namespace: uniqueName('bench-bus'),
    partitions: 6,
    logger: pino({ level: 'silent' }),
  });
  await bus.connect();
  try {
    process.stdout.write(`publishing ${N} events to 6 partitions; each handler waits ${HANDLER_MS} ms…\n`);
    for (let i = 0; i < N; i += 300) await Promise.all(Array.from({ length: Math.min(300, N - i) }, (_, j) => emitProposal(bus, i + j)));
    const perPartition = await consume(bus, 6);
    const keyParallel = await consume(bus, 32);
    const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(52)} ${v}\n`);
    process.stdout.write('\n');
    line('6 in flight (what one per partition allows)', `${perPartition.toFixed(0)} events/s`);
    line('32 in flight (keys side by side, each key in order)', `${keyParallel.toFixed(0)} events/s`);
    line('keys side by side / one per partition', `${(keyParallel / perPartition).toFixed(1)} ×   (bound: 32 / 6 = 5.3 ×)`);
    process.stdout.write(`ratio: keyParallel/perPartition ${(keyParallel / perPartition).toFixed(2)}\n`);
  } finally {
    await bus.deleteNamespaceTopics();
    await bus.close();
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
