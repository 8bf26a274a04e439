import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka, KafkaConfig, logLevel } from 'kafkajs';
import pino from 'pino';
import { ALL_TOPICS, COMPACTED_TOPICS, dlqTopic, KafkaParty, RETAINED_TOPICS, TOPICS } from '@countersign/contracts';
import { createRootCa, issueCertificate, IssuedCertificate, loadIssuingCa } from '@countersign/pki';
import { applyKafkaAcls, kafkaAcls, removeKafkaAcls } from './kafka-acl';
import { KafkaBus } from './kafka.bus';
import { createTopics } from './kafka-topics';
import { stackKafka } from './stack-kafka.int-helper';

// real: Apache Kafka's SSL listener with client certificates and KRaft's StandardAuthorizer (infra/stack.sh), the
// project's PKI (.stack/pki) and ACLs made from the topic tables (who writes, who reads). Each party connects with its
// own certificate; the test's own observer (topics, ACLs, messages to read) is the admin, signed in on the plaintext
// listener (a super user).
jest.setTimeout(120_000);

const { brokers: plaintext, sasl } = stackKafka();
const ssl = (process.env.KAFKA_SSL_BROKERS ?? '').split(',');
const pkiDir = process.env.PKI_DIR ?? '';
const namespace = `acl_${randomBytes(4).toString('hex')}`;
const wire = (topic: string) => `${namespace}.${topic}`;
const PARTIES: KafkaParty[] = ['executor', 'review-queue', 'audit-writer', 'agent'];
const HOUR = 3600_000;

const admin = new Kafka({ clientId: 'acl-test-admin', brokers: plaintext, sasl, logLevel: logLevel.NOTHING }).admin();
let rootPem = '';
const certs = new Map<string, IssuedCertificate>();

/** A client of the SSL listener presenting `cert` (no retries: a refusal must show at once, not after backoff). */
const client = (cert: IssuedCertificate, ca = rootPem, retries = 0): Kafka => {
  const config: KafkaConfig = {
    clientId: `acl-test-${cert.commonName}`,
    brokers: ssl,
    ssl: { ca: [ca], cert: cert.chainPem, key: cert.keyPem, servername: 'localhost' },
    logLevel: logLevel.NOTHING,
    retry: { retries },
    connectionTimeout: 5_000,
  };
  return new Kafka(config);
};

/** The broker's error type of a kafkajs error (kafkajs wraps a refusal it will not retry: then it is the cause's). */
function errorType(e: unknown): string {
  const err = e as { type?: string; name: string; cause?: { type?: string } };
  return err.type ?? err.cause?.type ?? err.name;
}

/** Sends one message as `party`; resolves with 'ok' or the broker's error type (e.g. TOPIC_AUTHORIZATION_FAILED). */
async function send(party: string, topic: string): Promise<string> {
  const producer = client(certs.get(party)!).producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic: wire(topic), messages: [{ key: 'k', value: 'v' }] });
    return 'ok';
  } catch (e) {
    return errorType(e);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Writes one message as the admin (the operator's super user, held to no ACL): something to read. */
async function seed(topic: string, value: string): Promise<void> {
  const producer = new Kafka({ clientId: 'acl-test-seed', brokers: plaintext, sasl, logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: wire(topic), messages: [{ key: 'k', value }] });
  await producer.disconnect();
}

/**
 * Reads `topic` from the beginning as `party`, in a new group of its own (`<namespace>.<party>.…`, a group its ACLs let
 * it join): resolves with the first message's value, or the broker's error type once the consumer is refused (it then
 * stops: no restart). (With client retries: a new group's coordinator takes a moment to load, and a first join may be
 * told to try again.)
 */
async function consume(party: string, topic: string, timeoutMs = 60_000): Promise<string> {
  const consumer = client(certs.get(party)!, rootPem, 5).consumer({
    groupId: `${namespace}.${party}.acl-read-${randomBytes(3).toString('hex')}`,
    retry: { retries: 0, restartOnFailure: async () => false },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const crashed = new Promise<string>((resolve) => consumer.on(consumer.events.CRASH, ({ payload }) => resolve(errorType(payload.error))));
    const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`nothing read within ${timeoutMs} ms`), timeoutMs)));
    await consumer.connect();
    await consumer.subscribe({ topics: [wire(topic)], fromBeginning: true });
    const read = new Promise<string>((resolve) => void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) }));
    return await Promise.race([read, crashed, late]);
  } catch (e) {
    return errorType(e);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
}

