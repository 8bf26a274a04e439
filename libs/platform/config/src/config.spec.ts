import { z } from 'zod';
import { ConfigError, misspelledSettings, parseConfig, readRegularFile, settings } from './index';

const schema = z.object({ PORT: settings.port(8080), KAFKA_BROKERS: settings.csv(), DEBUG: settings.bool(false) });

describe('parseConfig', () => {
  it('returns typed settings with defaults', () => {
    const c = parseConfig(schema, { KAFKA_BROKERS: 'a:1, b:2' });
    expect(c).toEqual({ PORT: 8080, KAFKA_BROKERS: ['a:1', 'b:2'], DEBUG: false });
  });

  it('names every bad setting on one line', () => {
    expect(() => parseConfig(schema, { PORT: '99999' })).toThrow(ConfigError);
    try {
      parseConfig(schema, { PORT: 'x', DEBUG: 'maybe' });
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(/^config: /);
      expect(msg).toContain('PORT');
      expect(msg).toContain('KAFKA_BROKERS: required');
      expect(msg).toContain('DEBUG');
    }
    expect.assertions(6);
  });
});

// real: the setting shapes the mains use, on environments built here; fake: nothing.
describe('settings refuse what they would misread', () => {
  const boot = z.object({ PORT: settings.port(8080), HOST: settings.host(), HOME: settings.text('/srv/home'), EXTRA_PORT: settings.optionalPort() });
  const refused = (env: Record<string, string>) => {
    try {
      parseConfig(boot, env);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(env)}`);
  };

  it('reads a port as decimal digits only (red team: "" and " " were port 0, 0x1F90 was 8080, 1e3 was 1000)', () => {
    expect(parseConfig(boot, { PORT: '8443', EXTRA_PORT: '0' })).toMatchObject({ PORT: 8443, EXTRA_PORT: 0 });
    expect(parseConfig(boot, {})).toEqual({ PORT: 8080, HOST: '127.0.0.1', HOME: '/srv/home' });
    for (const bad of ['0x1F90', '1e3', '80.0', '+80', ' 80', '-1', '65536', '123456', 'http']) {
      expect(refused({ PORT: bad })).toBe(`config: PORT: expected a port, decimal digits from 0 to 65535 (got ${JSON.stringify(bad)})`);
    }
    expect(refused({ EXTRA_PORT: '0x10' })).toMatch(/^config: EXTRA_PORT: expected a port/);
  });

  it('refuses a setting that is set but blank, saying what the default would have been', () => {
    expect(refused({ PORT: '' })).toBe('config: PORT: set but blank: unset it for the default (8080), or give a value');
    expect(refused({ PORT: ' ' })).toBe('config: PORT: set but blank: unset it for the default (8080), or give a value');
    expect(refused({ HOST: '' })).toBe('config: HOST: set but blank: unset it for the default (127.0.0.1), or give a value');
    expect(refused({ HOME: '  ' })).toBe('config: HOME: set but blank: unset it for the default (/srv/home), or give a value');
    expect(refused({ EXTRA_PORT: '' })).toBe('config: EXTRA_PORT: set but blank: unset it, or give a value');
  });

  it('takes a host name or an IP address as HOST and refuses anything else (red team: "" failed only after the services listened)', () => {
    for (const ok of ['0.0.0.0', '10.1.2.3', '::', '::1', 'localhost', 'api.example.com', 'node-1.internal']) {
      expect(parseConfig(boot, { HOST: ok }).HOST).toBe(ok);
    }
    for (const bad of ['http://localhost', 'localhost:8080', 'a b', '-leading.example', 'under_score.example', '256.1.1.1', '10.1.2']) {
      expect(refused({ HOST: bad })).toBe(`config: HOST: expected a host name or an IP address to listen on (got ${JSON.stringify(bad)})`);
    }
  });
});

describe('settings.number', () => {
  const rate = z.object({
    PER_SECOND: settings.number(100, { min: 0.001, max: 1_000_000 }),
    BURST: settings.number(1_000, { min: 1, max: 10_000_000, integer: true }),
  });
  const read = (env: Record<string, string>) => {
    try {
      return parseConfig(rate, env);
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('reads decimal digits, with a fraction where a whole number is not asked for, and gives the default when unset', () => {
    expect(read({})).toEqual({ PER_SECOND: 100, BURST: 1_000 });
    expect(read({ PER_SECOND: '0.5', BURST: '20' })).toEqual({ PER_SECOND: 0.5, BURST: 20 });
  });

  it('refuses hex, exponents, signs, blanks, fractions of a whole number and values out of range, naming each', () => {
    for (const bad of ['0x10', '1e3', '+5', '-1', ' 5', 'Infinity', 'NaN', '.5'])
      expect(read({ PER_SECOND: bad })).toBe(`config: PER_SECOND: expected a number in decimal digits (got ${JSON.stringify(bad)})`);
    expect(read({ BURST: '2.5' })).toBe('config: BURST: expected a whole number in decimal digits (got "2.5")');
    expect(read({ PER_SECOND: '0' })).toBe('config: PER_SECOND: expected a number from 0.001 to 1000000 (got 0)');
    expect(read({ BURST: '0' })).toBe('config: BURST: expected a whole number from 1 to 10000000 (got 0)');
    expect(read({ BURST: '' })).toBe('config: BURST: set but blank: unset it for the default (1000), or give a value');
  });
});

describe('misspelledSettings (config probe, 2026-12-05: a misspelled setting was ignored)', () => {
  const base = z.object({ TRUST_KEY_FILES: z.string().optional(), PORT: z.string().optional() });
  const own = z.object({ WEBHOOK_IDEMPOTENT: z.string().optional() });

  it('names a setting within two edits of a known one, across every schema of the main', () => {
    expect(misspelledSettings([base, own], { TRUST_KEY_FILE: '/keys.json', WEBHOK_IDEMPOTENT: 'true', TRUST_KEY_FILES: '/k' })).toEqual([
      'TRUST_KEY_FILE is no setting here: did you mean TRUST_KEY_FILES? (rename it; a misspelled setting would be ignored)',
      'WEBHOK_IDEMPOTENT is no setting here: did you mean WEBHOOK_IDEMPOTENT? (rename it; a misspelled setting would be ignored)',
    ]);
  });

  it('compares in capitals too: a setting written in another case is no setting (red team, 2026-12-05)', () => {
    expect(misspelledSettings([base, own], { trust_key_files: '/k', Webhook_Idempotent: 'true' })).toEqual([
      'trust_key_files is no setting here: did you mean TRUST_KEY_FILES? (rename it; a misspelled setting would be ignored)',
      'Webhook_Idempotent is no setting here: did you mean WEBHOOK_IDEMPOTENT? (rename it; a misspelled setting would be ignored)',
    ]);
    // What a shell or npm sets in lower case is far from every setting.
    expect(misspelledSettings([base, own], { http_proxy: 'x', npm_config_loglevel: 'warn', no_proxy: 'y' })).toEqual([]);
  });

  it('leaves alone known settings, short names (HOME is two edits from HOST) and names far from every setting', () => {
    const env = { TRUST_KEY_FILES: '/k', HOME: '/root', PORTS: '1', NODE_OPTIONS: '', WEBHOOK_IDEMPOTENT: 'true' };
    expect(misspelledSettings([base, own], env)).toEqual([]);
  });
});

describe('readRegularFile', () => {
  it('reads a regular file, and refuses a named pipe at once and a file over its limit before reading it (red team, 2026-12-07)', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const { mkdtempSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
    const { tmpdir } = require('node:os') as typeof import('node:os');
    const { join } = require('node:path') as typeof import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'regular-'));
    writeFileSync(join(dir, 'a'), 'hello');
    expect(readRegularFile(join(dir, 'a')).toString()).toBe('hello');
    // A FIFO with no writer: a plain read would block this test (and the process) for good.
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(() => readRegularFile(join(dir, 'fifo'))).toThrow(expect.objectContaining({ code: 'ENOTREG' }));
    writeFileSync(join(dir, 'big'), 'x'.repeat(2048));
    expect(() => readRegularFile(join(dir, 'big'), 1024)).toThrow(expect.objectContaining({ code: 'EFBIG' }));
    expect(() => readRegularFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
