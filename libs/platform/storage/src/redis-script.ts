import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script bound to a connection: `run(numKeys, ...keysThenArgs)`, as `redis.eval` takes them after the script. */
export type RedisScript = (numKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/**
 * `lua` run by its SHA-1 (EVALSHA), its text sent only when Redis answers that it lacks it (NOSCRIPT: the first run
 * since Redis started, or after `SCRIPT FLUSH`). `redis.eval` sent the whole text with every call and Redis hashed it
 * each time to find it: on the policy engine's hot path that was a measurable share of both (issue 14,
 * docs/adr/0041). Keys are prefixed as with `eval` (the client's `keyPrefix`).
 *
 * Not ioredis's `defineCommand`: a command defined while the client's auto-pipeline holds commands is missing from that
 * pipeline, and the call fails (`pipeline[name] is not a function`); EVALSHA and EVAL are always there.
 */
export function redisScript(redis: Redis, lua: string): RedisScript {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (numKeys, ...keysAndArgs) => {
    try {
      return await redis.evalsha(sha, numKeys, ...keysAndArgs);
    } catch (e) {
      if (!String((e as Error)?.message).startsWith('NOSCRIPT')) throw e;
      return redis.eval(lua, numKeys, ...keysAndArgs);
    }
  };
}
