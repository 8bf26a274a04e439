import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GroupCommit, redisScript, RedisScript } from '@countersign/storage';
import { BacklogGauge, BacklogGauges, BacklogItem, BacklogSnapshot, windowOf } from './backlog-gauges';

// Layout under the prefix P (`backlog:`, after the client's key prefix): `P items` a hash action id → {c: class,
// r: roles, t: createdAt, w: window seconds}; `P class:<c>`, `P role:<r>` and `P window:<w>` sorted sets of action ids
// by createdAt (ZCARD the depth, the first the oldest); `P classes`, `P roles`, `P windows` the names seen; `P built`
// when last rebuilt. Scripts build key
// names from KEYS[1] (which carries the client's prefix): one Redis, no cluster.
const ADD = `
local p = KEYS[1]
if redis.call('HSETNX', p .. 'items', ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', p .. 'class:' .. ARGV[3], ARGV[4], ARGV[1])
redis.call('SADD', p .. 'classes', ARGV[3])
if ARGV[5] ~= '' then
  redis.call('ZADD', p .. 'window:' .. ARGV[5], ARGV[4], ARGV[1])
  redis.call('SADD', p .. 'windows', ARGV[5])
end
for i = 6, #ARGV do
  redis.call('ZADD', p .. 'role:' .. ARGV[i], ARGV[4], ARGV[1])
  redis.call('SADD', p .. 'roles', ARGV[i])
end
return 1`;

// Removes the items ARGV names (those decided about the same time, in one script).
const REMOVE = `
local p = KEYS[1]
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', p .. 'items', id)
  if v then
    local item = cjson.decode(v)
    redis.call('ZREM', p .. 'class:' .. item.c, id)
    if item.w then
      local w = p .. 'window:' .. item.w
      redis.call('ZREM', w, id)
      -- An emptied window leaves the names the snapshot reads.
      if redis.call('ZCARD', w) == 0 then redis.call('SREM', p .. 'windows', tostring(item.w)) end
    end
    for _, r in ipairs(item.r) do redis.call('ZREM', p .. 'role:' .. r, id) end
    redis.call('HDEL', p .. 'items', id)
  end
end
return 1`;

// A rebuild is built beside the gauges under a staging prefix of its own (`P next:<id>:`), a chunk of items per script,
// then swapped in by one script: a reader sees the old gauges or the new, never half, and Redis is never held for
// longer than one chunk (one script over 100,000 items held it 2-3 s here, every reconcile, for every client).
// Staging keys expire by themselves should the rebuild stop half way.
const STAGE = `
local s = KEYS[1]
for _, item in ipairs(cjson.decode(ARGV[1])) do
  redis.call('HSET', s .. 'items', item.id, cjson.encode({c = item.c, r = item.r, t = item.t, w = item.w}))
  redis.call('ZADD', s .. 'class:' .. item.c, item.t, item.id)
  redis.call('SADD', s .. 'classes', item.c)
  if item.w then
    redis.call('ZADD', s .. 'window:' .. item.w, item.t, item.id)
    redis.call('SADD', s .. 'windows', tostring(item.w))
  end
  for _, r in ipairs(item.r) do
    redis.call('ZADD', s .. 'role:' .. r, item.t, item.id)
    redis.call('SADD', s .. 'roles', r)
  end
end
local keys = {s .. 'items', s .. 'classes', s .. 'roles', s .. 'windows'}
for _, c in ipairs(redis.call('SMEMBERS', s .. 'classes')) do keys[#keys + 1] = s .. 'class:' .. c end
for _, w in ipairs(redis.call('SMEMBERS', s .. 'windows')) do keys[#keys + 1] = s .. 'window:' .. w end
for _, r in ipairs(redis.call('SMEMBERS', s .. 'roles')) do keys[#keys + 1] = s .. 'role:' .. r end
for _, k in ipairs(keys) do redis.call('PEXPIRE', k, ARGV[2]) end
return 1`;

