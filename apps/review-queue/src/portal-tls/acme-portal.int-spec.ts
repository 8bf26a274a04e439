// real: pebble (Let's Encrypt's ACME test server, Debian's package, on 127.0.0.1), acme-client, http-01 answered on a
// real loopback listener, the file system, Node's https server and client, the metrics registry, the logger;
// fake: none (the log goes to a stream the test reads).
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, get, Server } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, Logger } from '@countersign/logging';
import { createMetrics, Metrics } from '@countersign/metrics';
import { eventually, RunningPebble, startPebble } from '@countersign/testing';
import { createAcmeCertificateSource } from './acme-certificate.source';
import { PortalCertificateManager, PortalCertificateSettings } from './portal-certificate-manager';
import type { PortalCertificateSource } from './portal-certificate.source';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const chainOf = (file: string) => (readFileSync(file, 'utf8').match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));

/** Whether `chain` (leaf first) ends at `rootPem`: each certificate issued and signed by the next, the last by the root. */
function chainsTo(chain: X509Certificate[], rootPem: string): boolean {
  const links = [...chain, new X509Certificate(rootPem)];
  return links.slice(0, -1).every((c, i) => c.checkIssued(links[i + 1]) && c.verify(links[i + 1].publicKey));
}

/** GET `https://localhost:<port>/` trusting `ca` only: the body, or the TLS error's code. */
function fetchOverTls(port: number, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', servername: 'localhost', port, path: '/', ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error: ${e.code ?? e.message}`));
  });
}

const portAnswers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

async function renewals(metrics: Metrics, outcome: 'success' | 'failure'): Promise<number> {
  const m = (await metrics.counter('countersign_acme_renewals_total').get()).values.find((v) => v.labels.outcome === outcome);
  return m?.value ?? 0;
}

