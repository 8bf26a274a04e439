import { isDependencyFailure } from '@countersign/bus';
import type { Logger } from '@countersign/logging';
import { isTlsFailure, Pool, Redis, RedisTls, redisTlsOption } from '@countersign/storage';

/** Something a service needs before it can build itself: asked until it answers, or until the startup wait is over. */
export interface StartupDependency {
  name: string;
  /** Resolves when the dependency answers; rejects otherwise (a dependency failure is waited out, anything else is not). */
  check(): Promise<void>;
}

/** PostgreSQL answers a query. */
export const postgresDependency = (url: string, name = 'PostgreSQL'): StartupDependency => ({
  name,
  async check() {
    const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 3_000 });
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
    } finally {
      await pool.end().catch(() => undefined);
    }
  },
});

/**
 * Redis answers PING, over mutual TLS when the URL is `rediss://` (with `tls`, as `createRedis` connects). A TLS failure
 * (the server refused this service's certificate, or this service the server's) is thrown as itself: it is not an
 * outage to wait out, and its code says which.
 */
export const redisDependency = (url: string, tls?: RedisTls): StartupDependency => ({
  name: 'Redis',
  async check() {
    const tlsOption = redisTlsOption(url, tls);
    const redis = new Redis(url, {
      ...(tlsOption ? { tls: tlsOption } : {}),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 3_000,
      enableOfflineQueue: false,
    });
    let failure: Error | undefined;
    redis.on('error', (e: Error) => (failure ??= isTlsFailure(e) ? e : undefined));
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      if (!failure) throw e;
      const { code, message } = failure as Error & { code: string };
      throw new Error(`Redis over TLS: the handshake failed (${code}): ${message.split('\n')[0]}`, { cause: failure });
    } finally {
      redis.disconnect();
    }
  },
});

/**
 * Waits, at boot, for every dependency to answer, one after the other, with backoff (250 ms doubling to 5 s), for at most
 * `timeoutMs` in all. A service started while Kafka, PostgreSQL or Redis is down (a crash loop during an outage, a
 * restart into one) waits for it, logging why, instead of exiting and leaving its supervisor to back off for minutes.
 * Nothing is served meanwhile (not ready, not live: a startup probe covers it). An error that is not a dependency
 * failure (bad credentials, a refused query) ends the wait at once: it will not fix itself.
 */
export async function waitForDependencies(
  deps: readonly StartupDependency[],
  o: { timeoutMs: number; logger: Logger; sleep?: (ms: number) => Promise<void> },
): Promise<void> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + o.timeoutMs;
  for (const dep of deps) {
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      try {
        await dep.check();
        if (attempt > 1) o.logger.info({ dependency: dep.name, attempts: attempt }, `${dep.name} answers: starting`);
        break;
      } catch (e) {
        if (!isDependencyFailure(e)) throw e;
        if (Date.now() + delay > deadline)
          throw new Error(`${dep.name} did not answer within the startup wait (${o.timeoutMs} ms): ${(e as Error).message}`, { cause: e });
        o.logger.warn({ dependency: dep.name, attempt, err: (e as Error).message }, `${dep.name} is not reachable yet: waiting before starting`);
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }
}