// The staged gauges take the place of the live ones: the old keys are unlinked (freed in the background), the staged
// ones renamed (O(1) each, as many as classes and roles) and kept for good.
const SWAP = `
local p, s = KEYS[1], KEYS[2]
for _, c in ipairs(redis.call('SMEMBERS', p .. 'classes')) do redis.call('UNLINK', p .. 'class:' .. c) end
for _, r in ipairs(redis.call('SMEMBERS', p .. 'roles')) do redis.call('UNLINK', p .. 'role:' .. r) end
for _, w in ipairs(redis.call('SMEMBERS', p .. 'windows')) do redis.call('UNLINK', p .. 'window:' .. w) end
redis.call('UNLINK', p .. 'items', p .. 'classes', p .. 'roles', p .. 'windows')
local function move(from, to)
  if redis.call('EXISTS', from) == 1 then
    redis.call('RENAME', from, to)
    redis.call('PERSIST', to)
  end
end
for _, c in ipairs(redis.call('SMEMBERS', s .. 'classes')) do move(s .. 'class:' .. c, p .. 'class:' .. c) end
for _, r in ipairs(redis.call('SMEMBERS', s .. 'roles')) do move(s .. 'role:' .. r, p .. 'role:' .. r) end
for _, w in ipairs(redis.call('SMEMBERS', s .. 'windows')) do move(s .. 'window:' .. w, p .. 'window:' .. w) end
move(s .. 'items', p .. 'items')
move(s .. 'classes', p .. 'classes')
move(s .. 'roles', p .. 'roles')
move(s .. 'windows', p .. 'windows')
redis.call('SET', p .. 'built', ARGV[1])
return 1`;

/** Items per staging script: about 20-40 ms of Redis each here. */
const REBUILD_CHUNK = 2_000;
/** How long a staged rebuild that never swapped in stays in Redis. */
const STAGING_TTL_MS = 10 * 60_000;

// Depth and oldest createdAt per class, per role and per window, as strings: "kind name depth oldest" lines, then the
// build time.
const SNAPSHOT = `
local p = KEYS[1]
local out = {}
local sets = {class = 'classes', role = 'roles', window = 'windows'}
for _, kind in ipairs({'class', 'role', 'window'}) do
  local names = redis.call('SMEMBERS', p .. sets[kind])
  for _, n in ipairs(names) do
    local key = p .. kind .. ':' .. n
    local depth = redis.call('ZCARD', key)
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    out[#out + 1] = kind .. ' ' .. n .. ' ' .. depth .. ' ' .. (first[2] or '-')
  end
end
out[#out + 1] = 'built ' .. (redis.call('GET', p .. 'built') or '-')
return out`;

