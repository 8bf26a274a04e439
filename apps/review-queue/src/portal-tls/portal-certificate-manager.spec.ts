// real: the manager, the file system (a temporary directory), the project's PKI issuing certificates, the metrics
// registry, the logger; fake: the certificate source is the local-CA twin of the ACME adapter (acme-portal.int-spec.ts
// runs the manager against a real ACME server).
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@countersign/logging';
import { createMetrics, Metrics } from '@countersign/metrics';
import { CertificateAuthority, createRootCa, issueCertificate } from '@countersign/pki';
import { eventually } from '@countersign/testing';
import { createLocalCaCertificateSource, LocalCaCertificateSource } from './local-ca-certificate.source';
import { PortalCertificateManager, PortalCertificateSettings } from './portal-certificate-manager';
import { PortalAcmeSettings, portalTlsOptions } from './portal-tls.settings';

const HOUR = 3600_000;
const serialOf = (file: string) => new X509Certificate(readFileSync(file, 'utf8')).serialNumber;
const count = async (metrics: Metrics, outcome: string) =>
  (await metrics.counter('countersign_acme_renewals_total').get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

describe('PortalCertificateManager', () => {
  let ca: CertificateAuthority;
  let dir: string;
  let source: LocalCaCertificateSource;
  let metrics: Metrics;
  let lines: string[];
  let now: Date;
  const managers: PortalCertificateManager[] = [];

  const manager = (o: Partial<PortalCertificateSettings> = {}) => {
    const logger = createLogger('review-queue', {
      destination: new Writable({
        write(chunk: Buffer, _e, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      }),
    });
    const m = new PortalCertificateManager(
      source,
      { hostnames: ['portal.example.test'], certDir: dir, renewWhenRemaining: 1 / 3, checkMs: 3_600_000, retryMs: 10_000, ...o },
      logger,
      metrics,
      () => now,
    );
    managers.push(m);
    return m;
  };

  beforeAll(async () => {
    ca = await createRootCa('portal-test-ca', { notAfter: new Date(Date.now() + 48 * HOUR) });
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'portal-tls-'));
    source = createLocalCaCertificateSource(ca, HOUR);
    metrics = createMetrics('review-queue');
    lines = [];
    now = new Date();
  });

  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('obtains the first certificate, then leaves it alone until less than the share of its lifetime remains', async () => {
    const m = manager();
    expect(await m.check()).toBe('renewed');
    const first = m.current().state!;
    // A Date holds whole milliseconds: a third of a lifetime that is not a multiple of 3 ms is cut to one (it failed when it was not).
    expect(first.renewAt.getTime()).toBe(Math.trunc(first.notAfter.getTime() - (first.notAfter.getTime() - first.notBefore.getTime()) / 3));
    expect(await m.check()).toBe('fresh');

    now = new Date(first.renewAt.getTime() - 1_000);
    expect(await m.check()).toBe('fresh');
    expect(source.issued).toBe(1);

    now = new Date(first.renewAt.getTime() + 1_000);
    expect(await m.check()).toBe('renewed');
    expect(m.current().state!.serialNumber).not.toBe(first.serialNumber);
    expect(await count(metrics, 'success')).toBe(2);
    const gauge = (await metrics.gauge('countersign_acme_renewal_due_timestamp_seconds').get()).values[0]?.value;
    expect(gauge).toBe(m.current().state!.renewAt.getTime() / 1000);
  });

  it('renews files that do not cover every host name, or whose key is not the certificate’s', async () => {
    const m = manager();
    expect(await m.check()).toBe('renewed');
    const serial = serialOf(m.files.certFile);

    const wider = manager({ hostnames: ['portal.example.test', 'review.example.test'] });
    expect(wider.current().reason).toMatch(/does not cover review\.example\.test/);
    expect(await wider.check()).toBe('renewed');
    expect(serialOf(m.files.certFile)).not.toBe(serial);

    const other = await issueCertificate(ca, 'portal.example.test', 'server', { notAfter: new Date(Date.now() + HOUR) }, { dns: ['portal.example.test'] });
    writeFileSync(m.files.keyFile, other.keyPem);
    expect(m.current().reason).toMatch(/does not belong to its key file/);
    expect(await m.check()).toBe('renewed');
    expect(m.current().state).toBeDefined();
  });

  it('counts a failed renewal, logs it as an alert without key material, and keeps the files in place', async () => {
    const m = manager({ renewWhenRemaining: 1 });
    expect(await m.check()).toBe('renewed');
    const chain = readFileSync(m.files.certFile, 'utf8');
    const key = readFileSync(m.files.keyFile, 'utf8');

    source.available = false;
    expect(await m.check()).toBe('failed');
    expect(readFileSync(m.files.certFile, 'utf8')).toBe(chain);
    expect(readFileSync(m.files.keyFile, 'utf8')).toBe(key);
    expect(await count(metrics, 'failure')).toBe(1);
    const alert = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.alert === 'portal-acme');
    expect(alert).toMatchObject({ level: 50, error: 'local CA portal-test-ca is unavailable' });
    expect(String(alert!.msg)).toMatch(/the current certificate stays in place/);
    expect(lines.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('refuses what a source returns for other names, writing nothing', async () => {
    const m = manager();
    const wrong = createLocalCaCertificateSource(ca, HOUR);
    const obtain = wrong.obtain.bind(wrong);
    // A source that answers with a certificate for another name (a misrouted order).
    source.obtain = () => obtain(['elsewhere.example.test']);
    expect(await m.check()).toBe('failed');
    expect(m.current().reason).toMatch(/no such file/);
    expect(lines.join('\n')).toMatch(/does not cover portal\.example\.test/);
  });

  it('keeps trying on its interval while the source fails, and recovers by itself', async () => {
    source.available = false;
    const m = manager({ checkMs: 100, retryMs: 100 });
    m.start();
    await eventually(async () => expect(await count(metrics, 'failure')).toBeGreaterThanOrEqual(3), 20_000, 20);
    source.available = true;
    await eventually(async () => expect(await count(metrics, 'success')).toBe(1), 20_000, 20);
    expect(m.current().state).toBeDefined();
  });

  it('tries a failed first order again after retryMs, doubling with each failure in a row up to checkMs, not after a whole check', async () => {
    source.available = false;
    const m = manager({ checkMs: 3_600_000, retryMs: 50 });
    expect(m.nextCheckInMs()).toBe(3_600_000);
    m.start();
    await eventually(async () => expect(await count(metrics, 'failure')).toBeGreaterThanOrEqual(3), 20_000, 20);
    const failures = await count(metrics, 'failure');
    expect(m.nextCheckInMs()).toBe(Math.min(3_600_000, 50 * 2 ** (failures - 1)));
    const alerts = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.alert === 'portal-acme');
    expect(alerts.slice(0, 3).map((a) => [a.failuresInARow, a.retryInMs])).toEqual([
      [1, 50],
      [2, 100],
      [3, 200],
    ]);
    source.available = true;
    await eventually(async () => expect(await count(metrics, 'success')).toBe(1), 20_000, 20);
    expect(m.nextCheckInMs()).toBe(3_600_000);
    expect(m.current().state).toBeDefined();
  });

  it('caps the retry at checkMs, and refuses a retry longer than the check', async () => {
    expect(() => manager({ checkMs: 1_000, retryMs: 2_000 })).toThrow(/retryMs must be in \(0, checkMs\]/);
    source.available = false;
    const m = manager({ checkMs: 200, retryMs: 100 });
    m.start();
    await eventually(async () => expect(await count(metrics, 'failure')).toBeGreaterThanOrEqual(4), 20_000, 20);
    const alerts = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.alert === 'portal-acme');
    expect(alerts.slice(0, 4).map((a) => a.retryInMs)).toEqual([100, 200, 200, 200]);
  });
});

