// npm run bench:mode — how fast a degradation mode change reaches the services that apply it.
// On the real broker: the controller's emit on the compacted control topic (`control.degradation.mode-changed.v1`)
// until the policy engine and the executor have applied it, each with its own Kafka client and the very providers
// their modules register (`degradationModeProviders`: the follower's replayed subscription into the mode state that
// DecisionService and ExecutionService read). BENCH_N changes (default 200), one after the other, alternating
// normal/elevated. Baseline, in the same run: a plain kafkajs produce → consume round trip of one message (same
// broker, same fetch wait of 50 ms as the bus). Prints p50/p99 of each and the ratio. Goal (issue 10): p99 ≤ 100 ms.
import { Module } from '@nestjs/common';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pino from 'pino';
import { createTopics, KafkaBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { generateSigningKey } from '@countersign/approval';
import { degradationModeProviders, DegradationModeState, emitControlFact, PlatformModule, serve, TokenRegistry } from '@countersign/nest';
import { loadStackEnvFile, stackEnv, uniqueName } from '@countersign/testing';

const N = Number(process.env.BENCH_N ?? 200);
const FETCH_WAIT_MS = 50;

loadStackEnvFile();
const logger = pino({ level: 'silent' });
const stackKafka = () => stackEnv().kafka;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
};

/** The review queue's review-decision key: it seals the mode, the followers verify it. */
const reviewQueueKey = generateSigningKey('bench-review-queue');

/** One service's follower of the control topic, as its module wires it, on a Kafka client of its own. */
async function follower(service: string, namespace: string) {
  const bus = new KafkaBus({ ...stackKafka(), clientId: `bench-${service}`, source: service, namespace, logger, maxWaitTimeInMs: FETCH_WAIT_MS });
  const state = new DegradationModeState();
  @Module({
    imports: [PlatformModule.forRoot({ service, bus, logger, tokens: new TokenRegistry([]) })],
    providers: degradationModeProviders(service, [reviewQueueKey.verifyKey], state),
  })
  class Root {}
  const { app } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
  while (state.mode() === undefined) await new Promise((r) => setTimeout(r, 10));
  return {
    state,
    close: async () => {
      await app.close();
      await bus.close();
    },
  };
}

/** Controller emit → both followers applied, N times. */
async function modePropagation(namespace: string) {
  const controller = new KafkaBus({ ...stackKafka(), clientId: 'bench-controller', source: 'review-queue', namespace, logger });
  await controller.connect();
  const [pe, ex] = await Promise.all([follower('policy-engine', namespace), follower('executor', namespace)]);
  const policyEngine: number[] = [];
  const executor: number[] = [];
  const both: number[] = [];
  try {
    let previous: 'normal' | 'elevated' = 'normal';
    for (let i = 0; i < N; i++) {
      const mode: 'normal' | 'elevated' = previous === 'normal' ? 'elevated' : 'normal';
      const applied = (state: DegradationModeState) =>
        new Promise<number>((resolve) => {
          const stop = state.onApplied((m) => {
            if (m !== mode) return;
            stop();
            resolve(performance.now());
          });
        });
      const peApplied = applied(pe.state);
      const exApplied = applied(ex.state);
      const emitted = performance.now();
      // Sealed, as the controller seals it (docs/adr/0039): the followers verify the seal in the measured path.
      await emitControlFact(
        controller,
        reviewQueueKey.signing,
        TOPICS.degradationModeChanged,
        { mode, previous, computed: mode, inputs: { pending: i }, reason: 'bench', computedSince: new Date().toISOString() },
        { subject: 'degradation-mode' },
      );
      const [a, b] = await Promise.all([peApplied, exApplied]);
      policyEngine.push(a - emitted);
      executor.push(b - emitted);
      both.push(Math.max(a, b) - emitted);
      previous = mode;
    }
  } finally {
    await Promise.all([pe.close(), ex.close()]);
    await controller.deleteNamespaceTopics().catch(() => undefined);
    await controller.close();
  }
  return { policyEngine: summary(policyEngine), executor: summary(executor), both: summary(both) };
}

/** A plain kafkajs produce → consume round trip of one message, N times. */
async function baseline(namespace: string) {
  const kafka = new Kafka({ ...stackKafka(), clientId: 'bench-baseline', logLevel: logLevel.NOTHING });
  const topic = `${namespace}.baseline`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [topic], 6);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${namespace}.baseline`, maxWaitTimeInMs: FETCH_WAIT_MS });
  await Promise.all([producer.connect(), consumer.connect()]);
  let arrived: (() => void) | undefined;
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.run({ eachMessage: async () => arrived?.() });
  await joined;
  const times: number[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const got = new Promise<number>((r) => (arrived = () => r(performance.now())));
      const sent = performance.now();
      await producer.send({ topic, acks: -1, messages: [{ key: 'degradation-mode', value: JSON.stringify({ i }) }] });
      times.push((await got) - sent);
    }
  } finally {
    await Promise.all([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
  return summary(times);
}

async function main() {
  const namespace = uniqueName('bench-mode');
  process.stdout.write(`${N} mode changes on the control topic, one after the other; the same number of plain round trips…\n`);
  const base = await baseline(namespace);
  const mode = await modePropagation(namespace);
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const line = (k: string, s: { p50: number; p99: number; max: number }) =>
    process.stdout.write(`${k.padEnd(58)} p50 ${ms(s.p50).padStart(9)}   p99 ${ms(s.p99).padStart(9)}   max ${ms(s.max).padStart(9)}\n`);
  process.stdout.write('\n');
  line('baseline: kafkajs produce → consume (one message)', base);
  line('emit → policy engine applied', mode.policyEngine);
  line('emit → executor applied', mode.executor);
  line('emit → both applied (propagation)', mode.both);
  process.stdout.write(
    `${'ratio to the baseline'.padEnd(58)} p50 ${(mode.both.p50 / base.p50).toFixed(2).padStart(6)} ×   p99 ${(mode.both.p99 / base.p99).toFixed(2).padStart(6)} ×\n`,
  );
  process.stdout.write(`${'goal: propagation p99 ≤ 100 ms'.padEnd(58)} ${mode.both.p99 <= 100 ? 'met' : 'NOT met'}\n`);
  process.stdout.write(`ratio: propagation/baseline p50 ${(mode.both.p50 / base.p50).toFixed(2)} p99 ${(mode.both.p99 / base.p99).toFixed(2)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
