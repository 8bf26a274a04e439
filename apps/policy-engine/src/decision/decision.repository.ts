import type { TOPICS, TopicMap } from '@countersign/contracts';

export type DecisionEvent = TopicMap[typeof TOPICS.policyDecided];

/**
 * A decision as stored: without the proposal, whose regulated data must not rest in a store. The
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
