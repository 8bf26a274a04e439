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
