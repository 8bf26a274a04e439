import { issuePartyCertificates } from './pki-files';

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
  return issuePartyCertificates({ ...o, usage: 'server', suffix: '.https', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });
}
