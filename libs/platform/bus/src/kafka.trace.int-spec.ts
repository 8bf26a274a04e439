import { randomBytes } from 'node:crypto';
import { KafkaBus } from './kafka.bus';
import { traceSuite } from './trace-context.suite';
import { stackKafka } from './stack-kafka.int-helper';

// real: Apache Kafka (infra/stack.sh: `traceparent` in record headers), the OpenTelemetry SDK; fake: the span exporter (in memory).
traceSuite(
  'kafka',
  async () => {
    const namespace = `bus-trace-${randomBytes(4).toString('hex')}`;
    const buses: KafkaBus[] = [];
    return {
      bus: async (logger) => {
        const bus = new KafkaBus({
          ...stackKafka(),
          clientId: 'bus-trace',
          namespace,
          partitions: 3,
          retry: { maxAttempts: 3, initialBackoffMs: 5 },
          logger,
        });
        await bus.connect();
        buses.push(bus);
        return bus;
      },
      close: async () => {
        await buses[0]?.deleteNamespaceTopics();
        await Promise.all(buses.map((b) => b.close()));
      },
    };
  },
  90_000,
);
