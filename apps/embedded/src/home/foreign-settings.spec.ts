import { foreignSettings } from './foreign-settings';

// real: the five services' settings schemas and the platform's; fake: nothing.
describe('the distributed services’ settings the embedded mode does not read', () => {
  const own = ['HOST', 'PORT', 'LOG_LEVEL', 'COUNTERSIGN_HOME', 'HTTP_TLS_CERT_FILE', 'READS_PER_SECOND'];

  it('names each one set, sorted (operator probe, 2026-12-07: WEBHOOK_URL and EXECUTION_MAX_HOLD_SECONDS were ignored without a word)', () => {
    const env = {
      WEBHOOK_URL: 'https://effects.example/hook',
      EXECUTION_MAX_HOLD_SECONDS: '60',
      KAFKA_BROKERS: '127.0.0.1:9092',
      DATABASE_URL: 'postgres://x',
      PORTAL_ACME_DIRECTORY_URL: 'https://acme.example/dir',
      IDEMPOTENCY_TTL_SECONDS: '3600',
    };
    expect(foreignSettings(env, own)).toEqual([
      'DATABASE_URL',
      'EXECUTION_MAX_HOLD_SECONDS',
      'IDEMPOTENCY_TTL_SECONDS',
      'KAFKA_BROKERS',
      'PORTAL_ACME_DIRECTORY_URL',
      'WEBHOOK_URL',
    ]);
  });

  it('leaves out what the embedded mode reads itself, what no service reads, and what is unset', () => {
    const env = {
      PORT: '8080',
      HOST: '127.0.0.1',
      HTTP_TLS_CERT_FILE: 'c.pem',
      READS_PER_SECOND: '5',
      PATH: '/usr/bin',
      COUNTERSIGN_HOME: '/h',
      WEBHOOK_URL: undefined,
    };
    expect(foreignSettings(env, own)).toEqual([]);
  });
});
