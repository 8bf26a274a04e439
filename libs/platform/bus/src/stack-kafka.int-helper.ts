import { readFileSync } from 'node:fs';
import type { KafkaSasl } from './kafka.bus';

/**
 * For this lib's integration tests: the stack's plaintext listener and the admin's sign-in to it, from the settings the
 * Jest global setup loads (.stack/stack.env). `@countersign/testing` has the same (`stackEnv().kafka`), but it depends
 * on this lib.
 */
export function stackKafka(): { brokers: string[]; sasl: KafkaSasl } {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run 'npm run stack:up' (it writes .stack/stack.env)`);
    return v;
  };
  return {
    brokers: need('KAFKA_BROKERS').split(','),
    sasl: { mechanism: 'plain', username: need('KAFKA_SASL_USERNAME'), password: readFileSync(need('KAFKA_SASL_PASSWORD_FILE'), 'utf8').trim() },
  };
}
