// One process of the relay chain (bench/relay-chain.ts): a service's groups on the autonomous lane, with no business
// logic. Told what to be over IPC; says `ready` once its groups joined, and (the audit relay) how many executed events
// it has read.
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pino from 'pino';
import { buildEnvelope, decode, DEFAULT_CONCURRENCY, DEFAULT_SESSION_TIMEOUT_MS, encode, HandlerMap, KafkaBus } from '@countersign/bus';
import { AnyTopic, EventData, TopicMap, TOPICS } from '@countersign/contracts';
import { AUDIT, type RelayGroup, type RelaySetup } from './relay-chain';

const send = (m: object) => process.send?.(m);

/** The executed events the audit relay has read, told to the parent at most every 50 ms. */
let executed = 0;
let told = 0;
setInterval(() => {
  if (executed !== told) send({ executed: (told = executed) });
}, 50).unref();
/** Whether this is the audit relay, which reads the whole lane and follows each action to its end. */
let following = false;
/**
 * Per action, the time of its proposal or when its outcome was read, whichever the relay read first (the two topics'
 * partitions are read side by side, so either may come first); per executed action, the latency between them (ms).
 */
const proposedAt = new Map<string, number>();
const executedAt = new Map<string, number>();
let latencies: number[] = [];
/** What the audit relay (which reads the whole lane) notes of each event: counted and timed. */
function saw(event: TopicMap[AnyTopic]) {
  if (!following) return;
  if (event.type === TOPICS.proposalSubmitted) {
    const outcome = executedAt.get(event.subject);
    if (outcome === undefined) proposedAt.set(event.subject, Date.parse(event.time));
    else latencies.push(outcome - Date.parse(event.time));
    executedAt.delete(event.subject);
  }
  if (event.type !== TOPICS.actionExecuted) return;
  executed++;
  const at = proposedAt.get(event.subject);
  if (at === undefined) executedAt.set(event.subject, Date.now());
  else latencies.push(Date.now() - at);
  proposedAt.delete(event.subject);
}

async function runRaw(setup: RelaySetup): Promise<() => Promise<void>> {
  const ns = `${setup.namespace}.`;
  const kafka = new Kafka({ ...setup.kafka, clientId: `relay-${setup.service}`, logLevel: logLevel.NOTHING });
  // The bus's producer settings: idempotent, one request in flight, every replica's acknowledgement.
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const consumers = await Promise.all(
    setup.groups.map(async (g: RelayGroup) => {
      const consumer = kafka.consumer({
        groupId: ns + g.group,
        sessionTimeout: DEFAULT_SESSION_TIMEOUT_MS,
        heartbeatInterval: 1_000,
        rebalanceTimeout: 20_000,
        maxWaitTimeInMs: 1_000,
        allowAutoTopicCreation: false,
      });
      const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
      await consumer.connect();
      await consumer.subscribe({ topics: g.hops.map((h) => ns + h.from), fromBeginning: true });
      const next = new Map(g.hops.map((h) => [h.from as string, h.to]));
      await consumer.run({
        partitionsConsumedConcurrently: g.concurrency ?? DEFAULT_CONCURRENCY,
        eachBatch: async ({ batch, resolveOffset }) => {
          const topic = batch.topic.slice(ns.length);
          const to = next.get(topic);
          const out: { key: string; value: Buffer }[] = [];
          for (const m of batch.messages) {
            const decoded = decode(topic, m.key?.toString('utf8') ?? null, m.value);
            if (!decoded.ok) throw new Error(decoded.reason);
            saw(decoded.event);
            if (to) out.push({ key: decoded.event.subject, value: encode(to, relayed(setup, to, decoded.event)) });
          }
          if (out.length) await producer.send({ topic: ns + to, acks: -1, messages: out });
          resolveOffset(batch.messages[batch.messages.length - 1].offset);
        },
      });
      await joined;
      return consumer;
    }),
  );
  return async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer.disconnect();
  };
}

async function runBus(setup: RelaySetup): Promise<() => Promise<void>> {
  const bus = new KafkaBus({
    ...setup.kafka,
    clientId: `relay-${setup.service}`,
    source: setup.service,
    namespace: setup.namespace,
    logger: pino({ level: 'warn' }),
  });
  await bus.connect();
  const subscriptions = await Promise.all(
    setup.groups.map((g) =>
      bus.subscribe({
        group: g.group,
        concurrency: g.concurrency,
        handlers: Object.fromEntries(
          g.hops.map((h) => [
            h.from,
            async (e: TopicMap[AnyTopic]) => {
              saw(e);
              if (h.to) await bus.publish(h.to, relayed(setup, h.to, e));
            },
          ]),
        ) as HandlerMap,
      }),
    ),
  );
  return async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    await bus.close();
  };
}

/** The event a relay emits for `cause` on `to`: the template's data, in the chain of the cause (as `bus.emit` makes it). */
function relayed(setup: RelaySetup, to: AnyTopic, cause: TopicMap[AnyTopic]): TopicMap[AnyTopic] {
  return buildEnvelope(to, setup.templates[to as keyof RelaySetup['templates']] as EventData<AnyTopic>, setup.service, { cause });
}

process.once('message', (setup: RelaySetup) => {
  following = setup.service === AUDIT;
  (setup.kind === 'raw' ? runRaw(setup) : runBus(setup)).then(
    (stop) => {
      send({ ready: true });
      process.on('message', (m: { stop?: boolean; collect?: boolean }) => {
        if (m.stop) void stop().finally(() => process.exit(0));
        if (m.collect) {
          send({ executed: (told = executed), latencies });
          latencies = [];
        }
      });
    },
    (e: Error) => {
      send({ failed: e.message });
      process.exit(1);
    },
  );
});
