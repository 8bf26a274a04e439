import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaSasl } from './service-main';

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
