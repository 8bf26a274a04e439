import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { fetchTrusting } from '@countersign/client';
import { CertificateAuthority, createRootCa, issueCertificate, issueIntermediateCa } from '@countersign/pki';
import { Roles, sha256Hex, TokenRegistry } from '../auth';
import { ApiRoute } from '../openapi/route-doc';
import { PlatformModule, serve } from '../platform.module';
import { rawConnection } from '../testing/raw-http';
import { httpTls } from './https-files';

// real: serve() with the platform module in a Nest app on 127.0.0.1, Node's TLS (real handshakes), the project's PKI
// (a root, an intermediate, server certificates), files on disk renewed in place; fake: nothing.
const logger = pino({ level: 'silent' });
const HOUR = 3600_000;

/** What a TLS client on 127.0.0.1:port is served: the certificate's CN and serial, verified against `ca`. */
function served(port: number, ca: string, options: ConnectionOptions = {}): Promise<{ cn: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve({ cn: String(cert.subject?.CN), serial: cert.serialNumber });
    });
    socket.once('error', reject);
  });
}

/** A plain-HTTP GET: its status, or how the connection failed. */
function plainGet(url: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 5_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (e: Error & { code?: string }) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

@Controller('echo')
class EchoController {
  @ApiRoute({ summary: 'Echoes a body', body: { type: 'object' }, ok: { description: 'what it read' } })
  @Post()
  @HttpCode(200)
  @Roles('writer')
  echo(@Body() body: unknown) {
    return { read: body };
  }
}

async function until<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('serve() over HTTPS', () => {
  let root: CertificateAuthority;
  let ca: CertificateAuthority;
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let app: { close(): Promise<void> };
  let port: number;
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];

  /** Writes a pair as a renewal would: each file through a temporary name and a rename. */
  const writePair = (pair: { chainPem: string; keyPem: string }) => {
    writeFileSync(`${keyFile}.tmp`, pair.keyPem, { mode: 0o600 });
    renameSync(`${keyFile}.tmp`, keyFile);
    writeFileSync(`${certFile}.tmp`, pair.chainPem);
    renameSync(`${certFile}.tmp`, certFile);
  };

  beforeAll(async () => {
    root = await createRootCa('serve-test-root', { notAfter: new Date(Date.now() + 24 * HOUR) });
    ca = await issueIntermediateCa(root, 'serve-test-issuing', { notAfter: new Date(Date.now() + 12 * HOUR) });
    dir = mkdtempSync(join(tmpdir(), 'serve-https-'));
    certFile = join(dir, 'api.pem');
    keyFile = join(dir, 'api.key');
    writePair(await issueCertificate(ca, 'first', 'server', { notAfter: new Date(Date.now() + HOUR) }));
    const tokens = new TokenRegistry([{ principal: 'writer', kind: 'service', roles: ['writer'], tokenSha256: sha256Hex('writer-token') }]);
    const bus = new InMemoryBus({ logger });
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens })], controllers: [EchoController] })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0, tls: { certFile, keyFile, reloadMs: 100 } });
    expect(running.scheme).toBe('https');
    app = running.app;
    port = running.port;
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a client that trusts the root, over a real TLS handshake with the chain it serves', async () => {
    const res = await fetchTrusting({ ca: root.certPem })(`https://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    await expect(served(port, root.certPem)).resolves.toMatchObject({ cn: 'first' });
  });

  it('is refused by a client that trusts another root, and gives plain HTTP no answer', async () => {
    const stranger = await createRootCa('someone-else', { notAfter: new Date(Date.now() + HOUR) });
    await expect(fetchTrusting({ ca: stranger.certPem })(`https://127.0.0.1:${port}/healthz`)).rejects.toThrow(/certificate/i);
    const plain = await plainGet(`http://127.0.0.1:${port}/healthz`);
    expect(plain.status).toBeUndefined();
    expect(plain.error).toBeTruthy();
  });

  it('refuses a client that offers nothing newer than TLS 1.1', async () => {
    // The client is let to send a TLS 1.0/1.1 hello (its own defaults would not even try): the server refuses it.
    const old = served(port, root.certPem, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    await expect(old).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    // The same client allowed TLS 1.2 is served.
    await expect(served(port, root.certPem, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: 'DEFAULT@SECLEVEL=0' })).resolves.toMatchObject({
      cn: expect.any(String),
    });
  });

  it('records each handshake it refuses (plain HTTP, an old TLS version, a malformed hello) as a refusal, and a connection that merely ends as none', async () => {
    const before = audited.length;
    expect((await plainGet(`http://127.0.0.1:${port}/healthz`)).status).toBeUndefined();
    await expect(served(port, root.certPem, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toBeTruthy();
    /** Sends `bytes` on a plain TCP connection and waits until the server closes it (or it was only opened and closed). */
    const raw = (bytes?: Buffer) =>
      new Promise<void>((resolve) => {
        const s = netConnect(port, '127.0.0.1', () => (bytes ? s.write(bytes) : s.destroy()));
        s.resume(); // the server's alert is read, so its close is seen
        s.on('error', () => resolve());
        s.on('close', () => resolve());
      });
    await raw(); // a port check: connected, then closed
    await raw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])); // a ClientHello too short to be one
    // A client that refuses this server's certificate closes the connection: nothing is refused here, nothing recorded.
    const stranger = await createRootCa('not-trusted', { notAfter: new Date(Date.now() + HOUR) });
    await expect(served(port, stranger.certPem)).rejects.toBeTruthy();
    await until(async () => {
      if (audited.length < before + 3) throw new Error(`${audited.length - before} of 3 refusals audited`);
    });
    expect(audited.slice(before).map((e) => [e.data.status, e.data.method, e.data.path, e.data.reason])).toEqual([
      [400, '', '', 'TLS handshake refused: plain HTTP sent to the HTTPS port (use https://)'],
      [400, '', '', 'TLS handshake refused: the client offers no TLS version this server accepts (TLS 1.2 or later)'],
      [400, '', '', 'TLS handshake refused: length too short'],
    ]);
    // The untrusting client's close came last and would be recorded by now: a later refusal is, and is the only one more.
    expect((await plainGet(`http://127.0.0.1:${port}/`)).status).toBeUndefined();
    await until(async () => {
      if (audited.length < before + 4) throw new Error('the last refusal is not audited yet');
    });
    expect(audited.length).toBe(before + 4);
    expect(audited.every((e) => e.actor.id === 'anonymous')).toBe(true);
  });

  it('answers Expect: 100-continue with 100 only after the guards, over TLS as over plain HTTP', async () => {
    const head = (auth: string) =>
      `POST /echo HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n`;
    const tls = { ca: root.certPem, servername: 'localhost' };
    const anonymous = await rawConnection(port, tls);
    anonymous.write(head(''));
    expect(await anonymous.next()).toMatchObject({ status: 401, headers: { connection: 'close' } });
    await anonymous.closed;
    const writer = await rawConnection(port, tls);
    writer.write(head('Authorization: Bearer writer-token\r\n'));
    expect((await writer.next()).status).toBe(100);
    writer.write('{"a":1}');
    expect(await writer.next()).toMatchObject({ status: 200, body: '{"read":{"a":1}}' });
    writer.destroy();
  });

  it('serves a renewed certificate to new connections without a restart, and keeps the old one while the files are no pair', async () => {
    const before = await served(port, root.certPem);
    const renewed = await issueCertificate(ca, 'renewed', 'server', { notAfter: new Date(Date.now() + 2 * HOUR) });
    // Half a renewal (the new certificate beside the old key): the old certificate stays served.
    writeFileSync(certFile, renewed.chainPem);
    await new Promise((r) => setTimeout(r, 300)); // three reload periods: a wrong reload would have happened
    await expect(served(port, root.certPem)).resolves.toEqual(before);
    writePair(renewed);
    const after = await until(async () => {
      const s = await served(port, root.certPem);
      if (s.cn !== 'renewed') throw new Error(`still serving ${s.cn}`);
      return s;
    });
    expect(after.serial).not.toBe(before.serial);
    expect((await fetchTrusting({ ca: root.certPem })(`https://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});

describe('HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE', () => {
  it('are both or neither, and a missing or mismatched file stops the boot naming it', async () => {
    const root = await createRootCa('settings-root', { notAfter: new Date(Date.now() + 2 * HOUR) });
    const dir = mkdtempSync(join(tmpdir(), 'http-tls-'));
    try {
      const a = await issueCertificate(root, 'a', 'server', { notAfter: new Date(Date.now() + HOUR) });
      const b = await issueCertificate(root, 'b', 'server', { notAfter: new Date(Date.now() + HOUR) });
      writeFileSync(join(dir, 'a.pem'), a.chainPem);
      writeFileSync(join(dir, 'a.key'), a.keyPem);
      writeFileSync(join(dir, 'b.key'), b.keyPem);
      expect(httpTls({})).toBeUndefined();
      expect(() => httpTls({ HTTP_TLS_CERT_FILE: join(dir, 'a.pem') })).toThrow(/go together/);
      expect(() => httpTls({ HTTP_TLS_CERT_FILE: join(dir, 'missing.pem'), HTTP_TLS_KEY_FILE: join(dir, 'a.key') })).toThrow(
        `HTTP_TLS_CERT_FILE: cannot read ${join(dir, 'missing.pem')}`,
      );
      expect(() => httpTls({ HTTP_TLS_CERT_FILE: join(dir, 'a.pem'), HTTP_TLS_KEY_FILE: join(dir, 'b.key') })).toThrow(/no certificate and key pair/);
      expect(httpTls({ HTTP_TLS_CERT_FILE: join(dir, 'a.pem'), HTTP_TLS_KEY_FILE: join(dir, 'a.key') })).toEqual({
        certFile: join(dir, 'a.pem'),
        keyFile: join(dir, 'a.key'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