describe('the portal certificate from an ACME server (pebble)', () => {
  let dir: string;
  let pebble: RunningPebble;
  let source: PortalCertificateSource;
  let logLines: string[];
  let logger: Logger;
  const managers: PortalCertificateManager[] = [];
  const servers: Server[] = [];

  const manager = (certDir: string, o: Partial<PortalCertificateSettings>, metrics = createMetrics('review-queue')) => {
    const m = new PortalCertificateManager(
      source,
      { hostnames: ['localhost'], certDir, renewWhenRemaining: 1 / 3, checkMs: 3_600_000, retryMs: 1_000, ...o },
      logger,
      metrics,
    );
    managers.push(m);
    return { m, metrics, certFile: join(certDir, 'portal.pem'), keyFile: join(certDir, 'portal.key') };
  };

  /** One check that must renew; the log lines (the failure's reason) when it does not. */
  const expectRenewed = async (m: PortalCertificateManager) => {
    const outcome = await m.check();
    if (outcome !== 'renewed') throw new Error(`the check ${outcome}:\n${logLines.join('\n')}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acme-portal-'));
    pebble = await startPebble({ dir: join(dir, 'pebble') });
    source = createAcmeCertificateSource({
      directoryUrl: pebble.directoryUrl,
      caPem: pebble.caPem,
      accountKeyFile: join(dir, 'acme-account.key'),
      httpPort: pebble.httpPort,
    });
  });

  beforeEach(() => {
    logLines = [];
    logger = createLogger('review-queue', {
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      }),
    });
  });

  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.stop()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  afterAll(async () => {
    source?.close?.();
    await pebble?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('obtains a certificate for localhost that chains to the ACME root and serves HTTPS to a client trusting only that root', async () => {
    const { m, metrics, certFile, keyFile } = manager(join(dir, 'obtain'), {});
    await expectRenewed(m);

    const chain = chainOf(certFile);
    expect(chain.length).toBeGreaterThanOrEqual(2); // leaf and pebble's intermediate
    expect(chain[0].checkHost('localhost')).toBe('localhost');
    const root = await pebble.issuingRoot();
    expect(chainsTo(chain, root)).toBe(true);
    // The check can fail: pebble's HTTPS root (another CA) is not the issuing root.
    expect(chainsTo(chain, pebble.caPem)).toBe(false);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // The http-01 listener ran only during the order: nothing listens on its port now.
    expect(await portAnswers(pebble.httpPort)).toBe(false);
    expect(await renewals(metrics, 'success')).toBe(1);
    const expiry = (await metrics.gauge('countersign_acme_certificate_expiry_timestamp_seconds').get()).values[0]?.value;
    expect(expiry).toBe(Date.parse(chain[0].validTo) / 1000);

    const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (_req, res) => res.end('portal'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    expect(await fetchOverTls(port, root)).toBe('portal');
    // Trusting another root, the same client refuses the portal: the trust above is the ACME root's.
    expect(await fetchOverTls(port, pebble.caPem)).toMatch(/^error: /);

    // Not due (a fresh certificate has far more than a third of its life left): the next check leaves it alone.
    expect(await m.check()).toBe('fresh');
    expect(chainOf(certFile)[0].serialNumber).toBe(chain[0].serialNumber);
    expect(await renewals(metrics, 'success')).toBe(1);
  });

  it('renews a certificate that is due (new serial), replacing each file by a rename, never in place', async () => {
    const certDir = join(dir, 'renew');
    const first = manager(certDir, {});
    await expectRenewed(first.m);
    const before = chainOf(first.certFile)[0];
    const inodes = { cert: statSync(first.certFile).ino, key: statSync(first.keyFile).ino };

    // The same files, with a threshold that makes the fresh certificate due: less than all of its life remains.
    const { m, metrics, certFile, keyFile } = manager(certDir, { renewWhenRemaining: 1 });
    const seen = new Set<string>();
    let torn = 0;
    let reading = true;
    const reader = (async () => {
      // A reader during the renewal sees the old chain or the new one, whole: never a partial file.
      while (reading) {
        try {
          const c = chainOf(certFile);
          if (c.length < 2) torn++;
          else seen.add(c[0].serialNumber);
        } catch {
          torn++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await expectRenewed(m);
    reading = false;
    await reader;

    const after = chainOf(certFile)[0];
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(chainsTo(chainOf(certFile), await pebble.issuingRoot())).toBe(true);
    expect(after.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(readFileSync(keyFile))))).toBe(true);
    expect(torn).toBe(0);
    expect([...seen].every((s) => s === before.serialNumber || s === after.serialNumber)).toBe(true);
    // Renamed over, not rewritten: new inodes, and no temporary file left behind.
    expect(statSync(certFile).ino).not.toBe(inodes.cert);
    expect(statSync(keyFile).ino).not.toBe(inodes.key);
    expect(readdirSync(certDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await renewals(metrics, 'success')).toBe(1);
  });

  it('counts and logs a failed renewal while the ACME server is down, keeps the old certificate, and keeps trying until it is back', async () => {
    const certDir = join(dir, 'failure');
    const first = manager(certDir, {});
    await expectRenewed(first.m);
    const oldChain = readFileSync(first.certFile, 'utf8');
    const oldKey = readFileSync(first.keyFile, 'utf8');
    const accountKey = readFileSync(join(dir, 'acme-account.key'), 'utf8');

    await pebble.stop();
    const { m, metrics, certFile, keyFile } = manager(certDir, { renewWhenRemaining: 1, checkMs: 200, retryMs: 200 });
    try {
      m.start();
      // Keeps trying: more than one failure, each counted.
      await eventually(async () => expect(await renewals(metrics, 'failure')).toBeGreaterThanOrEqual(2), 60_000, 100);
      expect(await renewals(metrics, 'success')).toBe(0);
      expect(readFileSync(certFile, 'utf8')).toBe(oldChain);
      expect(readFileSync(keyFile, 'utf8')).toBe(oldKey);

      const alerts = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.alert === 'portal-acme');
      expect(alerts.length).toBeGreaterThanOrEqual(2);
      expect(alerts[0].level).toBe(50);
      expect(String(alerts[0].error)).toMatch(/ECONNREFUSED|connect/);
      const body = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[0];
      for (const line of logLines) {
        expect(line).not.toContain('PRIVATE KEY');
        expect(line).not.toContain(body(oldKey));
        expect(line).not.toContain(body(accountKey));
      }
    } finally {
      await pebble.start();
    }
    // Back: the next check renews, under pebble's new root.
    await eventually(async () => expect(await renewals(metrics, 'success')).toBe(1), 60_000, 100);
    expect(chainOf(certFile)[0].serialNumber).not.toBe(new X509Certificate(oldChain).serialNumber);
    expect(chainsTo(chainOf(certFile), await pebble.issuingRoot())).toBe(true);
    expect(existsSync(keyFile)).toBe(true);
  });
});
