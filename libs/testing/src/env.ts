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

/** The real stack's addresses, as `infra/stack.sh up` wrote them (loaded by the Jest global setup). */
export function stackEnv() {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run 'npm run stack:up' (it writes .stack/stack.env)`);
    return v;
  };
  return {
    kafkaBrokers: need('KAFKA_BROKERS'),
    /**
     * The stack's plaintext listener and the admin's sign-in to it (it lets no anonymous client in): spread into a
     * KafkaBus's or a kafkajs client's options (`new KafkaBus({ ...stackEnv().kafka, clientId, … })`).
     */
    kafka: {
      brokers: need('KAFKA_BROKERS').split(','),
      sasl: { mechanism: 'plain' as const, username: need('KAFKA_SASL_USERNAME'), password: readFileSync(need('KAFKA_SASL_PASSWORD_FILE'), 'utf8').trim() },
    },
    /** The same, as a service's settings (a service started on the plaintext listener). */
    kafkaServiceEnv: {
      KAFKA_BROKERS: need('KAFKA_BROKERS'),
      KAFKA_SASL_USERNAME: need('KAFKA_SASL_USERNAME'),
      KAFKA_SASL_PASSWORD_FILE: need('KAFKA_SASL_PASSWORD_FILE'),
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
