import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { busSuite } from './bus.suite';
import { KafkaBus } from './kafka.bus';
import { stackKafka } from './stack-kafka.int-helper';

// real: Apache Kafka (infra/stack.sh); fake: nothing. Each test gets its own namespace (fresh topics and groups).
busSuite(
  'kafka',
  async () => {
    const namespace = `bus-contract-${randomBytes(4).toString('hex')}`;
    const buses: KafkaBus[] = [];
    return {
      bus: async (options) => {
        const bus = new KafkaBus({
          metrics: options?.metrics,
          consumerLagIntervalMs: 200,
          ...stackKafka(),
          clientId: 'bus-contract',
          namespace,
          partitions: 3,
          retry: { maxAttempts: 3, initialBackoffMs: 5 },
          logger: pino({ level: 'silent' }),
        });
        await bus.connect();
        buses.push(bus);
        return bus;
      },
      settled: async (group, members) => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const g = await buses[0].describeGroup(group);
          if (g.state === 'Stable' && g.members === members) return;
          if (Date.now() > deadline) throw new Error(`group ${group} did not settle: ${JSON.stringify(g)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      close: async () => {
        await buses[0]?.deleteNamespaceTopics();
        await Promise.all(buses.map((b) => b.close()));
      },
    };
  },
  90_000,
);
