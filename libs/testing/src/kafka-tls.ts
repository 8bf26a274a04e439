import { Kafka, logLevel } from 'kafkajs';
import { applyKafkaAcls, createTopics, KafkaSasl, removeKafkaAcls } from '@countersign/bus';
import { ALL_TOPICS, COMPACTED_TOPICS, KafkaParty, RETAINED_TOPICS } from '@countersign/contracts';
import { TEST_TOPIC_PARTITIONS } from './env';
import { issuePartyCertificates } from './pki-files';

/** What a party needs to reach Kafka over mTLS: the SSL listener and its PEM files (the services' KAFKA_TLS_* settings). */
export interface KafkaTlsParty {
  brokers: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Prepares one test run's namespace on the SSL listener, as an operator would before deploying: creates its topics and
 * the ACLs of `parties` (as the admin, on the plaintext listener: `stackEnv().kafka`), and issues each party
 * a certificate (CN=<party>, from the stack's PKI, for `lifetimeMs`) into `dir`. `close` removes the ACLs again.
 */
export async function prepareKafkaTls(o: {
  admin: { brokers: string[]; sasl: KafkaSasl };
  sslBrokers: string;
  pkiDir: string;
  namespace: string;
  parties: readonly KafkaParty[];
  dir: string;
  lifetimeMs?: number;
}): Promise<{ party: (name: KafkaParty) => KafkaTlsParty; close: () => Promise<void> }> {
  const admin = new Kafka({ ...o.admin, clientId: `tls-setup-${o.namespace}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const wire = (t: string) => `${o.namespace}.${t}`;
    const existing = new Set(await admin.listTopics());
    const missing = ALL_TOPICS.map(wire).filter((t) => !existing.has(t));
    if (missing.length)
      await createTopics(admin, missing, TEST_TOPIC_PARTITIONS, undefined, new Set([...COMPACTED_TOPICS].map(wire)), new Set([...RETAINED_TOPICS].map(wire)));
    await applyKafkaAcls(admin, o.parties, o.namespace);
  } finally {
    await admin.disconnect();
  }
  const issued = await issuePartyCertificates({ pkiDir: o.pkiDir, names: o.parties, dir: o.dir, lifetimeMs: o.lifetimeMs, usage: 'client' });
  const files = new Map<KafkaParty, KafkaTlsParty>(o.parties.map((name) => [name, { brokers: o.sslBrokers, ...issued[name] }]));
  return {
    party: (name) => {
      const f = files.get(name);
      if (!f) throw new Error(`no Kafka certificate was issued for ${name}`);
      return f;
    },
    close: async () => {
      const a = new Kafka({ ...o.admin, clientId: `tls-teardown-${o.namespace}`, logLevel: logLevel.NOTHING }).admin();
      await a.connect();
      await removeKafkaAcls(a, o.parties, o.namespace).finally(() => a.disconnect());
    },
  };
}
