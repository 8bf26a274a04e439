import Redis from 'ioredis';
import { Pool } from 'pg';

export { Redis, Pool };
export { migrate } from './migrations';
export type { ServiceMigrations } from './migrations';

/** A Redis client; `keyPrefix` isolates a deployment (or a test run) on a shared server. */
export function createRedis(url: string, keyPrefix = ''): Redis {
  return new Redis(url, { keyPrefix, maxRetriesPerRequest: 3, enableAutoPipelining: true, lazyConnect: false });
}

/**
 * A PostgreSQL pool. An idle connection that the server ends (restart, failover, a dropped database)
 * must not crash the process: the pool drops it and opens a new one on the next query, whose error (if
 * the server is really gone) reaches the caller.
 */
export function createPgPool(url: string, max = 10, onIdleError: (e: Error) => void = () => undefined): Pool {
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 10_000 });
  pool.on('error', onIdleError);
  return pool;
}
