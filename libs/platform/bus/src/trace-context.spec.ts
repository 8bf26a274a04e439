import { InMemoryBroker, InMemoryBus } from './in-memory.bus';
import { traceSuite } from './trace-context.suite';

// real: in-process broker, the OpenTelemetry SDK; fake: the span exporter (in memory).
traceSuite('in-memory', async () => {
  const broker = new InMemoryBroker();
  const buses: InMemoryBus[] = [];
  return {
    bus: async (logger) => {
      const bus = new InMemoryBus({ broker, retry: { maxAttempts: 3, initialBackoffMs: 5 }, logger });
      buses.push(bus);
      return bus;
    },
    close: async () => void (await Promise.all(buses.map((b) => b.close()))),
  };
});
