import { webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority, CertificateUse, createRootCa, describeCertificate, IssuedCertificate, issueCertificate, issueIntermediateCa } from './pki';

/**
 * A private PKI in a directory, the layout every consumer reads:
 *   root.pem            the trust anchor (every party trusts it; nothing else)
 *   root.key            the root's key: it signs intermediates only (offline in production)
 *   intermediate.pem    the issuing CA; intermediate.key its key
 *   <name>.pem          a party's certificate followed by the intermediate (the chain it presents)
 *   <name>.key          its unencrypted PKCS#8 key (mode 0600)
 *   <name>.keystore.pem key, certificate and intermediate in one file (Kafka's `ssl.keystore.type=PEM`)
 * Files are written through a temporary name and renamed: a reader never sees half a certificate.
 */
export interface PkiLifetimes {
  /** How long the root lasts (default 30 days). */
  rootMs?: number;
  /** How long the intermediate lasts (default 7 days). */
  intermediateMs?: number;
}

const DAY = 24 * 3600_000;

function writeAtomic(path: string, text: string, mode = 0o644) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

async function importKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

/** The root and intermediate of `dir`, made when missing or when either has less than `minRemainingMs` left. */
export async function ensureCa(dir: string, lifetimes: PkiLifetimes = {}, now = new Date(), minRemainingMs = DAY): Promise<CertificateAuthority> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fresh = (file: string) =>
    existsSync(join(dir, file)) && describeCertificate(readFileSync(join(dir, file), 'utf8')).notAfter.getTime() - now.getTime() > minRemainingMs;
  if (!fresh('root.pem') || !fresh('intermediate.pem')) {
    const root = await createRootCa('countersign-root-ca', { notAfter: new Date(now.getTime() + (lifetimes.rootMs ?? 30 * DAY)) });
    const intermediate = await issueIntermediateCa(root, 'countersign-issuing-ca', {
      notAfter: new Date(now.getTime() + Math.min(lifetimes.intermediateMs ?? 7 * DAY, lifetimes.rootMs ?? 30 * DAY)),
    });
    writeAtomic(join(dir, 'root.key'), root.keyPem, 0o600);
    writeAtomic(join(dir, 'intermediate.key'), intermediate.keyPem, 0o600);
    writeAtomic(join(dir, 'intermediate.pem'), intermediate.certPem);
    writeAtomic(join(dir, 'root.pem'), root.certPem);
    return intermediate;
  }
  return loadIssuingCa(dir);
}

/** The intermediate of `dir` as a CA that can issue. */
export async function loadIssuingCa(dir: string): Promise<CertificateAuthority> {
  const certPem = readFileSync(join(dir, 'intermediate.pem'), 'utf8');
  const keyPem = readFileSync(join(dir, 'intermediate.key'), 'utf8');
  const rootPem = readFileSync(join(dir, 'root.pem'), 'utf8');
  const cert = new x509.X509Certificate(certPem);
  const d = describeCertificate(certPem);
  return {
    commonName: d.commonName,
    certPem,
    keyPem,
    chainPem: certPem,
    rootPem,
    notBefore: d.notBefore,
    notAfter: d.notAfter,
    serialNumber: d.serialNumber,
    signingKey: await importKey(keyPem),
    cert,
  };
}

/** Paths of one party's files in `dir`. */
export const partyFiles = (dir: string, name: string) => ({
  ca: join(dir, 'root.pem'),
  cert: join(dir, `${name}.pem`),
  key: join(dir, `${name}.key`),
  keystore: join(dir, `${name}.keystore.pem`),
});

/** Issues `name`'s certificate from `dir`'s intermediate for `lifetimeMs` and writes its files. */
export async function issueToDir(dir: string, name: string, use: CertificateUse, lifetimeMs: number, now = new Date()): Promise<IssuedCertificate> {
  const ca = await loadIssuingCa(dir);
  const notAfter = new Date(Math.min(now.getTime() + lifetimeMs, ca.notAfter.getTime()));
  const issued = await issueCertificate(ca, name, use, { notAfter });
  const files = partyFiles(dir, name);
  writeAtomic(files.key, issued.keyPem, 0o600);
  writeAtomic(files.cert, issued.chainPem);
  writeAtomic(files.keystore, `${issued.keyPem}\n${issued.chainPem}`, 0o600);
  return issued;
}

/** Reads a party's files for a TLS client or server (Node's `tls` options: ca, cert with chain, key). */
export function readTlsFiles(dir: string, name: string): { ca: string; cert: string; key: string } {
  const files = partyFiles(dir, name);
  return { ca: readFileSync(files.ca, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}
