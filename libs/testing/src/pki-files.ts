import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateUse, issueCertificate, loadIssuingCa } from '@countersign/pki';

/** One party's certificate files, and the root that its peers trust (PEM). */
export interface PartyCertificateFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * Issues each named party a certificate (`CN=<name>`, for `usage`) from the stack's PKI into
 * `<dir>/pki/<name><suffix>.pem` (chain) and `<name><suffix>.key` (mode 0600), for `lifetimeMs` (12 h by default,
 * never past the issuing CA), beside the root as `root.pem`: one certificate per party and per purpose (Kafka, Redis,
 * HTTPS), so either can be renewed or revoked alone.
 */
export async function issuePartyCertificates(o: {
  pkiDir: string;
  names: readonly string[];
  dir: string;
  usage: CertificateUse;
  /** Told apart by purpose in the file names, e.g. `.https` (none for Kafka, the first). */
  suffix?: string;
  /** Names a server answers by (SAN). */
  altNames?: { dns?: string[]; ip?: string[] };
  lifetimeMs?: number;
}): Promise<Record<string, PartyCertificateFiles>> {
  const ca = await loadIssuingCa(o.pkiDir);
  const dir = join(o.dir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'root.pem');
  writeFileSync(caFile, ca.rootPem);
  const out: Record<string, PartyCertificateFiles> = {};
  for (const name of o.names) {
    const notAfter = new Date(Math.min(Date.now() + (o.lifetimeMs ?? 12 * 3600_000), ca.notAfter.getTime()));
    const cert = await issueCertificate(ca, name, o.usage, { notAfter }, o.altNames);
    const certFile = join(dir, `${name}${o.suffix ?? ''}.pem`);
    const keyFile = join(dir, `${name}${o.suffix ?? ''}.key`);
    writeFileSync(certFile, cert.chainPem);
    writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
    out[name] = { certFile, keyFile, caFile };
  }
  return out;
}
