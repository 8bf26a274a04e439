import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { createRootCa, describeCertificate, ensureCa, issueCertificate, issueIntermediateCa, issueToDir, readTlsFiles } from './index';

const HOUR = 3600_000;
const later = (ms: number) => new Date(Date.now() + ms);

/** A real mutual-TLS handshake on 127.0.0.1: resolves with the client certificate's CN the server saw, or rejects. */
function handshake(server: { ca: string; cert: string; key: string }, client: { ca: string; cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const srv = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (socket) => {
      socket.end(String(socket.getPeerCertificate().subject?.CN));
    });
    srv.on('tlsClientError', () => undefined);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      const socket = tls.connect({ ...client, host: '127.0.0.1', port, servername: 'localhost' }, () => undefined);
      let got = '';
      socket.on('data', (b) => (got += b.toString()));
      socket.on('end', () => {
        srv.close();
        if (got) resolve(got);
        else reject(new Error('closed without an answer'));
      });
      socket.on('error', (e) => {
        srv.close();
        reject(e);
      });
    });
  });
}

describe('private PKI', () => {
  it('issues a root, an intermediate and leaves whose chain Node verifies in a mutual-TLS handshake', async () => {
    const root = await createRootCa('test-root', { notAfter: later(24 * HOUR) });
    const ca = await issueIntermediateCa(root, 'test-issuing', { notAfter: later(12 * HOUR) });
    const broker = await issueCertificate(ca, 'broker', 'server+client', { notAfter: later(HOUR) });
    const executor = await issueCertificate(ca, 'executor', 'client', { notAfter: later(HOUR) });
    const seen = await handshake(
      { ca: root.certPem, cert: broker.chainPem, key: broker.keyPem },
      { ca: root.certPem, cert: executor.chainPem, key: executor.keyPem },
    );
    expect(seen).toBe('executor');
    const leaf = new X509Certificate(executor.certPem);
    expect(leaf.subject).toBe('CN=executor');
    expect(leaf.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
  });

  it('a client certificate from another CA, or expired, is refused by the handshake', async () => {
    const root = await createRootCa('test-root', { notAfter: later(24 * HOUR) });
    const ca = await issueIntermediateCa(root, 'test-issuing', { notAfter: later(12 * HOUR) });
    const broker = await issueCertificate(ca, 'broker', 'server+client', { notAfter: later(HOUR) });
    const server = { ca: root.certPem, cert: broker.chainPem, key: broker.keyPem };
    const otherRoot = await createRootCa('other-root', { notAfter: later(24 * HOUR) });
    const stranger = await issueCertificate(otherRoot, 'executor', 'client', { notAfter: later(HOUR) });
    await expect(handshake(server, { ca: root.certPem, cert: stranger.chainPem, key: stranger.keyPem })).rejects.toThrow();
    const expired = await issueCertificate(ca, 'executor', 'client', { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) });
    await expect(handshake(server, { ca: root.certPem, cert: expired.chainPem, key: expired.keyPem })).rejects.toThrow();
    const good = await issueCertificate(ca, 'executor', 'client', { notAfter: later(HOUR) });
    await expect(handshake(server, { ca: root.certPem, cert: good.chainPem, key: good.keyPem })).resolves.toBe('executor');
  });

  it('refuses a certificate that would outlive its issuer, and a name that is not a plain host-like name', async () => {
    const root = await createRootCa('test-root', { notAfter: later(HOUR) });
    await expect(issueIntermediateCa(root, 'too-long', { notAfter: later(2 * HOUR) })).rejects.toThrow(/outlive its issuer/);
    await expect(issueCertificate(root, 'CN=admin,O=evil', 'client', { notAfter: later(60_000) })).rejects.toThrow(/letters, digits/);
  });

  it('a PKI directory: made once, reused while fresh, remade when close to its end; keys are private files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pki-'));
    const lifetimes = { rootMs: 72 * HOUR, intermediateMs: 36 * HOUR };
    const ca = await ensureCa(dir, lifetimes);
    const again = await ensureCa(dir, lifetimes, later(11 * HOUR));
    expect(again.serialNumber).toBe(ca.serialNumber);
    // Within a day of its end (the default margin), the CA is made anew.
    const renewed = await ensureCa(dir, lifetimes, later(13 * HOUR));
    expect(renewed.serialNumber).not.toBe(ca.serialNumber);
    const issued = await issueToDir(dir, 'orchestrator', 'server+client', HOUR);
    expect(describeCertificate(readFileSync(join(dir, 'orchestrator.pem'), 'utf8')).commonName).toBe('orchestrator');
    expect(statSync(join(dir, 'orchestrator.key')).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'intermediate.key')).mode & 0o077).toBe(0);
    const files = readTlsFiles(dir, 'orchestrator');
    expect(files.cert).toContain(issued.certPem.trim());
    expect(await handshake(files, files)).toBe('orchestrator');
  });
});
