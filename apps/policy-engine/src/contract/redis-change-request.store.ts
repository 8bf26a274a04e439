import type { Redis } from 'ioredis';
import type { Actor } from '@countersign/contracts';
import { BASE_CLAIM_MS, ChangeDecision, ChangeRequest, ChangeRequestStore, DecideResult } from './change-request';

const requestKey = (id: string) => `change-request:${id}`;
const baseKey = (base: string) => `change-request:base:${base}`;
const INDEX = 'change-requests';

/** How long a request is kept after it expires, for `GET` (the audit trail keeps every step for good). */
const RETENTION_MS = 7 * 24 * 3600_000;

// Creates a request with its expiry and index entry at once, never over an existing one.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'request', ARGV[1], 'status', ARGV[2], 'expiresAt', ARGV[3], 'base', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
return 1`;

// One round trip, atomic: only a pending, unexpired request is decided (ISO times compare as strings), and
// an approval first claims the request's base ('<id> <until ms>'), unless a rival holds it. A hash keeps the
// large immutable part apart from the status, so no script decodes it.
const DECIDE = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'unknown'} end
if status ~= 'pending' then return {'not-pending'} end
if ARGV[2] >= redis.call('HGET', KEYS[1], 'expiresAt') then return {'expired'} end
if ARGV[1] == 'approved' then
  local claim = redis.call('GET', KEYS[2])
  if claim then
    local sep = string.find(claim, ' ', 1, true)
    local holder = string.sub(claim, 1, sep - 1)
    if holder ~= ARGV[4] and tonumber(string.sub(claim, sep + 1)) > tonumber(ARGV[6]) then return {'base-taken', holder} end
  end
  redis.call('SET', KEYS[2], ARGV[4] .. ' ' .. ARGV[7], 'PX', ARGV[5])
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decision', ARGV[3])
return {'ok'}`;

interface StoredDecision {
  by: Actor;
  reason: string;
  at: string;
}

/** Change requests in Redis, shared by every policy-engine instance. */
export class RedisChangeRequestStore implements ChangeRequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly baseClaimMs = BASE_CLAIM_MS,
  ) {}

  async create(request: ChangeRequest): Promise<void> {
    const { status, decider: _by, decisionReason: _reason, decidedAt: _at, ...fixed } = request;
    // Relative expiry: the request's own lifetime plus the retention, whatever the caller's clock says.
    const keepMs = Date.parse(request.expiresAt) - Date.parse(request.createdAt) + RETENTION_MS;
    const args = [JSON.stringify(fixed), status, request.expiresAt, request.base, String(keepMs), String(Date.parse(request.createdAt)), request.id];
    const created = await this.redis.eval(CREATE, 2, requestKey(request.id), INDEX, ...args);
    if (created !== 1) throw new Error(`change request ${request.id} exists already`);
  }

  async get(id: string): Promise<ChangeRequest | undefined> {
    return fromHash(await this.redis.hgetall(requestKey(id)));
  }

  async list(limit: number): Promise<ChangeRequest[]> {
    const ids = await this.redis.zrevrange(INDEX, 0, limit - 1);
    if (!ids.length) return [];
    const pipeline = this.redis.pipeline();
    ids.forEach((id) => pipeline.hgetall(requestKey(id)));
    const rows = ((await pipeline.exec()) ?? []).map(([, h]) => fromHash(h as Record<string, string>));
    const gone = ids.filter((_, i) => !rows[i]);
    if (gone.length) await this.redis.zrem(INDEX, ...gone);
    return rows.filter((r): r is ChangeRequest => r !== undefined);
  }

  async decide(id: string, d: ChangeDecision): Promise<DecideResult> {
    const base = await this.redis.hget(requestKey(id), 'base');
    if (base === null) return { ok: false, conflict: 'unknown' };
    const decision: StoredDecision = { by: d.by, reason: d.reason, at: d.at.toISOString() };
    // ioredis prefixes KEYS but not ARGV: the claim holds the bare request id, and until when it holds (the
    // caller's clock, like the expiry; Redis drops the key after the same span of its own time).
    const at = d.at.getTime();
    const argv = [d.outcome, d.at.toISOString(), JSON.stringify(decision), id, String(this.baseClaimMs), String(at), String(at + this.baseClaimMs)];
    const [code, holder] = (await this.redis.eval(DECIDE, 2, requestKey(id), baseKey(base), ...argv)) as string[];
    if (code === 'base-taken') return { ok: false, conflict: 'base-taken', holder };
    if (code !== 'ok') return { ok: false, conflict: code as 'unknown' | 'not-pending' | 'expired' };
    return { ok: true, request: (await this.get(id))! };
  }
}

/** Change requests in Redis, shared by every policy-engine instance. */
export const createChangeRequestStore = (redis: Redis, baseClaimMs?: number): ChangeRequestStore => new RedisChangeRequestStore(redis, baseClaimMs);

function fromHash(h: Record<string, string> | null): ChangeRequest | undefined {
  // An expired key reads as an empty hash.
  if (!h?.request || !h.status) return undefined;
  const decision = h.decision ? (JSON.parse(h.decision) as StoredDecision) : undefined;
  return {
    ...(JSON.parse(h.request) as Omit<ChangeRequest, 'status'>),
    status: h.status as ChangeRequest['status'],
    ...(decision && { decider: decision.by, decisionReason: decision.reason, decidedAt: decision.at }),
  };
}