/** Reviewers on shift: a sorted set reviewer → expiry (ms) and their roles; expired ones are pruned when read. */
const ON_SHIFT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))`;

/** The backlog gauges in Redis, shared by every review-queue instance (derived state, rebuilt from PostgreSQL). */
export class RedisBacklogGauges implements BacklogGauges {
  /** Items decided about the same time leave the gauges in one script (docs/adr/0028's group commit, for Redis). */
  private readonly removals: GroupCommit<string, void>;
  /** The scripts, each sent by its SHA-1 once Redis has it (`redisScript`). */
  private readonly scripts = new Map<string, RedisScript>();

  constructor(private readonly redis: Redis) {
    this.removals = new GroupCommit<string, void>(
      async (ids) => {
        await this.script(REMOVE, 1, 'backlog:', ...ids);
        return ids.map(() => undefined);
      },
      (id) => id,
      { maxBatch: 256, maxInFlight: 2 },
    );
  }

  async add(item: BacklogItem): Promise<void> {
    const w = windowOf(item);
    const value = JSON.stringify({ c: item.slaClass, r: [...new Set(item.requiredRoles)], t: item.createdAt, ...(w !== undefined && { w }) });
    const args = [item.actionId, value, item.slaClass, String(item.createdAt), w === undefined ? '' : String(w)];
    await this.script(ADD, 1, 'backlog:', ...args, ...new Set(item.requiredRoles));
  }

  remove(actionId: string): Promise<void> {
    return this.removals.submit(actionId);
  }

  async rebuild(items: BacklogItem[], at: Date): Promise<void> {
    const staging = `backlog:next:${randomUUID()}:`;
    for (let i = 0; i < items.length; i += REBUILD_CHUNK) {
      // An empty Lua table encodes as {} rather than []: the roles go as a list only when there are some.
      const chunk = items.slice(i, i + REBUILD_CHUNK).map((x) => ({
        id: x.actionId,
        c: x.slaClass,
        r: [...new Set(x.requiredRoles)],
        t: x.createdAt,
        ...(windowOf(x) !== undefined && { w: windowOf(x) }),
      }));
      await this.script(STAGE, 1, staging, JSON.stringify(chunk), String(STAGING_TTL_MS));
    }
    await this.script(SWAP, 2, 'backlog:', staging, String(at.getTime()));
  }

  async snapshot(): Promise<BacklogSnapshot> {
    const lines = (await this.script(SNAPSHOT, 1, 'backlog:')) as string[];
    const bySlaClass: Record<string, BacklogGauge> = {};
    const byRole: Record<string, BacklogGauge> = {};
    const byWindow: Record<string, BacklogGauge> = {};
    let builtAt: number | undefined;
    for (const line of lines) {
      const parts = line.split(' ');
      if (parts[0] === 'built') {
        if (parts[1] !== '-') builtAt = Number(parts[1]);
        continue;
      }
      // Class and role names carry no spaces (contract identifiers); the last two fields are numbers.
      const [depth, oldest] = parts.slice(-2);
      const name = parts.slice(1, -2).join(' ');
      const gauge: BacklogGauge = { depth: Number(depth), ...(oldest !== '-' && { oldestCreatedAt: Number(oldest) }) };
      // A window no item has any more (its set emptied) is left out, as the in-memory twin leaves it.
      if (parts[0] === 'window' && gauge.depth === 0) continue;
      (parts[0] === 'class' ? bySlaClass : parts[0] === 'role' ? byRole : byWindow)[name] = gauge;
    }
    return { bySlaClass, byRole, ...(Object.keys(byWindow).length && { byWindow }), ...(builtAt !== undefined && { builtAt }) };
  }

  async heartbeat(reviewer: string, roles: string[], ttlMs: number, now: Date): Promise<void> {
    const until = now.getTime() + ttlMs;
    await this.redis
      .multi()
      .zadd('reviewers:on-shift', until, reviewer)
      .hset('reviewers:roles', reviewer, JSON.stringify([...new Set(roles)]))
      // Nobody on shift for a whole TTL: both keys go by themselves.
      .pexpire('reviewers:on-shift', ttlMs)
      .pexpire('reviewers:roles', ttlMs)
      .exec();
  }

  async onShift(now: Date): Promise<Record<string, number>> {
    const roles = (await this.script(ON_SHIFT, 2, 'reviewers:on-shift', 'reviewers:roles', String(now.getTime()))) as Array<string | null>;
    const perRole: Record<string, number> = {};
    for (const json of roles) if (json) for (const role of JSON.parse(json) as string[]) perRole[role] = (perRole[role] ?? 0) + 1;
    return perRole;
  }

  private script(lua: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown> {
    let run = this.scripts.get(lua);
    if (!run) this.scripts.set(lua, (run = redisScript(this.redis, lua)));
    return run(numKeys, ...keysAndArgs);
  }
}

/** The backlog gauges in Redis, for a distributed review queue; `main.ts` picks it. */
export const createBacklogGauges = (redis: Redis): BacklogGauges => new RedisBacklogGauges(redis);
