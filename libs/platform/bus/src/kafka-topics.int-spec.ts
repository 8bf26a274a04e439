import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { ALL_TOPICS, COMPACTED_TOPICS, RETAINED_TOPICS, TOPICS } from '@countersign/contracts';
import { KafkaBus } from './kafka.bus';
import { createTopics } from './kafka-topics';
import { stackKafka } from './stack-kafka.int-helper';

// real: Apache Kafka (infra/stack.sh), its plaintext listener with the operator's sign-in (a super user). A topic made
// before a setting was added, or changed by hand, keeps what it had: the bus finds it at boot and gives it its settings.
jest.setTimeout(120_000);

const kafka = stackKafka();
const admin = new Kafka({ clientId: 'topics-test-admin', ...kafka, logLevel: logLevel.NOTHING }).admin();
const namespace = `topics_${randomBytes(4).toString('hex')}`;
const wire = (topic: string) => `${namespace}.${topic}`;

const settings = async (topic: string) => {
  const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: wire(topic) }], includeSynonyms: false });
  return Object.fromEntries(resources[0].configEntries.map((c) => [c.configName, c.configValue]));
};
/** Sets a topic's settings as an operator would, and waits until the broker shows them (they travel through its metadata log). */
const set = async (topic: string, configEntries: Array<{ name: string; value: string }>) => {
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: wire(topic), configEntries }] });
  await shown(topic, Object.fromEntries(configEntries.map((e) => [e.name, e.value])));
};
const shown = async (topic: string, want: Record<string, string>) => {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const have = await settings(topic);
    if (Object.entries(want).every(([k, v]) => have[k] === v)) return have;
    if (Date.now() > deadline) throw new Error(`${topic}: ${JSON.stringify(want)} not shown within 30 s (${JSON.stringify(have)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

beforeAll(async () => {
  await admin.connect();
  // As the operator makes them, each with its kind's settings.
  await createTopics(admin, ALL_TOPICS.map(wire), 1, undefined, new Set([...COMPACTED_TOPICS].map(wire)), new Set([...RETAINED_TOPICS].map(wire)));
});
afterAll(async () => {
  await admin.deleteTopics({ topics: ALL_TOPICS.map(wire) }).catch(() => undefined);
  await admin.disconnect();
});

describe("a registry topic found with other settings than its kind's", () => {
  it('is given them at boot, keeping its own other settings, and said so; a second boot finds nothing to do', async () => {
    // As an older version (or a hand) left them: the trust verdicts deleted by age, the contract changes after a day.
    await set(TOPICS.trustHealthChanged, [
      { name: 'cleanup.policy', value: 'delete' },
      { name: 'max.message.bytes', value: '200000' },
    ]);
    await set(TOPICS.contractChanged, [{ name: 'retention.ms', value: '86400000' }]);

    // What the bus says of topic settings (a fresh broker may add kafkajs' own warnings of a retried request).
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      {
        write: (l: string) => {
          const { msg } = JSON.parse(l) as { msg: string };
          if (/settings/.test(msg)) warnings.push(msg);
        },
      },
    );
    const boot = async () => {
      const bus = new KafkaBus({ ...kafka, clientId: 'topics-test', namespace, logger });
      await bus.connect();
      await bus.close();
    };
    await boot();
    expect(warnings.sort((a, b) => a.localeCompare(b))).toEqual([
      `topic ${wire(TOPICS.trustHealthChanged)} had settings other than its kind's: they are set now`,
      `topic ${wire(TOPICS.contractChanged)} had settings other than its kind's: they are set now`,
    ]);
    expect(await shown(TOPICS.trustHealthChanged, { 'cleanup.policy': 'compact', 'segment.ms': '3600000', 'min.cleanable.dirty.ratio': '0.1' })).toMatchObject({
      'max.message.bytes': '200000',
    });
    await shown(TOPICS.contractChanged, { 'retention.ms': '-1', 'retention.bytes': '-1' });

    warnings.length = 0;
    await boot();
    expect(warnings).toEqual([]);
  });
});
