import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, ConnectionOptions, TLSSocket } from 'node:tls';
import pino from 'pino';
import { createRootCa, issueCertificate, loadIssuingCa } from '@countersign/pki';
import { createRedis, readRedisTls, Redis, RedisTls } from './index';

// real: Redis's TLS port as infra/stack.sh configures it (client certificates required), the stack's PKI; fake: nothing.
// The refusals are seen on raw sockets, so each test names the TLS alert Redis answered with, not just "it failed".
const need = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run 'npm run stack:up' (it writes .stack/stack.env)`);
  return v;
};
const tlsUrl = need('REDIS_TLS_URL');
const plainUrl = need('REDIS_URL');
const { hostname: host, port: tlsPortText } = new URL(tlsUrl);
const tlsPort = Number(tlsPortText);
const logger = pino({ level: 'silent' });

/** The password the stack's Redis asks for (in both URLs). */
const password = decodeURIComponent(new URL(plainUrl).password);

/**
 * One PING on a raw connection to `port` (the TLS port unless named), after `AUTH <auth>` when `auth` is given:
 * Redis's replies, and the error that ended the connection if any.
 */
function pingOnce(tls: ConnectionOptions | undefined, auth?: string, port = tlsPort): Promise<{ reply: string; error?: string }> {
  const commands = `${auth === undefined ? '' : `AUTH ${auth}\r\n`}PING\r\n`;
  const lines = auth === undefined ? 1 : 2;
  return new Promise((resolve) => {
    let reply = '';
    let error: string | undefined;
    const socket = tls ? tlsConnect({ host, port, ...tls }, () => socket.write(commands)) : netConnect(port, host, () => socket.write(commands));
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.split('\r\n').length > lines) socket.end();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => resolve({ reply, error }));
  });
}

describe('Redis over mutual TLS (the stack’s TLS port)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-int-'));
  const prefix = `redis_tls_${randomBytes(4).toString('hex')}:`;
  const clients: Redis[] = [];
  let client: RedisTls;
  let ca: string;

  beforeAll(async () => {
    // A client certificate from the stack's PKI, as startDistributed issues each service one.
    const issuing = await loadIssuingCa(need('PKI_DIR'));
    const cert = await issueCertificate(issuing, 'redis-tls-int', 'client', {
      notAfter: new Date(Math.min(Date.now() + 3600_000, issuing.notAfter.getTime())),
    });
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text, { mode: 0o600 }), join(dir, name));
    ca = issuing.rootPem;
    client = readRedisTls({
      REDIS_URL: tlsUrl,
      REDIS_TLS_CA_FILE: file('root.pem', ca),
      REDIS_TLS_CERT_FILE: file('client.pem', cert.chainPem),
      REDIS_TLS_KEY_FILE: file('client.key', cert.keyPem),
    })!;
  });

  afterAll(() => Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect()))));
  const redis = (url: string, tls?: RedisTls) => {
    const r = createRedis(url, { keyPrefix: prefix, logger, tls });
    clients.push(r);
    return r;
  };

  it('a client with a certificate of the stack’s PKI writes and reads, on the TLS port of the same Redis', async () => {
    const overTls = redis(tlsUrl, client);
    await overTls.set('greeting', 'hello over TLS', 'EX', 60);
    expect(await overTls.get('greeting')).toBe('hello over TLS');
    // The connection is TLS, on the TLS port, and the server proved itself with the stack's Redis certificate…
    const stream = (overTls as unknown as { stream: TLSSocket }).stream;
    expect(stream.encrypted).toBe(true);
    expect(stream.authorized).toBe(true);
    expect(stream.getPeerCertificate().subject.CN).toBe('redis-server');
    expect(await overTls.client('INFO')).toContain(`laddr=${host}:${tlsPort} `);
    // …and it is the Redis the plaintext port serves (the operator's and the tests' observer): the same key is there.
    expect(await redis(plainUrl).get('greeting')).toBe('hello over TLS');
  });

  it('a plaintext client on the TLS port gets no answer', async () => {
    const raw = await pingOnce(undefined);
    expect(raw.reply).not.toContain('PONG');
    expect(raw.reply).toBe('');
    expect(raw.error ?? 'closed').toMatch(/ECONNRESET|closed/);
    // ioredis with a redis:// URL on that port fails too (a dependency failure to its callers, never a reply).
    const plain = new Redis(`redis://${host}:${tlsPort}`, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, connectTimeout: 3_000 });
    plain.on('error', () => undefined);
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  });

  it('a TLS client without a client certificate is refused', async () => {
    // With the right root, so the only thing missing is the certificate.
    const raw = await pingOnce({ ca, minVersion: 'TLSv1.2' });
    expect(raw).toEqual({ reply: '', error: expect.stringMatching(/^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|SSLV3_ALERT_HANDSHAKE_FAILURE)$/) });
    // The same connection with the certificate is answered: the refusal is the missing certificate, nothing else.
    await expect(pingOnce({ ca, cert: client.cert, key: client.key }, password)).resolves.toEqual({ reply: '+OK\r\n+PONG\r\n', error: undefined });
  });

  it('asks for the password on both ports: a certificate alone, no password or a wrong one gets no answer but NOAUTH or WRONGPASS', async () => {
    const withCert = { ca, cert: client.cert, key: client.key };
    expect((await pingOnce(withCert)).reply).toMatch(/^-NOAUTH /);
    expect((await pingOnce(withCert, 'not-the-password')).reply).toMatch(/^-WRONGPASS .*\r\n-NOAUTH /);
    const plainPort = Number(new URL(plainUrl).port);
    expect((await pingOnce(undefined, undefined, plainPort)).reply).toMatch(/^-NOAUTH /);
    expect((await pingOnce(undefined, 'not-the-password', plainPort)).reply).toMatch(/^-WRONGPASS .*\r\n-NOAUTH /);
    // The same connections with the password are answered: the refusals are the password, nothing else.
    expect((await pingOnce(withCert, password)).reply).toBe('+OK\r\n+PONG\r\n');
    expect((await pingOnce(undefined, password, plainPort)).reply).toBe('+OK\r\n+PONG\r\n');
  });

  it('a client certificate from a different CA is refused, even under a service’s name', async () => {
    const stranger = await createRootCa('not-the-stack', { notAfter: new Date(Date.now() + 3600_000) });
    const impostor = await issueCertificate(stranger, 'policy-engine', 'client', { notAfter: new Date(Date.now() + 1800_000) });
    const raw = await pingOnce({ ca, cert: impostor.chainPem, key: impostor.keyPem });
    expect(raw).toEqual({ reply: '', error: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' });
  });

  it('an expired client certificate of the stack’s PKI is refused', async () => {
    const issuing = await loadIssuingCa(need('PKI_DIR'));
    const expired = await issueCertificate(issuing, 'policy-engine', 'client', {
      notBefore: new Date(Math.max(Date.now() - 2 * 3600_000, issuing.notBefore.getTime())),
      notAfter: new Date(Date.now() - 60_000),
    });
    const raw = await pingOnce({ ca, cert: expired.chainPem, key: expired.keyPem });
    expect(raw).toEqual({ reply: '', error: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED' });
  });

  it('a client that trusts another root refuses the Redis server', async () => {
    const stranger = await createRootCa('not-the-stack', { notAfter: new Date(Date.now() + 3600_000) });
    const raw = await pingOnce({ ca: stranger.certPem, cert: client.cert, key: client.key });
    expect(raw.reply).toBe('');
    expect(raw.error).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  });
});
