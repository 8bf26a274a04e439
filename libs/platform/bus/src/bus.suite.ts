import { AnyTopic, dlqTopic, newId, TOPICS, TopicMap } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { partitionFor } from './partitioner';
import { EventBus, RefusedEvent, StoreDamagedError } from './port';

type ProposalEvent = TopicMap[typeof TOPICS.proposalSubmitted];

/** A fresh, isolated broker world for one test: every bus it makes talks to the same broker. */
export interface BusHarness {
  /** A bus of this world; with `metrics`, it measures into them and reads each kept-position group's lag every 200 ms. */
  bus(options?: { metrics?: Metrics }): Promise<EventBus>;
  /** Resolves once `members` consumers of `group` have a completed assignment (a broker rebalances first). */
  settled(group: string, members: number): Promise<void>;
  close(): Promise<void>;
}

export function proposalEvent(subject: string, seq: number): ProposalEvent {
  return {
    id: newId(),
    type: TOPICS.proposalSubmitted,
    version: 1,
    source: 'contract-test',
    time: new Date().toISOString(),
    subject,
    correlationId: `corr-${subject}`,
    causationId: null,
    actor: { id: 'agent-1', kind: 'agent' },
    data: {
      actionType: 'support.reply',
      target: `ticket-${seq}`,
      parameters: { seq },
      proposer: { agentId: 'agent-1', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p1' },
      confidence: 0.9,
      tenant: 'acme',
      region: 'eu-west',
      context: {},
    },
  };
}

/** `eventually` for a check that must await (a scrape). */
export async function eventuallyAsync(check: () => Promise<void>, timeoutMs = 30_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** Polls until `check` passes or the deadline is reached, then asserts once more (so failures say why). */
export async function eventually(check: () => void, timeoutMs = 30_000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/**
 * The bus contract: both adapters must pass it. `makeHarness` gives each test its own broker world
 * (the in-memory broker, or a fresh namespace on the real Kafka broker).
 */
/** Twelve keys (`<prefix>-<n>`) on `key`'s partition: the same with 3 or 6 partitions (6 is a multiple of 3). */
function partitionMates(key: string, prefix: string): string[] {
  const home = partitionFor(key, 6);
  const mates = Array.from({ length: 400 }, (_, i) => `${prefix}-${i}`)
    .filter((k) => partitionFor(k, 6) === home)
    .slice(0, 12);
  if (mates.length !== 12) throw new Error(`only ${mates.length} keys of ${prefix}-0…399 share the partition of ${key}`);
  return mates;
}

export function busSuite(name: string, makeHarness: () => Promise<BusHarness>, timeoutMs = 60_000): void {
  describe(`EventBus shared suite: ${name}`, () => {
    let harness: BusHarness;
    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await harness.close();
    });

    it(
      'delivers the events of one key in the order they were published',
      async () => {
        const bus = await harness.bus();
        const seen = new Map<string, number[]>();
        await bus.subscribe({
          group: 'contract.order',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              const list = seen.get(e.subject) ?? [];
              list.push(e.data.parameters.seq as number);
              seen.set(e.subject, list);
            },
          },
        });
        const keys = ['action-a', 'action-b', 'action-c'];
        const sends: Promise<void>[] = [];
        for (let i = 0; i < 60; i++) sends.push(bus.publish(TOPICS.proposalSubmitted, proposalEvent(keys[i % 3], i)));
        await Promise.all(sends);
        await eventually(() => expect([...seen.values()].flat()).toHaveLength(60));
        for (const k of keys) {
          const got = seen.get(k)!;
          expect(got).toEqual([...got].sort((a, b) => a - b));
          expect(got).toHaveLength(20);
        }
      },
      timeoutMs,
    );

    it(
      'lets the other keys of a partition go ahead while one key waits, and keeps that key in order',
      async () => {
        const bus = await harness.bus();
        const slow = 'action-slow';
        const others = partitionMates(slow, 'action');
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const handled: string[] = [];
        await bus.subscribe({
          group: 'contract.parallel',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              if (e.subject === slow && e.data.parameters.seq === 0) await gate;
              handled.push(`${e.subject}#${e.data.parameters.seq}`);
            },
          },
        });
        // Published together, as a busy producer would: they reach the consumer in one fetch.
        await Promise.all(
          [proposalEvent(slow, 0), proposalEvent(slow, 1), ...others.map((k) => proposalEvent(k, 2))].map((e) => bus.publish(TOPICS.proposalSubmitted, e)),
        );
        await eventually(() => expect(handled).toEqual(expect.arrayContaining(others.map((k) => `${k}#2`))));
        // The slow key's second event waits for its first.
        expect(handled.filter((h) => h.startsWith(`${slow}#`))).toEqual([]);
        release();
        await eventually(() => expect(handled.filter((h) => h.startsWith(`${slow}#`))).toEqual([`${slow}#0`, `${slow}#1`]));
      },
      timeoutMs,
    );

    it(
      'does not let a slow event hold the next batch of its partition, and keeps its key in order',
      async () => {
        const bus = await harness.bus();
        const slow = 'action-slow-across';
        const others = partitionMates(slow, 'across');
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let began!: () => void;
        const slowBegan = new Promise<void>((r) => (began = r));
        const handled: string[] = [];
        await bus.subscribe({
          group: 'contract.no-barrier',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              if (e.subject === slow && e.data.parameters.seq === 0) {
                began();
                await gate;
              }
              handled.push(`${e.subject}#${e.data.parameters.seq}`);
            },
          },
        });
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent(slow, 0));
        await slowBegan;
        // Published once the slow event's handler runs: they reach the consumer in a later batch of the same partition.
        await Promise.all([proposalEvent(slow, 1), ...others.map((k) => proposalEvent(k, 2))].map((e) => bus.publish(TOPICS.proposalSubmitted, e)));
        await eventually(() => expect(handled).toEqual(expect.arrayContaining(others.map((k) => `${k}#2`))));
        expect(handled.filter((h) => h.startsWith(`${slow}#`))).toEqual([]);
        release();
        await eventually(() => expect(handled.filter((h) => h.startsWith(`${slow}#`))).toEqual([`${slow}#0`, `${slow}#1`]));
      },
      timeoutMs,
    );

    it(
      'shares partitions between two instances of one consumer group, each event handled once',
      async () => {
        const [one, two] = [await harness.bus(), await harness.bus()];
        const handledBy = new Map<string, string[]>();
        const handler = (who: string) => async (e: ProposalEvent) => {
          handledBy.set(e.id, [...(handledBy.get(e.id) ?? []), who]);
        };
        await one.subscribe({ group: 'contract.share', handlers: { [TOPICS.proposalSubmitted]: handler('one') } });
        await two.subscribe({ group: 'contract.share', handlers: { [TOPICS.proposalSubmitted]: handler('two') } });
        // Delivery is at-least-once: while a group rebalances a message may be handled twice. The
        // contract is about a settled group.
        await harness.settled('contract.share', 2);
        const events = Array.from({ length: 80 }, (_, i) => proposalEvent(`key-${i}`, i));
        await Promise.all(events.map((e) => one.publish(TOPICS.proposalSubmitted, e)));
        await eventually(() => expect(handledBy.size).toBe(80));
        await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
        const all = [...handledBy.values()];
        expect(all.every((who) => who.length === 1)).toBe(true);
        expect(all.filter((w) => w[0] === 'one').length).toBeGreaterThan(0);
        expect(all.filter((w) => w[0] === 'two').length).toBeGreaterThan(0);
        expect(new Set(handledBy.keys())).toEqual(new Set(events.map((e) => e.id)));
      },
      timeoutMs,
    );

    it(
      'keeps what a closed subscription handled: the group, subscribed again, reads only what came after',
      async () => {
        const bus = await harness.bus();
        const first: number[] = [];
        const sub = await bus.subscribe({
          group: 'contract.resume',
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void first.push(e.data.parameters.seq as number) },
        });
        await Promise.all(Array.from({ length: 30 }, (_, i) => bus.publish(TOPICS.proposalSubmitted, proposalEvent(`resume-${i}`, i))));
        await eventually(() => expect(first).toHaveLength(30));
        // Closed right after the last handler ended: what it handled is committed on the way out, not left to a timer.
        await sub.close();
        await Promise.all(Array.from({ length: 5 }, (_, i) => bus.publish(TOPICS.proposalSubmitted, proposalEvent(`resume-${30 + i}`, 30 + i))));
        const second: number[] = [];
        await bus.subscribe({
          group: 'contract.resume',
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void second.push(e.data.parameters.seq as number) },
        });
        await eventually(() => expect(second).toHaveLength(5));
        await new Promise((r) => setTimeout(r, 300)); // room for a redelivery to show up
        expect(second.sort((a, b) => a - b)).toEqual([30, 31, 32, 33, 34]);
      },
      timeoutMs,
    );

    it(
      'redelivers an event whose handler failed, and keeps the key order',
      async () => {
        const bus = await harness.bus();
        const attempts: Array<[number, number]> = [];
        let failedOnce = false;
        await bus.subscribe({
          group: 'contract.redeliver',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e, ctx) => {
              const seq = e.data.parameters.seq as number;
              attempts.push([seq, ctx.attempt]);
              if (seq === 1 && !failedOnce) {
                failedOnce = true;
                throw new Error('target system hiccup');
              }
            },
          },
        });
        for (let i = 0; i < 3; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent('one-key', i));
        await eventually(() => expect(attempts).toHaveLength(4));
        expect(attempts).toEqual([
          [0, 1],
          [1, 1],
          [1, 2],
          [2, 1],
        ]);
      },
      timeoutMs,
    );

    it(
      'sends poison messages to <topic>.dlq with the reason and keeps consuming',
      async () => {
        const bus = await harness.bus();
        const handled: number[] = [];
        const dead: Array<{ reason: string; key: string | null; rawBytes: number }> = [];
        await bus.subscribe({
          group: 'contract.poison',
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void handled.push(e.data.parameters.seq as number) },
        });
        const dlq = `${TOPICS.proposalSubmitted}.dlq` as const;
        await bus.subscribe({ group: 'contract.poison-dlq', handlers: { [dlq]: async (e) => void dead.push(e.data) } });

        const valid = proposalEvent('poison-key', 7);
        const schemaViolation = { ...proposalEvent('poison-key', 8), data: { ...valid.data, confidence: 7 } };
        const oversized = { ...proposalEvent('poison-key', 9), data: { ...valid.data, parameters: { blob: 'x'.repeat(300 * 1024) } } };
        // An agent writes this topic: a field its schema does not know is refused, not dropped (a misspelt `context`).
        const unknownField = { ...proposalEvent('poison-key', 10), data: { ...valid.data, Context: { containsCommitment: true } } };
        await bus.publishRaw(TOPICS.proposalSubmitted, 'poison-key', '{"id": "broken json');
        await bus.publishRaw(TOPICS.proposalSubmitted, 'poison-key', JSON.stringify(schemaViolation));
        await bus.publishRaw(TOPICS.proposalSubmitted, 'poison-key', JSON.stringify(oversized));
        await bus.publishRaw(TOPICS.proposalSubmitted, 'poison-key', JSON.stringify(unknownField));
        await bus.publish(TOPICS.proposalSubmitted, valid);

        await eventually(() => expect(dead).toHaveLength(4));
        await eventually(() => expect(handled).toEqual([7]));
        expect(dead[0].reason).toMatch(/^malformed JSON/);
        expect(dead[1].reason).toMatch(/^schema violation: data\.confidence/);
        expect(dead[2].reason).toMatch(/^oversized: \d+ bytes/);
        expect(dead[3].reason).toBe('schema violation: data.Context: unknown field (did you mean context?)');
        expect(dead.every((d) => d.key === 'poison-key')).toBe(true);
        expect(dead[2].rawBytes).toBeGreaterThan(300 * 1024);
      },
      timeoutMs,
    );

    it(
      'dead-letters an event whose handler keeps failing, then handles the next one',
      async () => {
        const bus = await harness.bus();
        const handled: number[] = [];
        const dead: string[] = [];
        await bus.subscribe({
          group: 'contract.give-up',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              if (e.data.parameters.seq === 0) throw new Error('always broken');
              handled.push(e.data.parameters.seq as number);
            },
            [`${TOPICS.proposalSubmitted}.dlq` as AnyTopic]: async (e: TopicMap[`${typeof TOPICS.proposalSubmitted}.dlq`]) => void dead.push(e.data.reason),
          },
        });
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('give-up', 0));
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('give-up', 1));
        await eventually(() => expect(handled).toEqual([1]));
        await eventually(() => expect(dead).toHaveLength(1));
        expect(dead[0]).toMatch(/^handler failed after 3 attempts: always broken/);
      },
      timeoutMs,
    );

    it(
      'retries an event whose handler waits for an unavailable dependency or a damaged store, past the retry limit, and never dead-letters it',
      async () => {
        const bus = await harness.bus();
        let attempts = 0;
        const handled: number[] = [];
        const dead: string[] = [];
        await bus.subscribe({
          group: 'contract.outage',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              // Redis is "down" for the first four attempts, then a store is damaged for four (until an operator restores
              // it): neither is the message's fault (the limit for a bad message is three).
              if (++attempts <= 4)
                throw Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' });
              if (attempts <= 8) throw new StoreDamagedError('audit.jsonl: entry 3 changed', 'the store was changed');
              handled.push(e.data.parameters.seq as number);
            },
            [dlqTopic(TOPICS.proposalSubmitted)]: async (e: TopicMap[`${typeof TOPICS.proposalSubmitted}.dlq`]) => void dead.push(e.data.reason),
          },
        });
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('outage', 7));
        await eventually(() => expect(handled).toEqual([7]));
        expect(attempts).toBe(9);
        expect(dead).toEqual([]);
      },
      timeoutMs,
    );

    it(
      'dead-letters what the strict parser refuses (duplicate keys, deep nesting, invalid UTF-8) instead of handling it',
      async () => {
        const bus = await harness.bus();
        const handled: string[] = [];
        const dead: Array<{ reason: string }> = [];
        await bus.subscribe({
          group: 'contract.strict',
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void handled.push(`${e.data.actionType} ${e.data.target}`) },
        });
        await bus.subscribe({ group: 'contract.strict-dlq', handlers: { [dlqTopic(TOPICS.proposalSubmitted)]: async (e) => void dead.push(e.data) } });
        const json = (seq: number) => JSON.stringify(proposalEvent('strict-key', seq));
        // JSON.parse would let the last actionType win: one reader sees a legal statement, another a reply.
        await bus.publishRaw(TOPICS.proposalSubmitted, 'strict-key', json(1).replace('"data":{', '"data":{"actionType":"legal.statement",'));
        await bus.publishRaw(
          TOPICS.proposalSubmitted,
          'strict-key',
          json(2).replace('"parameters":{', `"parameters":{"deep":${'['.repeat(6000)}${']'.repeat(6000)},`),
        );
        // The target as Latin-1 bytes: read leniently it would become "ticket-3\ufffd".
        await bus.publishRaw(
          TOPICS.proposalSubmitted,
          'strict-key',
          Buffer.from(json(3).replace('"target":"ticket-3"', '"target":"ticket-3\u00e9"'), 'latin1'),
        );
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('strict-key', 4));
        await eventually(() => expect(dead).toHaveLength(3));
        await eventually(() => expect(handled).toEqual(['support.reply ticket-4']));
        expect(dead.map((d) => d.reason)).toEqual([
          'malformed JSON: duplicate key "actionType" in the object at /data',
          expect.stringMatching(/^malformed JSON: nested deeper than 32 levels at \/data\/parameters\/deep\/0\/0\//),
          expect.stringMatching(/^malformed JSON: invalid UTF-8 at byte \d+$/),
        ]);
      },
      timeoutMs,
    );

    it(
      'dead-letters at once, with its reason, an event its handler refuses for good',
      async () => {
        const bus = await harness.bus();
        let attempts = 0;
        const dead: Array<{ reason: string; consumerGroup: string }> = [];
        await bus.subscribe({
          group: 'contract.refuse',
          handlers: {
            [TOPICS.proposalSubmitted]: async () => {
              attempts++;
              throw new RefusedEvent('unauthenticated proposer: the submission is not signed');
            },
            [dlqTopic(TOPICS.proposalSubmitted)]: async (e: TopicMap[`${typeof TOPICS.proposalSubmitted}.dlq`]) => void dead.push(e.data),
          },
        });
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('refused', 0));
        await eventually(() => expect(dead).toHaveLength(1));
        expect(dead[0]).toMatchObject({ reason: 'unauthenticated proposer: the submission is not signed', consumerGroup: 'contract.refuse' });
        expect(attempts).toBe(1);
      },
      timeoutMs,
    );

    it(
      'dead-letters a message whose key could not be a subject (too long, control characters)',
      async () => {
        const bus = await harness.bus();
        const dead: Array<{ reason: string; key: string | null }> = [];
        await bus.subscribe({
          group: 'contract.bad-key',
          handlers: {
            [TOPICS.proposalSubmitted]: async () => undefined,
            [dlqTopic(TOPICS.proposalSubmitted)]: async (e: TopicMap[`${typeof TOPICS.proposalSubmitted}.dlq`]) => void dead.push(e.data),
          },
        });
        for (const key of ['k'.repeat(300), 'key\u0000']) await bus.publishRaw(TOPICS.proposalSubmitted, key, JSON.stringify(proposalEvent('other', 0)));
        await eventually(() => expect(dead).toHaveLength(2));
        // Two keys, two partitions: their dead letters arrive in either order.
        expect(dead.map((d) => d.key).sort()).toEqual(['k'.repeat(300), 'key\u0000'].sort());
        expect(dead.every((d) => /^key .* does not match subject "other"$/.test(d.reason))).toBe(true);
      },
      timeoutMs,
    );

    it(
      "measures dead letters by source topic, publish and handler times, and a group's lag until it has handled everything",
      async () => {
        const metrics = new Metrics('bus-contract', METRIC_DEFINITIONS, { defaultMetrics: false });
        const bus = await harness.bus({ metrics });
        const value = async (name: string, labels: Record<string, string> = {}) => sampleSum(parsePrometheusText(await metrics.render()), name, labels);
        const lag = { group: 'contract.metrics', topic: TOPICS.proposalSubmitted };
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const handled: number[] = [];
        const sub = await bus.subscribe({
          group: lag.group,
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              const seq = e.data.parameters.seq as number;
              if (seq === 99) throw new RefusedEvent('refused for good');
              await gate;
              handled.push(seq);
            },
          },
        });
        try {
          // First a refusal (dead-lettered before anything waits: a Kafka consumer fetches nothing new while a batch waits).
          await bus.publish(TOPICS.proposalSubmitted, proposalEvent('refused', 99));
          await eventuallyAsync(async () => expect(await value('countersign_dead_letters_total', { topic: TOPICS.proposalSubmitted })).toBe(1));
          // Then three events of one key wait behind the gate: the group is at least three behind until they are handled.
          for (let i = 0; i < 3; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent('held', i));
          await eventuallyAsync(async () => expect(await value('countersign_kafka_consumer_lag', lag)).toBeGreaterThanOrEqual(3));
          expect(await value('countersign_dead_letters_total', { topic: dlqTopic(TOPICS.proposalSubmitted) })).toBe(0);
          // Four publishes and the dead letter's own, each acknowledged.
          expect(await value('countersign_kafka_produce_seconds_count', { topic: TOPICS.proposalSubmitted })).toBe(4);
          expect(await value('countersign_kafka_produce_seconds_count', { topic: dlqTopic(TOPICS.proposalSubmitted) })).toBe(1);
        } finally {
          // Never left waiting: a consumer closes only once its batch is done.
          release();
        }
        await eventually(() => expect(handled).toEqual([0, 1, 2]));
        await eventuallyAsync(async () => expect(await value('countersign_kafka_consumer_lag', lag)).toBe(0));
        // Every delivery timed: the refused one and the three held ones.
        expect(await value('countersign_kafka_handle_seconds_count', { topic: TOPICS.proposalSubmitted })).toBe(4);
        expect(await value('countersign_kafka_handle_seconds_bucket', { topic: TOPICS.proposalSubmitted, le: '+Inf' })).toBe(4);
        // The group's series goes with its subscription.
        await sub.close();
        expect((await metrics.render()).includes('group="contract.metrics"')).toBe(false);
      },
      timeoutMs,
    );

    it(
      'refuses to publish an event that violates its schema',
      async () => {
        const bus = await harness.bus();
        const bad = { ...proposalEvent('k', 1), correlationId: '' };
        await expect(bus.publish(TOPICS.proposalSubmitted, bad)).rejects.toThrow(/violates its schema: correlationId/);
      },
      timeoutMs,
    );

    it(
      'tells a replayed subscription when it has caught up: at once on an empty topic, after the last event otherwise',
      async () => {
        const bus = await harness.bus();
        let emptyCaughtUp = false;
        const empty = await bus.subscribe({
          group: 'contract.catch-up.empty',
          replay: true,
          handlers: { [TOPICS.proposalSubmitted]: async () => undefined },
          onCaughtUp: () => (emptyCaughtUp = true),
        });
        await eventually(() => expect(emptyCaughtUp).toBe(true));
        await empty.close();
        for (let i = 0; i < 10; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent(`catch-${i % 4}`, i));
        const seen: number[] = [];
        let seenWhenCaughtUp = -1;
        await bus.subscribe({
          group: 'contract.catch-up.full',
          replay: true,
          concurrency: 1,
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void seen.push(e.data.parameters.seq as number) },
          onCaughtUp: () => (seenWhenCaughtUp = seen.length),
        });
        await eventually(() => expect(seenWhenCaughtUp).toBe(10));
      },
      timeoutMs,
    );
  });
}
