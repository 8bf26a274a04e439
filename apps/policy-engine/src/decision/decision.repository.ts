import type { Redis } from 'ioredis';
import type { TOPICS, TopicMap } from '@countersign/contracts';

export type DecisionEvent = TopicMap[typeof TOPICS.policyDecided];

/**
 * A decision as stored: without the proposal, whose regulated data must not rest in Redis. The
 * redelivered proposed event carries the proposal again; the digest binds the two.
 */
export type StoredDecision = Omit<DecisionEvent, 'data'> & { data: Omit<DecisionEvent['data'], 'proposal'> };

/**
 * The first decision made for each action. A proposal delivered again (a redelivery, a rebalance, a
 * second instance) is answered with the stored decision, whatever a new evaluation says — flags or the
 * clock may have moved meanwhile — so every consumer sees one decision per action.
 */
export interface DecisionRepository {
  /** The decision stored for this action, if any (for operators and tests; deciding needs only `keep`). */
  get(actionId: string): Promise<StoredDecision | undefined>;
  /**
   * Stores the decision unless one is stored already; returns the one that stands and whether it is this
   * evaluation's. `nonce` is fresh per evaluation: identity by content, never by clock (two deliveries
   * decided within one millisecond carry the same time but different nonces).
   */
  keep(decision: StoredDecision, nonce: string): Promise<KeptDecision>;
}

/** The decision that stands for an action, and whether the caller's evaluation is the one stored. */
export interface KeptDecision {
  decision: StoredDecision;
  mine: boolean;
}

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
    const stored = JSON.parse((await this.redis.eval(KEEP, 1, key(decision.subject), JSON.stringify(record), String(this.ttlSeconds))) as string) as StoredRecord;
    return { decision: stored.decision, mine: stored.nonce === nonce };
  }
}

/** The in-process twin (embedded mode, unit tests). */
export class InMemoryDecisionRepository implements DecisionRepository {
  private readonly decisions = new Map<string, StoredRecord>();

  async get(actionId: string) {
    const d = this.decisions.get(actionId);
    return d && structuredClone(d.decision);
  }

  async keep(decision: StoredDecision, nonce: string): Promise<KeptDecision> {
    if (!this.decisions.has(decision.subject)) this.decisions.set(decision.subject, structuredClone({ nonce, decision }));
    const stored = this.decisions.get(decision.subject)!;
    return { decision: structuredClone(stored.decision), mine: stored.nonce === nonce };
  }
}
