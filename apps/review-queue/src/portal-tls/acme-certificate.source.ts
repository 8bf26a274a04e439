import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { Agent, get } from 'node:https';
import { dirname } from 'node:path';
import * as acme from 'acme-client';
import { writeFileAtomically } from './atomic-write';
import type { PortalCertificateSource } from './portal-certificate.source';

export interface AcmeCertificateSourceOptions {
  /** The ACME directory (`https://acme-v02.api.letsencrypt.org/directory`; pebble's `https://127.0.0.1:<port>/dir` in tests). */
  directoryUrl: string;
  /** Roots (PEM) trusted for the directory's HTTPS, instead of Node's defaults: a private ACME server's. */
  caPem?: string;
  /** The ACME account's key (PEM): read when it exists, else made (ECDSA P-256) and written with mode 0600. */
  accountKeyFile: string;
  /**
   * The port on 127.0.0.1 where http-01 challenges are answered, only while an order is open. The CA validates on
   * port 80 of each host name: in production a reverse proxy forwards `/.well-known/acme-challenge/` to it.
   */
  httpPort: number;
  /** The account's contact (`mailto:`), optional. */
  email?: string;
  /** Each HTTP request to the ACME server gives up after this long (ms, default 30 s): a hung CA fails the renewal. */
  requestTimeoutMs?: number;
}

/** GET the directory: resolves when it answers 200, else throws with the cause (refused, TLS, status, timeout). */
function probe(url: string, agent: Agent | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => reject(new Error(`the ACME directory ${url} does not answer: ${why}`));
    const req = get(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else fail(`HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code ? `${e.code} (${e.message})` : e.message));
  });
}

const CHALLENGE_PATH = '/.well-known/acme-challenge/';

/**
 * Answers http-01 challenges on 127.0.0.1:`port` while `run` runs: the listener exists only during an order (nothing
 * listens between renewals). Only `GET /.well-known/acme-challenge/<token>` of a pending token answers, with its key
 * authorization (public by design: the CA fetches it over plain HTTP).
 */
async function withChallengeListener<T>(port: number, run: (tokens: Map<string, string>) => Promise<T>): Promise<T> {
  const tokens = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const token = req.method === 'GET' && req.url?.startsWith(CHALLENGE_PATH) ? req.url.slice(CHALLENGE_PATH.length) : undefined;
    const answer = token !== undefined ? tokens.get(token) : undefined;
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' }).end(answer ?? 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot answer http-01 challenges on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  try {
    return await run(tokens);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * The ACME adapter (acme-client 5.4): one account (its key kept in a file), one order per `obtain` with a new ECDSA
 * P-256 key, authorized by http-01 on a loopback listener that runs only during the order. acme-client keeps its HTTP
 * settings on one axios instance shared by the process: this source adds one request interceptor that applies only to
 * its directory's origin (its trusted roots, its timeout) and removes it on `close()`.
 */
export function createAcmeCertificateSource(o: AcmeCertificateSourceOptions): PortalCertificateSource {
  const origin = new URL(o.directoryUrl).origin;
  const agent = o.caPem ? new Agent({ ca: o.caPem, keepAlive: false }) : undefined;
  const timeout = o.requestTimeoutMs ?? 30_000;
  const interceptor = acme.axios.interceptors.request.use((config) => {
    if (config.url && new URL(config.url, origin).origin === origin) {
      if (agent) config.httpsAgent = agent;
      config.timeout = timeout;
    }
    return config;
  });
  // acme-client retries a refused connection or a 5xx up to 5 times, waiting 5, 10, … 25 s: 75 s that only hide an
  // outage. The manager retries on its own interval (each failure counted and alerted): here, two quick retries.
  const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  settings.retryMaxAttempts = Math.min(settings.retryMaxAttempts, 2);
  settings.retryDefaultDelay = Math.min(settings.retryDefaultDelay, 1);

  const accountKey = async (): Promise<Buffer> => {
    if (existsSync(o.accountKeyFile)) return readFileSync(o.accountKeyFile);
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    mkdirSync(dirname(o.accountKeyFile), { recursive: true, mode: 0o700 });
    await writeFileAtomically(o.accountKeyFile, key, 0o600);
    return key;
  };

  return {
    name: `ACME ${o.directoryUrl}`,
    async obtain(hostnames) {
      if (!hostnames.length) throw new Error('no host names to order a certificate for');
      // A directory that does not answer (or whose TLS is not trusted) fails here, at once and by its own cause:
      // acme-client would retry, then report a refused connection as a TypeError of its own.
      await probe(o.directoryUrl, agent, timeout);
      const client = new acme.Client({
        directoryUrl: o.directoryUrl,
        accountKey: await accountKey(),
        // Poll the order and challenge every 100 ms rising to 2 s (acme-client's default waits 5 s per look).
        backoffMin: 100,
        backoffMax: 2_000,
        backoffAttempts: 15,
      });
      // The account first, so that auto() skips it: an existing account (a restart) is looked up with POST-as-GET;
      // acme-client's own path would send it an update carrying only `termsOfServiceAgreed`, which pebble (rightly)
      // refuses as an empty update. Unknown to the server (a new key, or pebble restarted): registered. A lookup that
      // failed for another reason fails the registration too, with that reason.
      try {
        await client.createAccount({ onlyReturnExisting: true });
      } catch {
        await client.createAccount({ termsOfServiceAgreed: true, ...(o.email && { contact: [`mailto:${o.email}`] }) });
      }
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      const [, csr] = await acme.crypto.createCsr({ commonName: hostnames[0], altNames: [...hostnames] }, key);
      const order = withChallengeListener(o.httpPort, (tokens) =>
        client.auto({
          csr,
          challengePriority: ['http-01'],
          // acme-client's own pre-check would fetch the token from port 80 of the host name (a process-wide setting);
          // the listener is ours and on loopback, so the CA's validation is the check that counts.
          skipChallengeVerification: true,
          challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
            tokens.set(challenge.token, keyAuthorization);
          },
          challengeRemoveFn: async (_authz, challenge) => {
            tokens.delete(challenge.token);
          },
        }),
      );
      const chainPem = await order.catch((e: unknown) => {
        // acme-client's retry gives up on a request without a response by reading its absent `response.config`.
        if (e instanceof TypeError) throw new Error(`an ACME request to ${origin} got no answer (acme-client: ${e.message})`);
        throw e;
      });
      return { chainPem, keyPem: key.toString() };
    },
    close() {
      acme.axios.interceptors.request.eject(interceptor);
      agent?.destroy();
    },
  };
}
