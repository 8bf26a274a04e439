// The fair ceiling of bench:spine (issue 14): the autonomous lane's hops with no business logic. Five processes, one per
// service, each in the consumer groups that service has on the lane, reading the same topics of the same namespace's
// partitions with the same consumer settings, decoding every event (strict JSON and the topic's schema, as the bus
// does) and relaying the events the service relays, with the same data the real services emitted. Started twice: on
// raw kafkajs (one `send` per batch, kafkajs's own commits), and on `KafkaBus` (the handlers the services use). Then
// Countersign's own cost is the spine's figure beside these, and the bus's is the second chain beside the first.
import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { KafkaSasl } from '@countersign/bus';
import { AUDITED_TOPICS } from '@countersign/audit-writer';
import { AnyTopic, EventData, TOPICS } from '@countersign/contracts';

/** What a relay does with one topic a group reads: relays it as an event of another topic, or only reads it. */
export interface RelayHop {
  from: AnyTopic;
  to?: AnyTopic;
}

/** A consumer group of a service on the autonomous lane (as `BusConsumer`s name them) and what it does. */
export interface RelayGroup {
  group: string;
  hops: RelayHop[];
  /** Handlers in flight (the service's setting; the bus's default when unset). */
  concurrency?: number;
}

/**
 * The five services' groups on the lane, read from their consumers (apps/<service>/src/**\/*.consumer.ts): each reads
 * every topic its consumer reads (a fetch carries all of a group's partitions, the idle ones too), and relays the lane's
 * events as its service does. `relay-chain.spec.ts` fails when a consumer's topics and its relay's differ.
 */
export const RELAY_SERVICES: Record<string, RelayGroup[]> = {
  orchestrator: [
    { group: 'orchestrator.ingest', hops: [{ from: TOPICS.proposalSubmitted, to: TOPICS.actionProposed }] },
    {
      group: 'orchestrator.action-view',
      hops: [
        TOPICS.actionProposed,
        TOPICS.policyDecided,
        TOPICS.reviewDecided,
        TOPICS.proposalRevised,
        TOPICS.actionExecuted,
        TOPICS.actionFailed,
        TOPICS.actionRefused,
        TOPICS.outcomeCheckRequested,
        TOPICS.actionHeld,
      ].map((from) => ({ from })),
    },
  ],
  'policy-engine': [{ group: 'policy-engine.decide', hops: [{ from: TOPICS.actionProposed, to: TOPICS.policyDecided }] }],
  executor: [
    {
      group: 'executor.execute',
      hops: [{ from: TOPICS.policyDecided, to: TOPICS.actionExecuted }, { from: TOPICS.reviewDecided }, { from: TOPICS.proposalRevised }],
    },
  ],
  'review-queue': [
    { group: 'review-queue.intake', hops: [{ from: TOPICS.policyDecided }] },
    { group: 'review-queue.decision-quality', hops: [TOPICS.policyDecided, TOPICS.degradationOverrideSet, TOPICS.autonomyChanged].map((from) => ({ from })) },
  ],
  // Every topic but the tree heads, dead-letter topics included, as the audit writer reads them.
  'audit-writer': [{ group: 'audit-writer.append', hops: AUDITED_TOPICS.map((from) => ({ from })), concurrency: 256 }],
};

/** The service whose relay follows every action to its end (it reads the whole lane). */
export const AUDIT = 'audit-writer';

/** The data each relayed topic carries: taken from what the real services emitted in the same run. */
export type RelayTemplates = {
  [T in typeof TOPICS.actionProposed | typeof TOPICS.policyDecided | typeof TOPICS.actionExecuted]: EventData<T>;
};

/** What the parent tells a relay process. */
export interface RelaySetup {
  kind: 'raw' | 'bus';
  service: string;
  groups: RelayGroup[];
  /** The stack's plaintext listener and the admin's sign-in to it. */
  kafka: { brokers: string[]; sasl: KafkaSasl };
  namespace: string;
  templates: RelayTemplates;
}

/** A running chain: the five processes, and how many executed events its audit relay has read. */
export interface RelayChain {
  processes: { name: string; process: ChildProcess }[];
  executed(): number;
  /** The latencies (proposal time → its executed event read by the audit relay, ms) since the last call. */
  collectLatencies(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Starts the five relay processes of `kind` on `namespace` and resolves once every group has joined. */
export async function startRelayChain(kind: RelaySetup['kind'], kafka: RelaySetup['kafka'], namespace: string, templates: RelayTemplates): Promise<RelayChain> {
  let executed = 0;
  let collected: ((lat: number[]) => void) | undefined;
  const processes = Object.entries(RELAY_SERVICES).map(([service, groups]) => {
    const extra = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = fork(join(__dirname, 'relay-chain.process.ts'), [], {
      execArgv: [...extra, '-r', join(__dirname, '../tools/register.js')],
      stdio: 'inherit',
    });
    const setup: RelaySetup = { kind, service, groups, kafka, namespace, templates };
    child.send(setup);
    return { name: service, process: child };
  });
  await Promise.all(
    processes.map(
      ({ name, process: child }) =>
        new Promise<void>((resolve, reject) => {
          child.on('message', (m: { ready?: boolean; executed?: number; latencies?: number[]; failed?: string }) => {
            if (m.ready) resolve();
            if (m.executed !== undefined) executed = m.executed;
            if (m.latencies) collected?.(m.latencies);
            if (m.failed) reject(new Error(`${kind} relay ${name}: ${m.failed}`));
          });
          child.once('exit', (code) => reject(new Error(`${kind} relay ${name} exited with ${code}`)));
        }),
    ),
  );
  return {
    processes,
    executed: () => executed,
    collectLatencies: () =>
      new Promise<number[]>((resolve) => {
        collected = resolve;
        processes.find((p) => p.name === AUDIT)!.process.send({ collect: true });
      }),
    stop: async () => {
      await Promise.all(
        processes.map(
          ({ process: child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.send({ stop: true });
              setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
            }),
        ),
      );
    },
  };
}
