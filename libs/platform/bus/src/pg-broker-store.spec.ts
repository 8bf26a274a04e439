import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import type { Metrics } from '@countersign/metrics';
import { EmbeddedDatabase, migrate, openEmbeddedDatabase } from '@countersign/storage';
import { BROKER_STORE_MIGRATIONS } from './broker-store';
import { busSuite, eventually, proposalEvent } from './bus.suite';
import { InMemoryBroker, InMemoryBus } from './in-memory.bus';
import { createPgBrokerStore } from './pg-broker-store';

// real: the in-process broker with its log and positions in an embedded PostgreSQL (PGlite, in a temp folder); fake: nothing.
const silent = pino({ level: 'silent' });
let dir: string;
let db: EmbeddedDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'countersign-bus-'));
  db = await openEmbeddedDatabase(join(dir, 'db'));
  await migrate(db.pool, { service: 'bus', dir: BROKER_STORE_MIGRATIONS });
}, 60_000);
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const fresh = () => db.pool.query('TRUNCATE bus_messages, bus_committed_offsets, bus_log_starts');
const busOn = (broker: InMemoryBroker, metrics?: Metrics) =>
  new InMemoryBus({ broker, retry: { maxAttempts: 3, initialBackoffMs: 5 }, logger: silent, metrics, consumerLagIntervalMs: 200 });

busSuite('in-memory, stored in PostgreSQL (PGlite)', async () => {
  await fresh();
  const broker = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
  const buses: InMemoryBus[] = [];
  return {
    bus: async (options) => {
      const bus = busOn(broker, options?.metrics);
      buses.push(bus);
      return bus;
    },
    settled: async () => undefined,
    close: async () => {
      await Promise.all(buses.map((b) => b.close()));
      await broker.flush();
    },
  };
});

describe('the stored in-process broker across a restart', () => {
  beforeEach(fresh);

  it('delivers after a restart what was published but not yet handled, and not again what a group had handled', async () => {
    const first = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
    const bus = busOn(first);
    const handled: number[] = [];
    const sub = await bus.subscribe({
      group: 'restart.handled',
      handlers: { [TOPICS.proposalSubmitted]: async (e) => void handled.push(e.data.parameters.seq as number) },
    });
    for (let i = 0; i < 5; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent(`a-${i}`, i));
    await eventually(() => expect(handled.sort()).toEqual([0, 1, 2, 3, 4]));
    await sub.close();
    // Published with nobody listening, then the process stops (its memory is gone).
    for (let i = 5; i < 8; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent(`a-${i}`, i));
    await first.flush();

    const second = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
    const after: number[] = [];
    await busOn(second).subscribe({
      group: 'restart.handled',
      handlers: { [TOPICS.proposalSubmitted]: async (e) => void after.push(e.data.parameters.seq as number) },
    });
    await eventually(() => expect(after.sort()).toEqual([5, 6, 7]));
    // A group that never consumed reads the whole stored log, as a new Kafka group reads from the beginning.
    const everything: number[] = [];
    await busOn(second).subscribe({
      group: 'restart.newcomer',
      handlers: { [TOPICS.proposalSubmitted]: async (e) => void everything.push(e.data.parameters.seq as number) },
    });
    await eventually(() => expect(everything).toHaveLength(8));
    // Offsets continue after the stored ones: a new message is delivered, not hidden behind an old position.
    await busOn(second).publish(TOPICS.proposalSubmitted, proposalEvent('a-8', 8));
    await eventually(() => expect(after.sort()).toEqual([5, 6, 7, 8]));
    await second.flush();
  });

  it('resolves a publish only once its message is stored, so a publish that returned survives a crash', async () => {
    const broker = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
    await busOn(broker).publish(TOPICS.proposalSubmitted, proposalEvent('stored-1', 1));
    // No flush, no close: read straight from the store, as the next process would.
    const { messages } = await createPgBrokerStore(db.pool).load();
    expect(messages.map((m) => m.key)).toEqual(['stored-1']);
  });
});

