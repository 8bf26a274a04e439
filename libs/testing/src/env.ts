import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Loads `.stack/stack.env` (written by `infra/stack.sh up`) into process.env, for scripts outside Jest (the Jest
 * global setup does the same). Node parses it; a variable already set wins.
 */
export function loadStackEnvFile(file = join(__dirname, '../../../.stack/stack.env')): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: run 'npm run stack:up' first`);
  process.loadEnvFile(file);
}

/**
 * Partitions of the topics a test namespace creates. Kafka's default for Countersign is 6, but a test run makes ~40
 * namespaces of ~30 topics, and creating a 6-partition topic costs the broker three to four times the CPU of a
 * 2-partition one (8.8 s against 2.3 s for 400 topics, measured on the stack's broker). Two still spread keys over
 * partitions and over a group's members; the bus's own tests choose their counts.
 */
export const TEST_TOPIC_PARTITIONS = 2;

/** The real stack's addresses, as `infra/stack.sh up` wrote them (loaded by the Jest global setup). */
export function stackEnv() {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run 'npm run stack:up' (it writes .stack/stack.env)`);
    return v;
  };
  const kafka = {
    brokers: need('KAFKA_BROKERS').split(','),
    sasl: { mechanism: 'plain' as const, username: need('KAFKA_SASL_USERNAME'), password: readFileSync(need('KAFKA_SASL_PASSWORD_FILE'), 'utf8').trim() },
  };
  return {
    kafkaBrokers: need('KAFKA_BROKERS'),
    /**
     * The stack's plaintext listener and the admin's sign-in to it (it lets no anonymous client in): spread into a
     * kafkajs client's options (`new Kafka({ ...stackEnv().kafka, clientId })`).
     */
    kafka,
    /** `kafka` and the tests' partition count, for a KafkaBus (`new KafkaBus({ ...stackEnv().kafkaBus, clientId, … })`). */
    kafkaBus: { ...kafka, partitions: TEST_TOPIC_PARTITIONS },
    /** The same, as a service's settings (a service started on the plaintext listener). */
    kafkaServiceEnv: {
      KAFKA_BROKERS: need('KAFKA_BROKERS'),
      KAFKA_SASL_USERNAME: need('KAFKA_SASL_USERNAME'),
      KAFKA_SASL_PASSWORD_FILE: need('KAFKA_SASL_PASSWORD_FILE'),
      KAFKA_TOPIC_PARTITIONS: String(TEST_TOPIC_PARTITIONS),
    },
    /** Kafka's SSL listener (client certificates required; ACLs apply) and the private PKI its certificates come from. */
    kafkaSslBrokers: need('KAFKA_SSL_BROKERS'),
    pkiDir: need('PKI_DIR'),
    redisUrl: need('REDIS_URL'),
    databaseUrl: need('DATABASE_URL'),
    auditDatabaseUrl: need('AUDIT_DATABASE_URL'),
    unleashUrl: need('UNLEASH_URL'),
    unleashAdminToken: need('UNLEASH_ADMIN_TOKEN'),
    unleashClientToken: need('UNLEASH_CLIENT_TOKEN'),
  };
}

/** A short unique name for isolating one test file on shared infrastructure (topics, keys, databases, flags). */
export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Polls until `check` passes (then returns its value) or the deadline passes (then throws its last error). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
