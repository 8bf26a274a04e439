import { ConnectionOptions, createSecureContext } from 'node:tls';
import { readPemSetting } from '@countersign/config';

/** Mutual TLS to Redis: the root to trust, this client's certificate chain and its key (PEM text). */
export interface RedisTls {
  ca: string;
  cert: string;
  key: string;
  /** The name the server's certificate must carry when the URL's host is not it (default: the host; an IP is matched against IP names). */
  servername?: string;
}

/** A service's Redis settings: a `rediss://` REDIS_URL goes with all three files, a `redis://` one with none. */
export interface RedisTlsSettings {
  REDIS_URL: string;
  REDIS_TLS_CA_FILE?: string;
  REDIS_TLS_CERT_FILE?: string;
  REDIS_TLS_KEY_FILE?: string;
}

const FILE_SETTINGS = ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const;
/** TLS 1.2 and later, as everywhere else in the platform. */
const MIN_VERSION = 'TLSv1.2' as const;

/** Whether `url` asks for TLS (`rediss://`) or not (`redis://`); any other scheme is refused. */
function isTlsUrl(url: string, name = 'REDIS_URL'): boolean {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new Error(`${name}: not a URL`);
  }
  if (protocol === 'rediss:') return true;
  if (protocol === 'redis:') return false;
  throw new Error(`${name}: redis:// (plaintext) or rediss:// (mutual TLS), not ${protocol}//`);
}

/**
 * The Redis TLS settings, read and checked at boot: with a `rediss://` REDIS_URL all three files must be set and
 * readable PEM, and the key must be the certificate's; with `redis://` none may be set (half a TLS setting is a mistake,
 * not plaintext). Every error names its setting. Returns what `createRedis` takes as `tls`, or undefined for plaintext.
 */
export function readRedisTls(settings: RedisTlsSettings): RedisTls | undefined {
  const tls = isTlsUrl(settings.REDIS_URL);
  const set = FILE_SETTINGS.filter((k) => settings[k]);
  if (!tls) {
    if (set.length) throw new Error(`${set.join(', ')} set but REDIS_URL is redis:// (plaintext): use rediss:// for mutual TLS, or unset them`);
    return undefined;
  }
  const missing = FILE_SETTINGS.filter((k) => !settings[k]);
  if (missing.length)
    throw new Error(`REDIS_URL is rediss:// (mutual TLS): set ${missing.join(', ')} (the root to trust, this service's certificate chain, its key: PEM files)`);
  const read = (name: (typeof FILE_SETTINGS)[number]) => readPemSetting(name, settings[name]!);
  const files = { ca: read('REDIS_TLS_CA_FILE'), cert: read('REDIS_TLS_CERT_FILE'), key: read('REDIS_TLS_KEY_FILE') };
  try {
    createSecureContext({ ...files, minVersion: MIN_VERSION });
  } catch (e) {
    throw new Error(
      `REDIS_TLS_CA_FILE ${settings.REDIS_TLS_CA_FILE}, REDIS_TLS_CERT_FILE ${settings.REDIS_TLS_CERT_FILE} and REDIS_TLS_KEY_FILE ${settings.REDIS_TLS_KEY_FILE} are no root, certificate and key: ${(e as Error).message}`,
    );
  }
  return files;
}

/**
 * ioredis's `tls` option for `url`, or undefined for plaintext. Refuses a `rediss://` URL without the client's files
 * (ioredis would try the system's roots and no client certificate) and files with a `redis://` URL (ioredis would
 * silently use TLS anyway): the URL says which, and the two must agree.
 */
export function redisTlsOption(url: string, tls: RedisTls | undefined): ConnectionOptions | undefined {
  const wantsTls = isTlsUrl(url, 'the Redis URL');
  if (wantsTls && !tls)
    throw new Error('a rediss:// Redis URL needs the client certificate files: set REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE');
  if (!wantsTls && tls) throw new Error('Redis TLS files given for a redis:// (plaintext) URL: use rediss://');
  if (!tls) return undefined;
  const { servername, ...pem } = tls;
  return { ...pem, ...(servername ? { servername } : {}), minVersion: MIN_VERSION };
}

/** Hosts that never leave the machine: Redis on them in plaintext is what the tests and a sidecar do. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Why a Redis URL is worth a warning at boot, or undefined: plaintext (`redis://`) to a host off this machine. Allowed
 * (a private network, a sidecar's port), but said (config probe, 2026-12-05: accepted without a word), as a plain-http
 * `WEBHOOK_URL` is: the review items, their parameters and the URL's password cross the network in clear.
 */
export function plaintextRedisWarning(url: string): string | undefined {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' || LOOPBACK.test(parsed.hostname)) return undefined;
  return `REDIS_URL is redis:// (plaintext) to ${parsed.host}: what is stored there, and the password, cross the network unencrypted (rediss:// for mutual TLS)`;
}

/**
 * A TLS failure in a connection's error: the server refused this client's certificate (an alert), or this client
 * refused the server's. Neither fixes itself by waiting, unlike a refused or reset connection.
 */
export function isTlsFailure(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    typeof code === 'string' && (/^ERR_SSL_|^ERR_TLS_CERT/.test(code) || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|DEPTH_ZERO/.test(code) || code === 'EPROTO')
  );
}
