// The port of the portal certificate manager: something that issues a certificate for host names. The manager decides
// when (renewal), checks what comes back and writes the files; a source only obtains. Adapters:
// `acme-certificate.source.ts` (an ACME CA: Let's Encrypt, or pebble in tests) and its twin
// `local-ca-certificate.source.ts` (the project's PKI, for the manager's unit tests and offline use).

/** A certificate and its private key, as PEM. */
export interface PortalCertificate {
  /** The leaf first, then its issuers (not the root): what a TLS server sends. */
  chainPem: string;
  /** The leaf's private key (PKCS#8). Never logged. */
  keyPem: string;
}

/** Obtains a certificate for the portal's host names. */
export interface PortalCertificateSource {
  /** A name for the log (the ACME directory URL, or the local CA's name): never a secret. */
  readonly name: string;
  /** A new certificate (and a new key) for `hostnames` (the first is the subject). Throws when it cannot. */
  obtain(hostnames: readonly string[]): Promise<PortalCertificate>;
  /** Releases what the source holds (an HTTP interceptor, a listener). */
  close?(): void;
}