describe('the stored log, trimmed of what every group reading a topic has handled (soak probe, 2026-12-05: it grew without bound)', () => {
  beforeEach(fresh);
  const store = () => createPgBrokerStore(db.pool);
  const keysIn = async (topic: string) =>
    (await store().load()).messages
      .filter((m) => m.topic === topic)
      .map((m) => m.key)
      .sort();
  /** Subscribes `group` to proposals and collects the subjects it handles. */
  const collect = async (broker: InMemoryBroker, group: string, options: { replay?: boolean } = {}) => {
    const seen: string[] = [];
    const sub = await busOn(broker).subscribe({ group, ...options, handlers: { [TOPICS.proposalSubmitted]: async (e) => void seen.push(e.subject) } });
    return { seen, close: () => sub.close() };
  };
  const publish = async (broker: InMemoryBroker, prefix: string, n: number) => {
    for (let i = 0; i < n; i++) await busOn(broker).publish(TOPICS.proposalSubmitted, proposalEvent(`${prefix}-${i}`, i));
  };
  const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort();

  it('drops what the slowest group has handled, keeps what it has not, and a restart resumes every group and new offsets after it', async () => {
    const first = await InMemoryBroker.open(store(), { logger: silent });
    const slow = await collect(first, 'trim.slow');
    await publish(first, 'a', 12);
    await eventually(() => expect(slow.seen).toHaveLength(12));
    await slow.close();
    const fast = await collect(first, 'trim.fast');
    await publish(first, 'b', 12);
    await eventually(() => expect(fast.seen).toHaveLength(24));
    await first.flush();

    // The slow group's stored positions are the lowest: every `a` went, every `b` it has not handled stays.
    expect(await first.trim(0)).toBe(12);
    expect(await keysIn(TOPICS.proposalSubmitted)).toEqual(names('b', 12));
    // A group new to the topic starts at what the log still holds, as a Kafka group whose offset is out of range.
    const newcomer = await collect(first, 'trim.newcomer');
    await eventually(() => expect(newcomer.seen.sort()).toEqual(names('b', 12)));
    await newcomer.close();
    await first.flush();

    const second = await InMemoryBroker.open(store(), { logger: silent });
    const resumed = await collect(second, 'trim.slow');
    await eventually(() => expect(resumed.seen.sort()).toEqual(names('b', 12)));
    const fastAgain = await collect(second, 'trim.fast');
    await second.flush();
    // Every group has handled everything now: the log keeps only the newest `keep` of each partition.
    expect(await second.trim(0)).toBe(12);
    expect(await keysIn(TOPICS.proposalSubmitted)).toEqual([]);
    await publish(second, 'c', 6);
    await eventually(() => expect(resumed.seen.filter((k) => k.startsWith('c-')).sort()).toEqual(names('c', 6)));
    await eventually(() => expect(fastAgain.seen.sort()).toEqual(names('c', 6)));
    await resumed.close();
    await fastAgain.close();
    await second.flush();

    // A restart reads partitions that begin past 0, some with nothing left: offsets go on after their start.
    const third = await InMemoryBroker.open(store(), { logger: silent });
    const late = await collect(third, 'trim.slow');
    await publish(third, 'd', 6);
    await eventually(() => expect(late.seen.sort()).toEqual(names('d', 6)));
    const { messages, starts } = await store().load();
    const ofTopic = messages.filter((m) => m.topic === TOPICS.proposalSubmitted);
    for (const m of ofTopic) expect(m.offset).toBeGreaterThanOrEqual(starts.find((s) => s.topic === m.topic && s.partition === m.partition)?.start ?? 0);
    expect(starts.filter((s) => s.topic === TOPICS.proposalSubmitted).reduce((n, s) => n + s.start, 0)).toBe(24);
    await late.close();
    await third.flush();
  });

  it('keeps the newest of each partition, a topic a group reads with nothing stored yet, and the history that is state', async () => {
    const broker = await InMemoryBroker.open(store(), { logger: silent });
    const done = await collect(broker, 'keep.done');
    await publish(broker, 'k', 30);
    await eventually(() => expect(done.seen).toHaveLength(30));
    await broker.flush();
    // The newest 100 of each partition stay by default (the start checks look up the newest events).
    expect(await broker.trim()).toBe(0);
    // A second group reading it with no stored position yet holds the whole topic.
    const stuck = await busOn(broker).subscribe({
      group: 'keep.stuck',
      handlers: { [TOPICS.proposalSubmitted]: () => new Promise<void>(() => undefined) },
    });
    expect(await broker.trim(0)).toBe(0);
    expect(await keysIn(TOPICS.proposalSubmitted)).toEqual(names('k', 30));
    await stuck.close().catch(() => undefined);

    // A compacted control topic is state: its latest message of each key is kept, whoever has handled it.
    const control = new InMemoryBus({ broker, retry: { maxAttempts: 1, initialBackoffMs: 1 }, logger: silent });
    const handled: string[] = [];
    // And so is every control topic, compacted or not: a replayed subscription may join after a trim (a slow start).
    const controls = [TOPICS.degradationModeChanged, TOPICS.flagSourceHealthChanged] as const;
    await control.subscribe({
      group: 'keep.control',
      handlers: Object.fromEntries(controls.map((t) => [t, async (e: { id: string }) => void handled.push(e.id)])),
    });
    for (const t of controls) await control.publishRaw(t, 'state', '{"not":"an event"}');
    await eventually(() => expect(broker.lag('keep.control', [...controls]).map((l) => l.lag)).toEqual([0, 0]));
    await broker.flush();
    await broker.trim(0);
    for (const t of controls) expect(await keysIn(t)).toEqual(['state']);
    await control.close();
  });

  it('compacts a compacted topic to the latest message of each key, and the next process replays only those (scale probe, 2026-12-06)', async () => {
    const change = (flag: string, reason: string) =>
      ({ flag, actionType: 'support.refund', control: 'kill-switch', value: 'off', change: 'lowered', reason }) as const;
    const emit = (bus: InMemoryBus, flag: string, reason: string) => bus.emit(TOPICS.autonomyChanged, change(flag, reason), { subject: flag });
    const first = await InMemoryBroker.open(store(), { logger: silent });
    const bus = busOn(first);
    const seen: string[] = [];
    const live = await bus.subscribe({ group: 'compact.live', handlers: { [TOPICS.autonomyChanged]: async (e) => void seen.push(e.data.reason) } });
    for (let i = 0; i < 40; i++) await emit(bus, 'countersign.exec.a', `a${i}`);
    for (let i = 0; i < 3; i++) await emit(bus, 'countersign.exec.b', `b${i}`);
    await eventually(() => expect(seen).toHaveLength(43));
    await first.flush();
    // Whoever has handled what: a later message of the same key supersedes an earlier one.
    expect(await first.trim()).toBe(41);
    expect(await keysIn(TOPICS.autonomyChanged)).toEqual(['countersign.exec.a', 'countersign.exec.b']);
    expect(await first.trim()).toBe(0);
    await live.close();
    // Written before compaction existed (or past the last trim): compacted as the log is opened, before any replay.
    for (let i = 41; i < 50; i++) await emit(bus, 'countersign.exec.a', `a${i}`);
    await first.flush();
    expect(await keysIn(TOPICS.autonomyChanged)).toHaveLength(11);

    const second = await InMemoryBroker.open(store(), { logger: silent });
    expect(await keysIn(TOPICS.autonomyChanged)).toEqual(['countersign.exec.a', 'countersign.exec.b']);
    const replayed: string[] = [];
    await busOn(second).subscribe({
      group: 'compact.replay',
      replay: true,
      handlers: { [TOPICS.autonomyChanged]: async (e) => void replayed.push(e.data.reason) },
    });
    await eventually(() => expect(replayed.sort()).toEqual(['a49', 'b2']));
    // New messages continue after the old offsets, and supersede in turn.
    await emit(busOn(second), 'countersign.exec.a', 'a50');
    await eventually(() => expect(replayed).toContain('a50'));
    await second.flush();
    expect(await second.trim()).toBe(1);
    expect(await keysIn(TOPICS.autonomyChanged)).toEqual(['countersign.exec.a', 'countersign.exec.b']);
  });

  it('keeps the newest of a topic nobody reads, and every dead letter nobody reads (scale probe, 2026-12-06)', async () => {
    const broker = await InMemoryBroker.open(store(), { logger: silent });
    const bus = busOn(broker);
    // One key: one partition.
    for (let i = 0; i < 30; i++) await bus.publishRaw('unread.topic', 'h', `{"n":${i}}`);
    for (let i = 0; i < 30; i++) await bus.publishRaw('unread.topic.dlq', 'h', `{"n":${i}}`);
    await broker.flush();
    expect(await broker.trim(10)).toBe(20);
    const { messages } = await store().load();
    expect(messages.filter((m) => m.topic === 'unread.topic').map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    expect(messages.filter((m) => m.topic === 'unread.topic.dlq')).toHaveLength(30);
  });

  it('keeps whole a topic a replayed subscription reads, which rebuilds its state from the beginning at each start', async () => {
    const broker = await InMemoryBroker.open(store(), { logger: silent });
    const durable = await collect(broker, 'replayed.durable');
    const replayed = await collect(broker, 'replayed.instance-1', { replay: true });
    await publish(broker, 'r', 10);
    await eventually(() => expect([durable.seen.length, replayed.seen.length]).toEqual([10, 10]));
    await broker.flush();
    expect(await broker.trim(0)).toBe(0);
    expect(await keysIn(TOPICS.proposalSubmitted)).toEqual(names('r', 10));
    await durable.close();
    await replayed.close();
  });
});
