import type { Redis } from 'ioredis';
import type { Proposal } from '@countersign/contracts';

export type ReviewStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'agreed' | 'disagreed';

/** A review-lane action waiting for (or decided by) humans. */
export interface ReviewItem {
  /** `approval`: the action waits for a human; `audit-sample`: it ran autonomously and is checked after the fact. */
  kind?: 'approval' | 'audit-sample';
  actionId: string;
  correlationId: string;
  /** The policy decision event that put it in the queue (the cause of the review decision). */
  decisionEventId: string;
  digest: string;
  /** The proposal with its regulated data masked: what every reviewer sees. */
  proposal: Proposal;
  /**
   * The real proposal, sealed (`ProposalSealer`): opened only for a reviewer holding `pii:view`, never
   * shown otherwise. Absent on items queued before sealing existed.
   */
  sealed?: string;
  proposerPrincipal: string;
  contractVersion: string;
  reasons: string[];
  slaClass: string;
  requiredRoles: string[];
  quorum: number;
  createdAt: string;
  dueAt: string;
  status: ReviewStatus;
  decidedBy?: string[];
  decisionReason?: string;
  decidedAt?: string;
}

/** The review queue: items keyed by action id, pending ones ordered by due time. */
export interface ReviewItemRepository {
  /** Adds the item unless one with the same action id exists (redelivery). Returns true when added. */
  add(item: ReviewItem): Promise<boolean>;
  get(actionId: string): Promise<ReviewItem | undefined>;
  /** Pending items, most urgent first. */
  pending(limit: number): Promise<ReviewItem[]>;
  /**
   * Moves a pending item to a final status, atomically: of two reviewers deciding at once, one wins.
   * Returns the updated item, or undefined when it was no longer pending.
   */
  decide(actionId: string, status: Exclude<ReviewStatus, 'pending'>, by: string[], reason: string, at: Date): Promise<ReviewItem | undefined>;
  /** Records one approver's approval (towards a quorum); returns every distinct approver so far. */
  addApproval(actionId: string, approver: string, reason: string): Promise<Array<{ approver: string; reason: string }>>;
}

const itemKey = (id: string) => `review:item:${id}`;
const PENDING = 'review:pending';

// Compare-and-set in one round trip: only a pending item changes, and it leaves the pending index with it.
const DECIDE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local item = cjson.decode(raw)
if item.status ~= 'pending' then return nil end
item.status = ARGV[1]
item.decidedBy = cjson.decode(ARGV[2])
item.decisionReason = ARGV[3]
item.decidedAt = ARGV[4]
local out = cjson.encode(item)
redis.call('SET', KEYS[1], out)
redis.call('ZREM', KEYS[2], ARGV[5])
return out`;

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

// cjson turns empty objects and arrays into {} either way; bring back the arrays the type promises.
function normalise(item: ReviewItem): ReviewItem {
  for (const k of ['reasons', 'requiredRoles', 'decidedBy'] as const) if (item[k] && !Array.isArray(item[k])) item[k] = [];
  return item;
}
