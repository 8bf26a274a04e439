import type { Redis } from 'ioredis';
import { ReviewItem, ReviewItemRepository, ReviewStatus } from './review-item.repository';

const itemKey = (id: string) => `review:item:${id}`;
const PENDING = 'review:pending';

// Compare-and-set in one round trip: only a pending item changes, and it leaves the pending index with it.
const DECIDE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local item = cjson.decode(raw)
if item.status ~= 'pending' then return nil end
item.status = ARGV[1]
item.deciders = cjson.decode(ARGV[2])
item.decisionReason = ARGV[3]
item.decidedAt = ARGV[4]
local out = cjson.encode(item)
redis.call('SET', KEYS[1], out)
redis.call('ZREM', KEYS[2], ARGV[5])
return out`;

/** The review items in Redis: one JSON value per item, the pending ones indexed by due time in a sorted set. */
export class RedisReviewItemRepository implements ReviewItemRepository {
  constructor(private readonly redis: Redis) {}

  async add(item: ReviewItem): Promise<boolean> {
    const added = await this.redis.set(itemKey(item.actionId), JSON.stringify(item), 'NX');
    if (added !== 'OK') return false;
    await this.redis.zadd(PENDING, Date.parse(item.dueAt), item.actionId);
    return true;
  }

  async get(actionId: string): Promise<ReviewItem | undefined> {
    const raw = await this.redis.get(itemKey(actionId));
    return raw ? (JSON.parse(raw) as ReviewItem) : undefined;
  }

  async pending(limit: number): Promise<ReviewItem[]> {
    const ids = await this.redis.zrange(PENDING, 0, limit - 1);
    if (!ids.length) return [];
    const raws = await this.redis.mget(ids.map(itemKey));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as ReviewItem);
  }

  async decide(actionId: string, status: Exclude<ReviewStatus, 'pending'>, by: string[], reason: string, at: Date) {
    // ioredis prefixes KEYS but not ARGV: the pending-index member is the bare action id.
    const out = (await this.redis.eval(DECIDE, 2, itemKey(actionId), PENDING, status, JSON.stringify(by), reason, at.toISOString(), actionId)) as string | null;
    return out ? (normalise(JSON.parse(out)) as ReviewItem) : undefined;
  }

  async addApproval(actionId: string, approver: string, reason: string) {
    const key = `review:approvals:${actionId}`;
    await this.redis.hsetnx(key, approver, reason);
    const all = await this.redis.hgetall(key);
    return Object.entries(all).map(([a, r]) => ({ approver: a, reason: r }));
  }
}

/** The review items in Redis, for a distributed review queue; `main.ts` picks it. */
export const createReviewItemRepository = (redis: Redis): ReviewItemRepository => new RedisReviewItemRepository(redis);

// cjson turns empty objects and arrays into {} either way; bring back the arrays the type promises.
function normalise(item: ReviewItem): ReviewItem {
  for (const k of ['reasons', 'requiredRoles', 'deciders'] as const) if (item[k] && !Array.isArray(item[k])) item[k] = [];
  return item;
}