describe('PortalAcmeSettings', () => {
  const parse = (env: Record<string, string>) => PortalAcmeSettings.safeParse(env);

  it('is off when nothing is set (no ACME)', () => {
    const r = parse({});
    expect(r.success).toBe(true);
    expect(portalTlsOptions(r.data!)).toBeUndefined();
  });

  it('needs the host names and the directory for the files with a directory, and refuses half a setup', () => {
    const missing = parse({ PORTAL_ACME_DIRECTORY_URL: 'https://127.0.0.1:14000/dir' });
    expect(missing.success).toBe(false);
    expect(missing.error!.issues.map((i) => i.path[0])).toEqual(['PORTAL_HOSTNAMES', 'PORTAL_CERT_DIR']);
    const half = parse({ PORTAL_HOSTNAMES: 'portal.example.test' });
    expect(half.success).toBe(false);
    expect(half.error!.issues[0]!.message).toMatch(/only with PORTAL_ACME_DIRECTORY_URL/);
    expect(parse({ PORTAL_ACME_DIRECTORY_URL: 'http://acme.example.test/dir', PORTAL_HOSTNAMES: 'a.test', PORTAL_CERT_DIR: '/x' }).success).toBe(false);
    expect(parse({ PORTAL_ACME_DIRECTORY_URL: 'https://acme.test/dir', PORTAL_HOSTNAMES: 'bad_name', PORTAL_CERT_DIR: '/x' }).success).toBe(false);
    expect(
      parse({ PORTAL_ACME_DIRECTORY_URL: 'https://acme.test/dir', PORTAL_HOSTNAMES: 'a.test', PORTAL_CERT_DIR: '/x', PORTAL_ACME_CA_FILE: '/nonexistent.pem' })
        .success,
    ).toBe(false);
    expect(
      parse({ PORTAL_ACME_DIRECTORY_URL: 'https://acme.test/dir', PORTAL_HOSTNAMES: 'a.test', PORTAL_CERT_DIR: '/x', PORTAL_ACME_RENEW_REMAINING: '0' })
        .success,
    ).toBe(false);
    const slow = parse({
      PORTAL_ACME_DIRECTORY_URL: 'https://acme.test/dir',
      PORTAL_HOSTNAMES: 'a.test',
      PORTAL_CERT_DIR: '/x',
      PORTAL_ACME_CHECK_MS: '1000',
      PORTAL_ACME_RETRY_MS: '5000',
    });
    expect(slow.success).toBe(false);
    expect(slow.error!.issues.map((i) => [i.path[0], i.message])).toEqual([['PORTAL_ACME_RETRY_MS', 'at most PORTAL_ACME_CHECK_MS (1000)']]);
  });

  it('gives the manager its settings, and the trust monitor the portal chain when a root is named', () => {
    const r = parse({
      PORTAL_ACME_DIRECTORY_URL: 'https://acme.test/dir',
      PORTAL_HOSTNAMES: 'Portal.Example.Test, review.example.test',
      PORTAL_CERT_DIR: '/var/lib/countersign/portal',
      PORTAL_ACME_ROOT_FILE: '/etc/countersign/acme-root.pem',
    });
    expect(r.success).toBe(true);
    const o = portalTlsOptions(r.data!)!;
    try {
      expect(o.settings).toEqual({
        hostnames: ['portal.example.test', 'review.example.test'],
        certDir: '/var/lib/countersign/portal',
        renewWhenRemaining: 1 / 3,
        checkMs: 3_600_000,
        retryMs: 10_000,
      });
      expect(o.watched).toEqual({
        owner: 'review-queue',
        purpose: 'portal-https',
        file: '/var/lib/countersign/portal/portal.pem',
        caFile: '/etc/countersign/acme-root.pem',
      });
    } finally {
      o.source.close?.();
    }
  });
});
