import { isIP } from 'node:net';

/** What plain HTTP means on this HOST: a development default on loopback, an exposure anywhere else. */
export function plainHttpNotice(host: string): string {
  const https = 'set HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE for HTTPS; the distributed mode always serves HTTPS';
  if (host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'))) return `Plain HTTP on loopback: a local development default (${https}).`;
  const where = host === '0.0.0.0' ? 'every network interface of this machine (HOST=0.0.0.0)' : `${host}, not loopback`;
  return `Plain HTTP on ${where}: other machines may reach it, and its tokens and proposals cross the network unencrypted (${https}).`;
}
