import type { Redis } from 'ioredis';
import { DecisionRepository, KeptDecision, StoredDecision } from './decision.repository';

/** What is stored per action: the decision, and the nonce of the evaluation that made it (`mine` compares it). */
interface StoredRecord {
  nonce: string;
  decision: StoredDecision;
}

// Set if absent, with an expiry; either way answer what is stored.
const KEEP = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1])`;

const key = (actionId: string) => `decision:${actionId}`;

export class RedisDecisionRepository implements DecisionRepository {
  /**
   * `ttlSeconds`: how late a redelivery may come and still get the stored answer. Redeliveries follow
   * a rebalance or a crash within minutes; past the window, the executor and the audit trail still keep
   * the first decision (each keeps the first event per id). A stored decision takes about 1 kB.
   */
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = 6 * 3600,
  ) {}

  async get(actionId: string): Promise<StoredDecision | undefined> {
    const stored = await this.redis.get(key(actionId));
    return stored ? (JSON.parse(stored) as StoredRecord).decision : undefined;
  }

  async keep(decision: StoredDecision, nonce: string): Promise<KeptDecision> {
    const record: StoredRecord = { nonce, decision };
    const stored = JSON.parse(
      (await this.redis.eval(KEEP, 1, key(decision.subject), JSON.stringify(record), String(this.ttlSeconds))) as string,
    ) as StoredRecord;
    return { decision: stored.decision, mine: stored.nonce === nonce };
  }
}

/** The first decisions in Redis, shared by every policy-engine instance, each kept `ttlSeconds` (6 hours by default). */
export const createDecisionRepository = (redis: Redis, ttlSeconds?: number): DecisionRepository => new RedisDecisionRepository(redis, ttlSeconds);
