import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootCa, issueCertificate } from '@countersign/pki';
import { isTlsFailure, plaintextRedisWarning, readRedisTls, redisTlsOption } from './tls';

// real: certificates of a throwaway CA (libs/pki), files on disk; fake: nothing (no Redis: settings are checked before any connection).
describe('Redis TLS settings, checked at boot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  let files: { REDIS_TLS_CA_FILE: string; REDIS_TLS_CERT_FILE: string; REDIS_TLS_KEY_FILE: string };
  let otherKey: string;

  beforeAll(async () => {
    const notAfter = new Date(Date.now() + 3600_000);
    const ca = await createRootCa('redis-tls-spec', { notAfter });
    const cert = await issueCertificate(ca, 'policy-engine', 'client', { notAfter });
    const other = await issueCertificate(ca, 'review-queue', 'client', { notAfter });
    files = {
      REDIS_TLS_CA_FILE: file('root.pem', ca.certPem),
      REDIS_TLS_CERT_FILE: file('c.pem', cert.chainPem),
      REDIS_TLS_KEY_FILE: file('c.key', cert.keyPem),
    };
    otherKey = file('other.key', other.keyPem);
  });

  it('a rediss:// URL with the three files gives the root, the certificate and the key', () => {
    const tls = readRedisTls({ REDIS_URL: 'rediss://127.0.0.1:16379', ...files });
    expect(tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(tls?.key).toContain('BEGIN PRIVATE KEY');
    expect(redisTlsOption('rediss://127.0.0.1:16379', tls)).toMatchObject({ ca: tls!.ca, cert: tls!.cert, key: tls!.key, minVersion: 'TLSv1.2' });
  });

  it('a redis:// URL without files is plaintext', () => {
    expect(readRedisTls({ REDIS_URL: 'redis://127.0.0.1:6379' })).toBeUndefined();
    expect(redisTlsOption('redis://127.0.0.1:6379', undefined)).toBeUndefined();
  });

  it('plaintext to a host off this machine is said at boot, with the host and never the password (config probe, 2026-12-05)', () => {
    expect(plaintextRedisWarning('redis://:s3cret@redis.internal:6379/0')).toBe(
      'REDIS_URL is redis:// (plaintext) to redis.internal:6379: what is stored there, and the password, cross the network unencrypted (rediss:// for mutual TLS)',
    );
    expect(plaintextRedisWarning('redis://10.0.0.5:6379')).toMatch(/^REDIS_URL is redis:\/\/ \(plaintext\) to 10\.0\.0\.5:6379/);
    for (const quiet of ['redis://127.0.0.1:6379', 'redis://localhost:6379', 'redis://[::1]:6379', 'rediss://redis.internal:6380'])
      expect(plaintextRedisWarning(quiet)).toBeUndefined();
  });

  it('a rediss:// URL without the files names the missing settings', () => {
    expect(() => readRedisTls({ REDIS_URL: 'rediss://127.0.0.1:16379' })).toThrow(
      'REDIS_URL is rediss:// (mutual TLS): set REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE',
    );
    expect(() => readRedisTls({ REDIS_URL: 'rediss://127.0.0.1:16379', ...files, REDIS_TLS_KEY_FILE: undefined })).toThrow(
      /^REDIS_URL is rediss:\/\/ \(mutual TLS\): set REDIS_TLS_KEY_FILE \(/,
    );
    // createRedis and the boot wait refuse it too: ioredis would otherwise try the system's roots and no certificate.
    expect(() => redisTlsOption('rediss://127.0.0.1:16379', undefined)).toThrow(/REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE/);
  });

  it('TLS files with a redis:// URL are refused, not ignored', () => {
    expect(() => readRedisTls({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CERT_FILE: files.REDIS_TLS_CERT_FILE })).toThrow(
      'REDIS_TLS_CERT_FILE set but REDIS_URL is redis:// (plaintext)',
    );
    const tls = readRedisTls({ REDIS_URL: 'rediss://127.0.0.1:16379', ...files });
    expect(() => redisTlsOption('redis://127.0.0.1:6379', tls)).toThrow(/redis:\/\/ \(plaintext\) URL: use rediss:\/\//);
  });

  it('an unreadable file, a file without PEM and a key of another certificate are named', () => {
    expect(() => readRedisTls({ REDIS_URL: 'rediss://h:1', ...files, REDIS_TLS_CA_FILE: join(dir, 'nope.pem') })).toThrow(
      `REDIS_TLS_CA_FILE: cannot read ${join(dir, 'nope.pem')}`,
    );
    expect(() => readRedisTls({ REDIS_URL: 'rediss://h:1', ...files, REDIS_TLS_CERT_FILE: file('empty.pem', 'nothing') })).toThrow(
      `REDIS_TLS_CERT_FILE: ${join(dir, 'empty.pem')} holds no PEM`,
    );
    expect(() => readRedisTls({ REDIS_URL: 'rediss://h:1', ...files, REDIS_TLS_KEY_FILE: otherKey })).toThrow(
      /REDIS_TLS_KEY_FILE .*other\.key are no root, certificate and key: .*key values mismatch/,
    );
  });

  it('a URL of another scheme is refused', () => {
    expect(() => readRedisTls({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow('REDIS_URL: redis:// (plaintext) or rediss:// (mutual TLS), not http://');
  });

  it('tells TLS failures (refused certificates) from outages', () => {
    expect(isTlsFailure(Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }))).toBe(true);
    expect(isTlsFailure(Object.assign(new Error('verify'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }))).toBe(true);
    expect(isTlsFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isTlsFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isTlsFailure(new Error('Connection is closed.'))).toBe(false);
  });
});
