import { CertificateAuthority, issueCertificate } from '@countersign/pki';
import type { PortalCertificateSource } from './portal-certificate.source';

/** The local twin of the ACME source, with a switch to make it fail (a CA that is down). */
export interface LocalCaCertificateSource extends PortalCertificateSource {
  /** While false, `obtain` throws as an unreachable CA would. */
  available: boolean;
  /** How many certificates it issued. */
  readonly issued: number;
}

/**
 * Issues portal certificates from a CA of the project's PKI (libs/pki) instead of an ACME server: the same port, for
 * the manager's unit tests and for a deployment without ACME that still wants the files managed. Each certificate
 * lives `lifetimeMs` (capped by the CA's own end).
 */
export function createLocalCaCertificateSource(ca: CertificateAuthority, lifetimeMs: number): LocalCaCertificateSource {
  let issued = 0;
  const source: LocalCaCertificateSource = {
    name: `local CA ${ca.commonName}`,
    available: true,
    get issued() {
      return issued;
    },
    async obtain(hostnames) {
      if (!source.available) throw new Error(`local CA ${ca.commonName} is unavailable`);
      const cert = await issueCertificate(ca, hostnames[0], 'server', { notAfter: new Date(Date.now() + lifetimeMs) }, { dns: [...hostnames] });
      issued++;
      return { chainPem: cert.chainPem, keyPem: cert.keyPem };
    },
  };
  return source;
}
