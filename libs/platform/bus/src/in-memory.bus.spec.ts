import pino from 'pino';
import { busSuite } from './bus.suite';
import { TOPICS } from '@countersign/contracts';
import { InMemoryBroker, InMemoryBus } from './in-memory.bus';
import { partitionFor } from './partitioner';

// real: in-process broker; fake: nothing.
busSuite('in-memory', async () => {
  const broker = new InMemoryBroker();
  const buses: InMemoryBus[] = [];
  return {
    bus: async (options) => {
      const bus = new InMemoryBus({
        broker,
        retry: { maxAttempts: 3, initialBackoffMs: 5 },
        logger: pino({ level: 'silent' }),
        metrics: options?.metrics,
        consumerLagIntervalMs: 200,
      });
      buses.push(bus);
      return bus;
    },
    settled: async () => undefined, // joining is synchronous in-process
    close: async () => void (await Promise.all(buses.map((b) => b.close()))),
  };
});

describe('the in-process broker whose store fails (disk probe, 2026-12-05: a full disk)', () => {
  it('takes nothing more, says why at /readyz, and says it is broken until a restart (so /healthz fails)', async () => {
    const disk = Object.assign(new Error('could not extend file "base/5/16394": No space left on device'), { code: '53100' });
    const broker = await InMemoryBroker.open({
      load: async () => ({ messages: [], committed: [], starts: [] }),
      append: async () => {
        throw disk;
      },
      commit: async () => undefined,
      trim: async () => undefined,
      compact: async () => undefined,
    });
    const bus = new InMemoryBus({ broker, logger: pino({ level: 'silent' }) });
    expect(bus.broken()).toBeUndefined();
    await expect(bus.healthy()).resolves.toBe(true);
    await expect(bus.publishRaw('some.topic', 'k', '{}')).rejects.toThrow(/the bus could not store a message, and takes none from now on/);
    await expect(bus.healthy()).rejects.toThrow(/the bus could not store a message, and takes none from now on: could not extend file/);
    expect(bus.broken()).toMatch(/^the bus could not store a message, and takes none from now on: .*: restart the process \(what it stored is kept\)$/);
    await bus.close();
  });
});

describe('the in-process broker asked whether it holds an event (a home start, ADR 0051)', () => {
  // real: the broker and its compaction at open; fake: the store (what the database held at the stop).
  const flag = 'countersign.autonomy.ticket.tag';
  const envelope = (id: string, time: string) => Buffer.from(JSON.stringify({ id, time, subject: flag, data: {} }));
  const open = async (messages: Array<{ topic: string; id: string; time: string }>) => {
    const partition = partitionFor(flag, 1);
    const offsets = new Map<string, number>();
    const compacted: number[] = [];
    const broker = await InMemoryBroker.open(
      {
        load: async () => ({
          messages: messages.map((m) => {
            const offset = offsets.get(m.topic) ?? 0;
            offsets.set(m.topic, offset + 1);
            return { topic: m.topic, partition, offset, key: flag, value: envelope(m.id, m.time) };
          }),
          committed: [],
          starts: [],
        }),
        append: async () => undefined,
        commit: async () => undefined,
        trim: async () => undefined,
        compact: async (c) => void compacted.push(...c.offsets),
      },
      { partitions: 1 },
    );
    return { broker, compacted };
  };

  it('on a compacted topic, an event replaced by a later one of its key counts as received; one newer than all it holds does not', async () => {
    const { broker, compacted } = await open([
      { topic: TOPICS.autonomyChanged, id: 'lowered-once', time: '2026-12-07T08:00:00.000Z' },
      { topic: TOPICS.autonomyChanged, id: 'lowered-twice', time: '2026-12-07T08:00:05.000Z' },
    ]);
    // Compacted at open: the first is gone from the log.
    expect(compacted).toEqual([0]);
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'lowered-once')).toBe(false);
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'lowered-once', { key: flag, time: '2026-12-07T08:00:00.000Z' })).toBe(true);
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'lowered-twice', { key: flag, time: '2026-12-07T08:00:05.000Z' })).toBe(true);
    // The database behind: the audit log recorded a third change it never received (its newest is older).
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'lowered-thrice', { key: flag, time: '2026-12-07T08:00:09.000Z' })).toBe(false);
    // Of the same millisecond as the newest it holds: not known to be older, so not taken as received.
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'same-ms', { key: flag, time: '2026-12-07T08:00:05.000Z' })).toBe(false);
    // Another key, or a time that is none: not received.
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'lowered-once', { key: 'countersign.autonomy.other', time: '2026-12-07T08:00:00.000Z' })).toBe(false);
    expect(broker.holdsEvent(TOPICS.autonomyChanged, 'lowered-once', { key: flag, time: 'yesterday' })).toBe(false);
  });

  it('on a topic that is not compacted, only the event itself counts', async () => {
    const { broker } = await open([
      { topic: TOPICS.actionProposed, id: 'first', time: '2026-12-07T08:00:00.000Z' },
      { topic: TOPICS.actionProposed, id: 'second', time: '2026-12-07T08:00:05.000Z' },
    ]);
    expect(broker.holdsEvent(TOPICS.actionProposed, 'first', { key: flag, time: '2026-12-07T08:00:00.000Z' })).toBe(true);
    expect(broker.holdsEvent(TOPICS.actionProposed, 'lost', { key: flag, time: '2026-12-07T08:00:01.000Z' })).toBe(false);
  });
});
