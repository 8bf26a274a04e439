import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, kafkaSasl } from './service-main';

// real: the settings a service reads at boot, and files on disk; fake: nothing.
describe('the Kafka sign-in a service reads at boot (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-sasl-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };

  it('is none without either setting (mutual TLS names the party instead)', () => {
    expect(kafkaSasl({})).toBeUndefined();
  });

  it('reads the password from its file, without the line end', () => {
    expect(kafkaSasl({ KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD_FILE: file('pw', 's3cret\n') })).toEqual({
      mechanism: 'plain',
      username: 'admin',
      password: 's3cret',
    });
  });

  it('refuses one setting without the other, a missing file and an empty one, naming the setting', () => {
    expect(() => kafkaSasl({ KAFKA_SASL_USERNAME: 'admin' })).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE go together/);
    expect(() => kafkaSasl({ KAFKA_SASL_PASSWORD_FILE: file('alone', 'x') })).toThrow(/go together/);
    expect(() => kafkaSasl({ KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD_FILE: join(dir, 'absent') })).toThrow(
      /^KAFKA_SASL_PASSWORD_FILE: cannot read .*ENOENT/,
    );
    expect(() => kafkaSasl({ KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD_FILE: file('empty', '\n') })).toThrow(/^KAFKA_SASL_PASSWORD_FILE: .* is empty$/);
  });

  it('never puts the password in its error messages', () => {
    const messages: string[] = [];
    for (const settings of [{ KAFKA_SASL_USERNAME: 'admin' }, { KAFKA_SASL_PASSWORD_FILE: file('leak', 'hunter2') }]) {
      try {
        kafkaSasl(settings);
      } catch (e) {
        messages.push((e as Error).message);
      }
    }
    expect(messages).toHaveLength(2);
    expect(messages.join('\n')).not.toContain('hunter2');
  });
});

/** The base settings a service cannot start without. */
const minimal = { KAFKA_BROKERS: '127.0.0.1:9092', AUTH_TOKENS_FILE: '/etc/countersign/tokens.json' };

describe('the partitions of the topics a service creates (KAFKA_TOPIC_PARTITIONS)', () => {
  it('is 6 unless set, and the number given when set', () => {
    expect(baseSettings.parse(minimal).KAFKA_TOPIC_PARTITIONS).toBe(6);
    expect(baseSettings.parse({ ...minimal, KAFKA_TOPIC_PARTITIONS: '2' }).KAFKA_TOPIC_PARTITIONS).toBe(2);
  });

  it('refuses zero, a fraction and a word, naming the setting', () => {
    for (const bad of ['0', '1.5', 'many']) {
      const parsed = baseSettings.safeParse({ ...minimal, KAFKA_TOPIC_PARTITIONS: bad });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['KAFKA_TOPIC_PARTITIONS']);
    }
  });
});

describe('how long a PostgreSQL statement may run (PG_STATEMENT_TIMEOUT_MS, ADR 0043)', () => {
  it('is 30 s unless set, and the time given when set', () => {
    expect(baseSettings.parse(minimal).PG_STATEMENT_TIMEOUT_MS).toBe(30_000);
    expect(baseSettings.parse({ ...minimal, PG_STATEMENT_TIMEOUT_MS: '120000' }).PG_STATEMENT_TIMEOUT_MS).toBe(120_000);
  });

  it('refuses zero (a service cannot turn it off), under a second, over an hour and a word, naming the setting', () => {
    for (const bad of ['0', '500', '3600001', '1.5', 'forever']) {
      const parsed = baseSettings.safeParse({ ...minimal, PG_STATEMENT_TIMEOUT_MS: bad });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['PG_STATEMENT_TIMEOUT_MS']);
    }
  });
});
