import { issuePartyCertificates } from './pki-files';

/** What a service needs to reach Redis over mTLS: its REDIS_URL (rediss://) and REDIS_TLS_* files. */
export interface RedisTlsParty {
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The stack's Redis TLS port (`infra/stack.sh up` writes REDIS_TLS_URL: client certificates required there). */
export function redisTlsUrl(): string {
  const url = process.env.REDIS_TLS_URL;
  if (!url) throw new Error("REDIS_TLS_URL is not set: run 'npm run stack:up' (it turns Redis's TLS port on and writes .stack/stack.env)");
  return url;
}

/** A party's settings as a service reads them. */
export const redisTlsEnv = (p: RedisTlsParty): Record<string, string> => ({
  REDIS_URL: p.url,
  REDIS_TLS_CA_FILE: p.caFile,
  REDIS_TLS_CERT_FILE: p.certFile,
  REDIS_TLS_KEY_FILE: p.keyFile,
});

/**
 * Issues each named party a Redis client certificate (`CN=<name>`, client use only) from the stack's PKI into
 * `<dir>/pki/<name>.redis.pem` (chain) and `.redis.key` (mode 0600), for `lifetimeMs` (12 h by default, never past the
 * issuing CA), beside the root as `root.pem`: one certificate per service and per purpose, as for Kafka and HTTPS.
 */
export async function issueRedisClientCertificates(o: {
  pkiDir: string;
  names: readonly string[];
  dir: string;
  url?: string;
  lifetimeMs?: number;
}): Promise<Record<string, RedisTlsParty>> {
  const url = o.url ?? redisTlsUrl();
  const files = await issuePartyCertificates({ pkiDir: o.pkiDir, names: o.names, dir: o.dir, lifetimeMs: o.lifetimeMs, usage: 'client', suffix: '.redis' });
  return Object.fromEntries(Object.entries(files).map(([name, f]) => [name, { url, ...f }]));
}
