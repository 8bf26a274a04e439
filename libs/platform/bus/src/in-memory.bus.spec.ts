import pino from 'pino';
import { busSuite } from './bus.suite';
import { InMemoryBroker, InMemoryBus } from './in-memory.bus';

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