/** The outcome once ACLs have reached the broker's authorizer (they travel through the metadata log): allowed sends succeed within the deadline. */
async function sendEventually(party: string, topic: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await send(party, topic);
    if (last === 'ok') return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

beforeAll(async () => {
  if (!ssl[0] || !pkiDir) throw new Error('KAFKA_SSL_BROKERS and PKI_DIR are not set: run `bash infra/stack.sh up` (it writes .stack/stack.env)');
  const ca = await loadIssuingCa(pkiDir);
  rootPem = ca.rootPem;
  for (const party of PARTIES) certs.set(party, await issueCertificate(ca, party, 'client', { notAfter: new Date(Date.now() + HOUR) }));
  await admin.connect();
  // Every registry topic, as an operator creates them: a service's bus checks at boot that all of them exist.
  await createTopics(admin, ALL_TOPICS.map(wire), 1, undefined, new Set([...COMPACTED_TOPICS].map(wire)), new Set([...RETAINED_TOPICS].map(wire)));
  await applyKafkaAcls(admin, PARTIES, namespace);
});

afterAll(async () => {
  await removeKafkaAcls(admin, PARTIES, namespace).catch(() => undefined);
  await admin.deleteTopics({ topics: ALL_TOPICS.map(wire) }).catch(() => undefined);
  await admin.disconnect();
});

describe('Kafka over mTLS with ACLs from the topic table', () => {
  it('the executor writes its own outcomes, and its certificate cannot publish a review decision or a policy decision', async () => {
    expect(await sendEventually('executor', TOPICS.actionExecuted)).toBe('ok');
    expect(await send('executor', TOPICS.reviewDecided)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await send('executor', TOPICS.policyDecided)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('the executor consumes what it acts on (review decisions), in its own group; it cannot consume proposals, revealed data or dead letters', async () => {
    await seed(TOPICS.reviewDecided, 'a review decision');
    await seed(TOPICS.proposalSubmitted, 'a proposal');
    await seed(TOPICS.reviewDataRevealed, 'a reveal');
    await seed(dlqTopic(TOPICS.reviewDecided), 'a dead letter');
    // Allowed first (the ACLs reach the authorizer through the metadata log), so the refusals below are the ACLs'.
    const deadline = Date.now() + 60_000;
    let read = await consume('executor', TOPICS.reviewDecided);
    while (read !== 'a review decision' && Date.now() < deadline) read = await consume('executor', TOPICS.reviewDecided);
    expect(read).toBe('a review decision');
    // It may see that these topics exist (DESCRIBE), join its group and subscribe: the fetch of their records is refused.
    expect(await consume('executor', TOPICS.proposalSubmitted)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await consume('executor', TOPICS.reviewDataRevealed)).toBe('TOPIC_AUTHORIZATION_FAILED');
    // It dead-letters what it cannot handle, but does not read dead letters back: the audit writer does.
    expect(await send('executor', dlqTopic(TOPICS.reviewDecided))).toBe('ok');
    expect(await consume('executor', dlqTopic(TOPICS.reviewDecided))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await consume('audit-writer', dlqTopic(TOPICS.reviewDecided))).toBe('a dead letter');
  });

  it("the executor's own bus boots on these rights: it sees every topic exists (creating none) and consumes a topic it reads", async () => {
    const executor = certs.get('executor')!;
    const logger = pino({ level: 'silent' });
    const bus = new KafkaBus({ brokers: ssl, clientId: 'executor', namespace, logger, tls: { ca: rootPem, cert: executor.chainPem, key: executor.keyPem } });
    const operator = new KafkaBus({ brokers: plaintext, sasl, clientId: 'acl-test-operator', namespace, logger });
    try {
      // A topic it could not see would be "missing", and creating it (no CREATE right) would fail the boot.
      await bus.connect();
      const got: string[] = [];
      await bus.subscribe({ group: 'executor.acl-bus', handlers: { [TOPICS.autonomyChanged]: async (e) => void got.push(e.data.flag) } });
      const data = {
        flag: 'countersign.exec.support.refund',
        actionType: 'support.refund',
        control: 'kill-switch',
        value: 'off',
        change: 'lowered',
        reason: 'acl test',
      } as const;
      await operator.emit(TOPICS.autonomyChanged, data, { subject: data.flag });
      const deadline = Date.now() + 60_000;
      while (!got.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual([data.flag]);
    } finally {
      await bus.close();
      await operator.close();
    }
  });

  it('the review queue publishes review decisions, and cannot consume what it does not act on (outcomes)', async () => {
    expect(await sendEventually('review-queue', TOPICS.reviewDecided)).toBe('ok');
    expect(await send('review-queue', TOPICS.actionExecuted)).toBe('TOPIC_AUTHORIZATION_FAILED');
    await seed(TOPICS.actionExecuted, 'an outcome');
    expect(await consume('review-queue', TOPICS.actionExecuted)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('an agent may only produce proposals: no decision, no outcome, and it cannot read or join a group', async () => {
    expect(await sendEventually('agent', TOPICS.proposalSubmitted)).toBe('ok');
    for (const topic of [TOPICS.reviewDecided, TOPICS.policyDecided, TOPICS.actionExecuted])
      expect(await send('agent', topic)).toBe('TOPIC_AUTHORIZATION_FAILED');
    const consumer = client(certs.get('agent')!, rootPem, 2).consumer({ groupId: `${namespace}.executor.execute`, retry: { retries: 0 } });
    const joined = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [wire(TOPICS.reviewDecided)], fromBeginning: true });
      await consumer.run({ eachMessage: async () => undefined });
    })();
    await expect(joined).rejects.toThrow();
    await consumer.disconnect().catch(() => undefined);
    expect(kafkaAcls('agent', namespace).map((a) => `${a.operation}:${a.resourceName}`)).toEqual([`4:${wire(TOPICS.proposalSubmitted)}`]);
  });

  it('a plaintext client, or one without a certificate, is refused by the SSL listener', async () => {
    const plain = new Kafka({
      clientId: 'acl-test-plain',
      brokers: ssl,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 5_000,
    }).producer();
    await expect(plain.connect()).rejects.toThrow();
    await plain.disconnect().catch(() => undefined);
    // TLS, trusting the broker, but presenting no client certificate.
    const anonymous = new Kafka({
      clientId: 'acl-test-anonymous',
      brokers: ssl,
      ssl: { ca: [rootPem], servername: 'localhost' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 5_000,
    }).producer();
    await expect(anonymous.connect()).rejects.toThrow();
    await anonymous.disconnect().catch(() => undefined);
  });

  it('the plaintext listener lets in no client that does not sign in as the admin: none anonymous, none with a wrong password', async () => {
    const attempt = async (extra: Partial<KafkaConfig>) => {
      const admin = new Kafka({
        clientId: 'acl-test-intruder',
        brokers: plaintext,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 5_000,
        ...extra,
      }).admin();
      try {
        await admin.connect();
        return await admin.listTopics();
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    };
    await expect(attempt({})).rejects.toThrow();
    // New objects, not copies of `sasl`: kafkajs stores a sign-in bound to the first credentials on the object it is given.
    await expect(attempt({ sasl: { mechanism: 'plain', username: 'admin', password: `${sasl.password}x` } })).rejects.toThrow(/SASL|[Aa]uthentication/);
    await expect(attempt({ sasl: { mechanism: 'plain', username: 'executor', password: sasl.password } })).rejects.toThrow(/SASL|[Aa]uthentication/);
    // The same listener, signed in: the admin sees this run's topics.
    expect(await attempt({ sasl })).toEqual(expect.arrayContaining([wire(TOPICS.proposalSubmitted)]));
  });

  it('a service whose retained topic would lose its events refuses to boot, naming the command; it may read those settings, not change them', async () => {
    const executor = certs.get('executor')!;
    const logger = pino({ level: 'silent' });
    const boot = async () => {
      const bus = new KafkaBus({ brokers: ssl, clientId: 'executor', namespace, logger, tls: { ca: rootPem, cert: executor.chainPem, key: executor.keyPem } });
      try {
        await bus.connect();
      } finally {
        await bus.close();
      }
    };
    const topic = { type: ConfigResourceTypes.TOPIC, name: wire(TOPICS.contractChanged) };
    const retention = async () =>
      (await admin.describeConfigs({ resources: [topic], includeSynonyms: false })).resources[0].configEntries.find((c) => c.configName === 'retention.ms')
        ?.configValue;
    // An operator's change reaches the broker's answers through its metadata log: waited for.
    const setRetention = async (entries: Array<{ name: string; value: string }>) => {
      await admin.alterConfigs({ validateOnly: false, resources: [{ ...topic, configEntries: entries }] });
      const deadline = Date.now() + 30_000;
      while ((await retention()) !== entries[0].value && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await retention()).toBe(entries[0].value);
    };
    // The contract changes deleted after a day, as a topic made before they were kept for ever has it.
    await setRetention([{ name: 'retention.ms', value: '86400000' }]);
    await expect(boot()).rejects.toThrow(
      new RegExp(
        `topic ${wire(TOPICS.contractChanged)} has retention.ms=86400000, and would lose events it must keep .*may not change it.*` +
          `kafka-configs --bootstrap-server <broker> --alter --entity-type topics --entity-name ${wire(TOPICS.contractChanged)} --add-config retention.ms=-1,retention.bytes=-1`,
      ),
    );
    // Unchanged by the refused boot; once the operator sets it, the service boots.
    expect(await retention()).toBe('86400000');
    await setRetention([
      { name: 'retention.ms', value: '-1' },
      { name: 'retention.bytes', value: '-1' },
    ]);
    await boot();
  });

  it('a certificate from another CA cannot connect at all, whatever its name', async () => {
    const other = await createRootCa('stranger-root', { notAfter: new Date(Date.now() + 2 * HOUR) });
    const impostor = await issueCertificate(other, 'review-queue', 'client', { notAfter: new Date(Date.now() + HOUR) });
    const producer = client(impostor).producer();
    await expect(producer.connect()).rejects.toThrow();
    await producer.disconnect().catch(() => undefined);
  });
});
