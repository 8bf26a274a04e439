import { randomBytes } from 'node:crypto';
import { Kafka, KafkaConfig, logLevel } from 'kafkajs';
import { KafkaParty, TOPICS } from '@countersign/contracts';
import { createRootCa, issueCertificate, IssuedCertificate, loadIssuingCa } from '@countersign/pki';
import { applyKafkaAcls, kafkaAcls, removeKafkaAcls } from './kafka-acl';
import { createTopics } from './kafka-topics';

// real: Apache Kafka's SSL listener with client certificates and KRaft's StandardAuthorizer (infra/stack.sh), the
// project's PKI (.stack/pki) and ACLs made from the topic table. Each party connects with its own certificate.
jest.setTimeout(120_000);

const plaintext = (process.env.KAFKA_BROKERS ?? '').split(',');
const ssl = (process.env.KAFKA_SSL_BROKERS ?? '').split(',');
const pkiDir = process.env.PKI_DIR ?? '';
const namespace = `acl_${randomBytes(4).toString('hex')}`;
const wire = (topic: string) => `${namespace}.${topic}`;
const PARTIES: KafkaParty[] = ['executor', 'review-queue', 'agent'];
const HOUR = 3600_000;

const admin = new Kafka({ clientId: 'acl-test-admin', brokers: plaintext, logLevel: logLevel.NOTHING }).admin();
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

/** Sends one message as `party`; resolves with 'ok' or the broker's error type (e.g. TOPIC_AUTHORIZATION_FAILED). */
async function send(party: string, topic: string): Promise<string> {
  const producer = client(certs.get(party)!).producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic: wire(topic), messages: [{ key: 'k', value: 'v' }] });
    return 'ok';
  } catch (e) {
    // kafkajs wraps a refusal it will not retry; the broker's error type is the cause's.
    const err = e as { type?: string; name: string; cause?: { type?: string } };
    return err.type ?? err.cause?.type ?? err.name;
  } finally {
    await producer.disconnect().catch(() => undefined);
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
  await createTopics(admin, [TOPICS.proposalSubmitted, TOPICS.reviewDecided, TOPICS.actionExecuted, TOPICS.policyDecided].map(wire), 1);
  await applyKafkaAcls(admin, PARTIES, namespace);
});

afterAll(async () => {
  await removeKafkaAcls(admin, PARTIES, namespace).catch(() => undefined);
  await admin
    .deleteTopics({ topics: [TOPICS.proposalSubmitted, TOPICS.reviewDecided, TOPICS.actionExecuted, TOPICS.policyDecided].map(wire) })
    .catch(() => undefined);
  await admin.disconnect();
});

describe('Kafka over mTLS with ACLs from the topic table', () => {
  it('the executor writes its own outcomes, and its certificate cannot publish a review decision or a policy decision', async () => {
    expect(await sendEventually('executor', TOPICS.actionExecuted)).toBe('ok');
    expect(await send('executor', TOPICS.reviewDecided)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await send('executor', TOPICS.policyDecided)).toBe('TOPIC_AUTHORIZATION_FAILED');
    // It joins its own group and reads what it wrote (so a refused join below is the ACL, not the listener).
    // (With retries: a new group's coordinator takes a moment to load, and a first join may be told to try again.)
    const consumer = client(certs.get('executor')!, rootPem, 5).consumer({ groupId: `${namespace}.executor.execute` });
    const got: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [wire(TOPICS.actionExecuted)], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    const deadline = Date.now() + 60_000;
    while (!got.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    expect(got[0]).toBe('v');
  });

  it('the review queue publishes review decisions', async () => {
    expect(await sendEventually('review-queue', TOPICS.reviewDecided)).toBe('ok');
    expect(await send('review-queue', TOPICS.actionExecuted)).toBe('TOPIC_AUTHORIZATION_FAILED');
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

  it('a certificate from another CA cannot connect at all, whatever its name', async () => {
    const other = await createRootCa('stranger-root', { notAfter: new Date(Date.now() + 2 * HOUR) });
    const impostor = await issueCertificate(other, 'review-queue', 'client', { notAfter: new Date(Date.now() + HOUR) });
    const producer = client(impostor).producer();
    await expect(producer.connect()).rejects.toThrow();
    await producer.disconnect().catch(() => undefined);
  });
});
