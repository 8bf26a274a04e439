import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createRootCa, issueCertificate } from '@countersign/pki';
import { fetchTrusting } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process served over HTTPS (Node's TLS, a certificate of the project's PKI); fake:
// nothing on this path. The embedded mode's default (plain HTTP on loopback) is what every other embedded test runs on.
describe('the embedded mode with HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  let rootPem: string;

  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-https-'));
    const root = await createRootCa('embedded-root', { notAfter: new Date(Date.now() + 2 * 3600_000) });
    const leaf = await issueCertificate(root, 'embedded', 'server', { notAfter: new Date(Date.now() + 3600_000) });
    rootPem = root.certPem;
    writeFileSync(join(home, 'api.pem'), leaf.chainPem);
    writeFileSync(join(home, 'api.key'), leaf.keyPem, { mode: 0o600 });
    running = await startEmbedded({
      home,
      port: 0,
      logger: pino({ level: 'silent' }),
      tls: { certFile: join(home, 'api.pem'), keyFile: join(home, 'api.key') },
    });
  }, 90_000); // a first start makes the home's database
  afterAll(() => running?.close());

  it('serves its API and the inbox over HTTPS, and names https URLs for clients and drills', async () => {
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(running.inboxUrl.startsWith(running.url)).toBe(true);
    const token = readFileSync(join(running.home, 'tokens', 'agent'), 'utf8');
    const res = await fetchTrusting({ ca: rootPem })(`${running.url}/openapi.json`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(JSON.parse(readFileSync(join(running.home, 'target.json'), 'utf8')).urls.orchestrator).toBe(running.url);
    await expect(fetch(`${running.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
  });
});
