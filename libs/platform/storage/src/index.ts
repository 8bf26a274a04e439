import Redis from 'ioredis';
import { Pool } from 'pg';

export { Redis, Pool };

/** A Redis client; `keyPrefix` isolates a deployment (or a test run) on a shared server. */
export function createRedis(url: string, keyPrefix = ''): Redis {
  return new Redis(url, { keyPrefix, maxRetriesPerRequest: 3, enableAutoPipelining: true, lazyConnect: false });
}

/** A PostgreSQL pool. */
export function createPgPool(url: string, max = 10): Pool {
  return new Pool({ connectionString: url, max, idleTimeoutMillis: 10_000 });
}
