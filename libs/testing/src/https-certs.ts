import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, loadIssuingCa } from '@countersign/pki';

/** A service's HTTPS files (its HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE settings) and the root its clients trust. */
export interface HttpsServerFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * Issues each named service a server certificate (`CN=<name>`, SAN localhost and 127.0.0.1) from the stack's PKI
 * into `<dir>/pki/<name>.https.pem` (chain) and `.https.key` (mode 0600), for `lifetimeMs` (12 h by default, never
 * past the issuing CA). The root is written beside them as `root.pem`.
 */
export async function issueHttpsCertificates(o: {
  pkiDir: string;
  names: readonly string[];
  dir: string;
  lifetimeMs?: number;
}): Promise<Record<string, HttpsServerFiles>> {
  const ca = await loadIssuingCa(o.pkiDir);
  const dir = join(o.dir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'root.pem');
  writeFileSync(caFile, ca.rootPem);
  const out: Record<string, HttpsServerFiles> = {};
  for (const name of o.names) {
    const cert = await issueCertificate(
      ca,
      name,
      'server',
      { notAfter: new Date(Math.min(Date.now() + (o.lifetimeMs ?? 12 * 3600_000), ca.notAfter.getTime())) },
      { dns: ['localhost'], ip: ['127.0.0.1'] },
    );
    const certFile = join(dir, `${name}.https.pem`);
    const keyFile = join(dir, `${name}.https.key`);
    writeFileSync(certFile, cert.chainPem);
    writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
    out[name] = { certFile, keyFile, caFile };
  }
  return out;
}
