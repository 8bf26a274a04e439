// The port of the execution record: what the executor knows of an action, and the store that keeps it.
// Adapters: `pg-execution.repository.ts` (distributed), `in-memory-execution.repository.ts` (embedded, tests).
import type { Lane, Proposal, TopicMap, TOPICS } from '@countersign/contracts';

/** How far an action went: `decided` until one delivery claims it, then its outcome (or why it never ran). */
export type ExecutionState = 'decided' | 'executing' | 'executed' | 'failed' | 'outcome_unknown' | 'refused' | 'rejected';

/** What the executor knows of an action: the policy decision, and how far execution went. */
export interface ActionRecord {
  actionId: string;
  correlationId: string;
  decisionEventId: string;
  digest: string;
  lane: Lane;
  proposal: Proposal;
  state: ExecutionState;
  /** The event that authorised execution (the autonomous decision or the approval). */
  authorisedBy?: string;
  claimedAt?: string;
  /** The outcome event's data, kept so a redelivery can publish it again (the same event id). */
  outcome?: { topic: string; data: unknown };
}

/** A review decision as the executor receives it (verified before it changes anything). */
export type ReviewDecidedEvent = TopicMap[typeof TOPICS.reviewDecided];

export type ClaimResult = { claimed: true } | { claimed: false; reason: 'not-decided' | 'approval-consumed' };

/**
 * The durable execution record, keyed by action id. `claim` moves an action from `decided` to
 * `executing` atomically (and consumes the approval's nonce): of all deliveries, only one executes.
 */
export interface ExecutionRepository {
  /** Stores the decision unless one is stored already, and returns the record as it now stands (one round trip). */
  saveDecision(record: Omit<ActionRecord, 'state'>): Promise<ActionRecord>;
  get(actionId: string): Promise<ActionRecord | undefined>;
  claim(actionId: string, authorisedBy: string, approvalNonce: string | null, now: Date): Promise<ClaimResult>;
  finish(actionId: string, state: ExecutionState, outcome: ActionRecord['outcome']): Promise<void>;
  /** An approval that arrived before the decision it approves: kept until the decision comes. */
  keepEarlyApproval(actionId: string, event: ReviewDecidedEvent): Promise<void>;
  takeEarlyApproval(actionId: string): Promise<ReviewDecidedEvent | undefined>;
}
