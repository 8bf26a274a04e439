import { createServer as createHttpsServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { createRootCa, issueCertificate, issueIntermediateCa } from '@countersign/pki';
import { fetchTrusting } from './tls-fetch';

// real: Node's HTTPS server and TLS handshakes on 127.0.0.1 with certificates of this PKI; fake: the server's routes.
const HOUR = 3600_000;

describe('fetchTrusting', () => {
  let server: Server;
  let base: string;
  let rootPem: string;
  // A plain-HTTP server on another port (another origin): what a redirect to it carries.
  let captureServer: import('node:http').Server;
  let capture = '';
  const captured: Array<{ auth?: string; cookie?: string; body: string }> = [];

  beforeAll(async () => {
    const root = await createRootCa('fetch-root', { notAfter: new Date(Date.now() + 4 * HOUR) });
    const ca = await issueIntermediateCa(root, 'fetch-issuing', { notAfter: new Date(Date.now() + 2 * HOUR) });
    const leaf = await issueCertificate(ca, 'api', 'server', { notAfter: new Date(Date.now() + HOUR) });
    rootPem = root.certPem;
    server = createHttpsServer({ cert: leaf.chainPem, key: leaf.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/echo') {
          res.setHeader('Content-Type', 'application/json');
          res.setHeader('Set-Cookie', ['a=1', 'b=2']);
          res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'], auth: req.headers.authorization }));
        } else if (req.url === '/moved') {
          res.writeHead(303, { Location: '/echo' }).end();
        } else if (req.url === '/elsewhere') {
          res.writeHead(307, { Location: capture }).end();
        } else if (req.url === '/empty') {
          res.writeHead(204).end();
        } else if (req.url === '/hang') {
          // never answers
        } else res.writeHead(404).end('no');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { createServer } = await import('node:http');
    captureServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        captured.push({ auth: req.headers.authorization, cookie: req.headers.cookie, body });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => captureServer.listen(0, '127.0.0.1', r));
    capture = `http://127.0.0.1:${(captureServer.address() as AddressInfo).port}/downgraded`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    captureServer.closeAllConnections();
    await new Promise((r) => captureServer.close(r));
  });

  it('follows a redirect to another origin (here a plain-HTTP one) without the credentials', async () => {
    const f = fetchTrusting({ ca: rootPem });
    const res = await f(`${base}/elsewhere`, { method: 'POST', headers: { Authorization: 'Bearer secret', Cookie: 's=1' }, body: 'proposal' });
    expect(res.status).toBe(200);
    expect(captured).toEqual([{ auth: undefined, cookie: undefined, body: 'proposal' }]);
  });

  it('sends the method, headers and body over a verified connection and answers a standard Response', async () => {
    const f = fetchTrusting({ ca: rootPem });
    const res = await f(`${base}/echo`, { method: 'POST', headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' }, body: '{"x":1}' });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ method: 'POST', body: '{"x":1}', type: 'application/json', auth: 'Bearer t' });
    expect((await f(`${base}/nothing`)).status).toBe(404);
    expect(await (await f(`${base}/empty`)).text()).toBe('');
  });

  it('follows a redirect (a 303 as a GET) unless told `manual`', async () => {
    const f = fetchTrusting({ ca: rootPem });
    const followed = await f(`${base}/moved`, { method: 'POST', body: 'x' });
    expect(await followed.json()).toMatchObject({ method: 'GET', body: '' });
    const manual = await f(`${base}/moved`, { redirect: 'manual' });
    expect([manual.status, manual.headers.get('location')]).toEqual([303, '/echo']);
  });

  it('refuses a server whose certificate does not chain to the trusted root', async () => {
    const other = await createRootCa('other-root', { notAfter: new Date(Date.now() + HOUR) });
    await expect(fetchTrusting({ ca: other.certPem })(`${base}/echo`)).rejects.toThrow(/fetch failed: .*certificate/i);
  });

  it('stops at the signal: an abort rejects with its reason', async () => {
    const reason = new Error('given up');
    const controller = new AbortController();
    const pending = fetchTrusting({ ca: rootPem })(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });
});
