import Redis from 'ioredis';
import { Pool, PoolClient } from 'pg';
import { createLogger, Logger } from '@countersign/logging';
import { isTlsFailure, plaintextRedisWarning, RedisTls, redisTlsOption } from './tls';

export { Redis, Pool };
export { migrate, NewerSchemaError, startOnNewerSchema } from './migrations';
export { GroupCommit } from './group-commit';
export type { GroupCommitOptions } from './group-commit';
export { redisScript } from './redis-script';
export type { RedisScript } from './redis-script';
export type { ServiceMigrations } from './migrations';
export { EmbeddedDatabaseDirError, openEmbeddedDatabase } from './embedded-database';
export type { EmbeddedDatabase } from './embedded-database';
export { readRedisTls, redisTlsOption, isTlsFailure, plaintextRedisWarning } from './tls';
export type { RedisTls, RedisTlsSettings } from './tls';

export interface RedisOptions {
  /** Prefix of every key: isolates a deployment (or a test run) on a shared server. */
  keyPrefix?: string;
  /** Where connection errors go (structured, throttled); default a logger named `redis`. */
  logger?: Logger;
  /** Mutual TLS (`readRedisTls`): required with a `rediss://` URL, refused with `redis://`. */
  tls?: RedisTls;
}

/**
 * A Redis client that fails fast while Redis is away, so the caller hears it (the bus retries an event whose
 * handler failed for that reason, an HTTP request answers 503) instead of waiting on a queue for ever.
 * Commands sent while it reconnects wait for at most two reconnection attempts (a refused connection is
 * retried within 100 ms, so about a quarter of a second), a connection attempt for 2 s and a command on a
 * silent connection for 5 s; then they fail with an error `isDependencyFailure` recognises. The offline
 * queue stays on: commands sent while the first connection opens wait for it. Connection errors go to the
 * structured log, once per outage (and every 100th attempt), with the recovery. A `rediss://` URL connects with the
 * client certificate of `tls` (TLS 1.2+), verifying the server against its root; a refused certificate is logged as such.
 */
export function createRedis(url: string, options: RedisOptions | string = {}): Redis {
  const { keyPrefix = '', logger = createLogger('redis'), tls } = typeof options === 'string' ? { keyPrefix: options } : options;
  const tlsOption = redisTlsOption(url, tls);
  const plaintext = plaintextRedisWarning(url);
  if (plaintext) logger.warn({ redis: redactUrl(url) }, plaintext);
  const redis = new Redis(url, {
    ...(tlsOption ? { tls: tlsOption } : {}),
    keyPrefix,
    enableAutoPipelining: true,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    // Reconnect quickly once Redis is back: at most a second between attempts.
    retryStrategy: (times) => Math.min(times * 50, 1_000),
  });
  logConnectionErrors(redis, logger, redactUrl(url));
  return redis;
}

/** ioredis emits 'error' on every failed attempt; unheard, it prints them to stderr. One line per outage instead. */
function logConnectionErrors(redis: Redis, logger: Logger, server: string): void {
  let failures = 0;
  redis.on('error', (err: Error) => {
    failures++;
    if (failures === 1 || failures % 100 === 0)
      logger.error(
        { err, redis: server, failures },
        isTlsFailure(err)
          ? 'redis TLS handshake failed (a certificate refused); commands fail until it is fixed'
          : 'redis unavailable; commands fail until it is back',
      );
  });
  redis.on('ready', () => {
    if (failures) logger.warn({ redis: server, failures }, 'redis available again');
    failures = 0;
  });
}

/** A connection URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    return u.toString();
  } catch {
    return 'redis';
  }
}

/**
 * Runs `work` on one connection of `pool` (a transaction: `work` sends BEGIN and COMMIT, or ROLLBACK itself) and hands
 * the connection back. When `work` throws, its transaction is rolled back and the connection is dropped, not handed out
 * again: after a statement that timed out (the server or the network stopped answering) it may still be waiting for
 * that statement, and the next caller would wait behind it. A ROLLBACK would wait there too: it is not sent then
 * (dropping the connection ends the transaction on the server).
 */
export async function withConnection<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const result = await work(client);
    client.release();
    return result;
  } catch (e) {
    if ((e as Error)?.message !== 'Query read timeout') await client.query('ROLLBACK').catch(() => undefined);
    client.release(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}

/** How long a service's statement may run (`statement_timeout`) before PostgreSQL cancels it. */
export const PG_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * A PostgreSQL pool. An idle connection that the server ends (restart, failover, a dropped database)
 * must not crash the process: the pool drops it (logged) and opens a new one on the next query, whose error
 * (if the server is really gone) reaches the caller. A query waits at most 5 s for a connection, so a
 * server that is away fails the caller fast (an error `isDependencyFailure` recognises) instead of queueing.
 *
 * A statement ends too, answered or not: PostgreSQL cancels one that runs past `statementTimeoutMs` (30 s), and the
 * client gives up 5 s later on a server or a network that stopped answering (a stalled host, a partition that drops
 * packets: TCP alone would wait for many minutes). Both errors are dependency failures: the work is retried, never
 * made final, and no handler holds its partition for good. `0` turns both off (an operator's long audit export).
 */
export function createPgPool(
  url: string,
  max = 10,
  onIdleError?: (e: Error) => void,
  logger: Logger = createLogger('postgres'),
  statementTimeoutMs = PG_STATEMENT_TIMEOUT_MS,
): Pool {
  const timeouts = statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + 5_000 } : {};
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000, keepAlive: true, ...timeouts });
  pool.on('error', onIdleError ?? ((err: Error) => logger.warn({ err }, 'an idle PostgreSQL connection ended; the next query opens a new one')));
  // A connection the server ends while it is checked out (a transaction between two statements) emits 'error' on the
  // client itself, where the pool listens only while it is idle: without a listener of its own that crashed the process
  // (seen in the chaos run: the audit writer died with PostgreSQL). The statement in flight fails as it should.
  pool.on('connect', (client) => client.on('error', (err: Error) => logger.warn({ err }, 'a PostgreSQL connection in use ended; its statement fails')));
  return pool;
}
