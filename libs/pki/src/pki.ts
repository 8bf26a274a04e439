// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** ECDSA P-256 with SHA-256: small keys, fast handshakes, understood by Node, Java (Kafka) and OpenSSL alike. */
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** What a certificate may be used for: a server (TLS listener), a client (mTLS), or both (a Kafka broker is both). */
export type CertificateUse = 'server' | 'client' | 'server+client';

/** A certificate with its key, as PEM: `certPem` is the leaf alone, `chainPem` the leaf then its issuers up to (not including) the root. */
export interface IssuedCertificate {
  commonName: string;
  certPem: string;
  /** Unencrypted PKCS#8 (what Kafka's PEM keystore and Node's `tls` read). */
  keyPem: string;
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
}

/** A certificate authority that can issue: its certificate, its key and the chain above it. */
export interface CertificateAuthority extends IssuedCertificate {
  /** The root's certificate: what every party trusts. */
  rootPem: string;
  signingKey: CryptoKey;
  cert: x509.X509Certificate;
}

export interface Lifetime {
  notBefore?: Date;
  notAfter: Date;
}

const pemKey = async (key: CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
const newKeys = () => webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
/** The subject of every Countersign certificate: `CN=<name>` alone, so a Kafka principal is `User:CN=<name>`. */
const dn = (commonName: string) => {
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/i.test(commonName)) throw new Error(`certificate name ${JSON.stringify(commonName)}: letters, digits, '.' and '-' only`);
  return `CN=${commonName}`;
};
/** Clock skew between the machines that issue and check: a certificate is valid from a minute before it was made. */
const SKEW_MS = 60_000;

/** A self-signed root CA (path length 1: it signs intermediates, which sign leaves). */
export async function createRootCa(commonName: string, lifetime: Lifetime): Promise<CertificateAuthority> {
  const keys = await newKeys();
  const notBefore = lifetime.notBefore ?? new Date(Date.now() - SKEW_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: dn(commonName),
    keys,
    signingAlgorithm: SIGNING,
    notBefore,
    notAfter: lifetime.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return {
    commonName,
    certPem,
    keyPem: await pemKey(keys.privateKey),
    chainPem: certPem,
    rootPem: certPem,
    notBefore,
    notAfter: lifetime.notAfter,
    serialNumber: cert.serialNumber,
    signingKey: keys.privateKey,
    cert,
  };
}

/** An intermediate CA under `parent` (path length 0: it signs leaves only). It may not outlive its parent. */
export async function issueIntermediateCa(parent: CertificateAuthority, commonName: string, lifetime: Lifetime): Promise<CertificateAuthority> {
  const keys = await newKeys();
  const { notBefore, notAfter } = within(parent, lifetime);
  const cert = await x509.X509CertificateGenerator.create({
    subject: dn(commonName),
    issuer: parent.cert.subject,
    publicKey: keys.publicKey,
    signingKey: parent.signingKey,
    signingAlgorithm: SIGNING,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent.cert.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return {
    commonName,
    certPem,
    keyPem: await pemKey(keys.privateKey),
    chainPem: parent.rootPem === parent.certPem ? certPem : `${certPem}\n${parent.chainPem}`,
    rootPem: parent.rootPem,
    notBefore,
    notAfter,
    serialNumber: cert.serialNumber,
    signingKey: keys.privateKey,
    cert,
  };
}

/**
 * A leaf certificate for one party (a service, the broker, an agent), named `CN=<commonName>`, with the loopback
 * names as subject alternative names for a server. It may not outlive its issuer.
 */
export async function issueCertificate(
  ca: CertificateAuthority,
  commonName: string,
  use: CertificateUse,
  lifetime: Lifetime,
  names: { dns?: string[]; ip?: string[] } = { dns: ['localhost'], ip: ['127.0.0.1'] },
): Promise<IssuedCertificate> {
  const keys = await newKeys();
  const { notBefore, notAfter } = within(ca, lifetime);
  const usages = { server: [x509.ExtendedKeyUsage.serverAuth], client: [x509.ExtendedKeyUsage.clientAuth] };
  const eku = use === 'server+client' ? [...usages.server, ...usages.client] : usages[use];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
  if (use !== 'client')
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...(names.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(names.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  const cert = await x509.X509CertificateGenerator.create({
    subject: dn(commonName),
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING,
    notBefore,
    notAfter,
    extensions,
  });
  const certPem = cert.toString('pem');
  return {
    commonName,
    certPem,
    keyPem: await pemKey(keys.privateKey),
    chainPem: ca.rootPem === ca.certPem ? certPem : `${certPem}\n${ca.chainPem}`,
    notBefore,
    notAfter,
    serialNumber: cert.serialNumber,
  };
}

/** A lifetime inside the issuer's: a certificate that outlives its CA would fail verification before its own end. */
function within(issuer: { notBefore: Date; notAfter: Date; commonName: string }, lifetime: Lifetime) {
  const notBefore = lifetime.notBefore ?? new Date(Date.now() - SKEW_MS);
  if (lifetime.notAfter.getTime() > issuer.notAfter.getTime())
    throw new Error(
      `a certificate until ${lifetime.notAfter.toISOString()} would outlive its issuer ${issuer.commonName} (until ${issuer.notAfter.toISOString()})`,
    );
  if (lifetime.notAfter.getTime() <= notBefore.getTime()) throw new Error('a certificate must end after it begins');
  return { notBefore: notBefore < issuer.notBefore ? issuer.notBefore : notBefore, notAfter: lifetime.notAfter };
}

/** The validity of a PEM certificate (the first in the text), and its subject's common name. */
export function describeCertificate(pem: string): { commonName: string; issuer: string; notBefore: Date; notAfter: Date; serialNumber: string } {
  const cert = new x509.X509Certificate(pem);
  const cn = /CN=([^,]+)/.exec(cert.subject)?.[1] ?? cert.subject;
  return { commonName: cn, issuer: cert.issuer, notBefore: cert.notBefore, notAfter: cert.notAfter, serialNumber: cert.serialNumber };
}
