import { createSecureContext } from 'node:tls';
import { ConfigError, readPemSetting } from '@countersign/config';
import type { Logger } from '@countersign/logging';

/** A server's certificate chain and key, as PEM files (what `HTTP_TLS_CERT_FILE` and `HTTP_TLS_KEY_FILE` name). */
export interface HttpsFiles {
  certFile: string;
  keyFile: string;
  /** How often the files are read again for a renewed certificate (default 5 s). */
  reloadMs?: number;
}

/** TLS 1.2 and later only: what every HTTPS listener of the platform accepts. */
export const HTTPS_MIN_VERSION = 'TLSv1.2' as const;
const DEFAULT_RELOAD_MS = 5_000;

/** The PEM text of the pair, checked: each file readable, and the key the certificate's (errors name the file). */
export function readHttpsFiles(files: HttpsFiles, names = { cert: 'HTTP_TLS_CERT_FILE', key: 'HTTP_TLS_KEY_FILE' }): { cert: string; key: string } {
  const cert = readPemSetting(names.cert, files.certFile);
  const key = readPemSetting(names.key, files.keyFile);
  try {
    createSecureContext({ cert, key, minVersion: HTTPS_MIN_VERSION });
  } catch (e) {
    throw new ConfigError(`${names.cert} ${files.certFile} and ${names.key} ${files.keyFile} are no certificate and key pair: ${(e as Error).message}`);
  }
  return { cert, key };
}

/** The HTTPS settings, read at boot: both or neither (half a TLS setting is a mistake, not plain HTTP). */
export function httpTls(base: { HTTP_TLS_CERT_FILE?: string; HTTP_TLS_KEY_FILE?: string }): HttpsFiles | undefined {
  const { HTTP_TLS_CERT_FILE: certFile, HTTP_TLS_KEY_FILE: keyFile } = base;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new ConfigError('HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE go together: set both (HTTPS) or neither (plain HTTP)');
  readHttpsFiles({ certFile, keyFile });
  return { certFile, keyFile };
}

/** What `setSecureContext` needs: Node's TLS server (an `https.Server` is one). */
interface SecureServer {
  setSecureContext(options: { cert: string; key: string; minVersion: typeof HTTPS_MIN_VERSION }): void;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Serves a renewed certificate without a restart: reads the files every `reloadMs` and, when they changed and form a
 * pair again, gives the server a new secure context (new connections get it; open ones keep theirs). A pair caught
 * half-written (a new certificate beside the old key) is skipped until it is whole; the old certificate stays.
 * Stops when the server closes.
 */
export function reloadHttpsFiles(server: SecureServer, files: HttpsFiles, logger: Logger, served: { cert: string; key: string }): () => void {
  let current = served.cert + served.key;
  let reported = '';
  const timer = setInterval(() => {
    let pair: { cert: string; key: string };
    try {
      pair = readHttpsFiles(files);
    } catch (e) {
      const why = (e as Error).message;
      if (why !== reported) logger.warn({ err: e }, `the HTTPS certificate could not be reloaded; the one served stays: ${why}`);
      reported = why;
      return;
    }
    reported = '';
    if (pair.cert + pair.key === current) return;
    server.setSecureContext({ ...pair, minVersion: HTTPS_MIN_VERSION });
    current = pair.cert + pair.key;
    logger.info({ certFile: files.certFile }, 'a renewed HTTPS certificate is served');
  }, files.reloadMs ?? DEFAULT_RELOAD_MS);
  timer.unref();
  const stop = () => clearInterval(timer);
  server.once('close', stop);
  return stop;
}
