// The port of the review items, which intake (`queue/`), decisions (`approvals/`) and the reviewer API share.
// Adapters: `pg-review-item.repository.ts` (distributed), `in-memory-review-item.repository.ts` (embedded, tests).
import type { EventCause } from '@countersign/bus';
import type { AnyTopic, Proposal, TopicMap } from '@countersign/contracts';

/** Where an item stands: `pending` until a human decides (or assesses, for an audit sample; or answers, for an outcome check). */
export type ReviewStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'agreed' | 'disagreed' | 'happened' | 'not-happened';

/** A review-lane action waiting for (or decided by) humans. */
export interface ReviewItem {
  /**
   * `approval`: the action waits for a human; `audit-sample`: it ran autonomously and is checked after the fact;
   * `outcome-check`: the executor cannot tell whether it took effect and asks "did this happen?" (`outcome-checks/`;
   * keyed `outcome-check:<actionId>`, beside the action's approval item).
   */
  kind?: 'approval' | 'audit-sample' | 'outcome-check';
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
  /** Who decided the item (the reviewers of an approval or rejection), as the signed decision's `deciders` claim names them. */
  deciders?: string[];
  decisionReason?: string;
  decidedAt?: string;
}

/**
 * The signed event that tells the others about a decision (`review.decision.made`, an outcome-check answer, an
 * assessment), built by `bus.envelope` before the decision and stored with it: the outbox. Its id is derived from its
 * cause, so publishing it again (a retry, the sweeper) is harmless.
 */
export interface DecisionEvent<T extends AnyTopic = AnyTopic> {
  topic: T;
  event: TopicMap[T];
}

/** A decision event as stored beside its item: published, or still to publish. */
export interface StoredDecisionEvent extends DecisionEvent {
  /** The item's key (`actionId`, or `outcome-check:<actionId>`). */
  actionId: string;
  decidedAt: string;
  /** When it was published; absent while it is still to publish. */
  publishedAt?: string;
}

/** The policy decision that queued the item: the cause of every event about it (a decision, a reveal, an assessment). */
export const queuedBy = (item: ReviewItem): EventCause => ({ id: item.decisionEventId, subject: item.actionId, correlationId: item.correlationId });

/**
 * The review queue: items keyed by action id, pending ones ordered by due time. A record of truth (PostgreSQL in the
 * distributed mode): a Redis flush or restart loses no item. The backlog gauges (a later issue) live in Redis as
 * derived state, rebuilt from this store after a flush.
 */
export interface ReviewItemRepository {
  /** Adds the item unless one with the same action id exists (redelivery). Returns true when added. */
  add(item: ReviewItem): Promise<boolean>;
  get(actionId: string): Promise<ReviewItem | undefined>;
  /** Pending items, most urgent first. */
  pending(limit: number): Promise<ReviewItem[]>;
  /**
   * Moves a pending item to a final status, atomically: of two reviewers deciding at once, one wins.
   * Returns the updated item, or undefined when it was no longer pending. `event`, the decision's event, is stored in
   * the same write (the outbox), unpublished: a decision that others must hear of is never kept without its event.
   */
  decide(
    actionId: string,
    status: Exclude<ReviewStatus, 'pending'>,
    by: string[],
    reason: string,
    at: Date,
    event?: DecisionEvent,
  ): Promise<ReviewItem | undefined>;
  /** The event stored with the item's decision, published or not; undefined when there is none (pending, unknown). */
  decisionEvent(actionId: string): Promise<StoredDecisionEvent | undefined>;
  /** Decision events not yet published, of items decided at or before `decidedBefore`, oldest decision first. */
  unpublished(decidedBefore: Date, limit: number): Promise<StoredDecisionEvent[]>;
  /** Records that the item's decision event was published (the sweeper leaves it be from then on). */
  markPublished(actionId: string, at: Date): Promise<void>;
  /**
   * Records one approver's approval (towards a quorum); returns every distinct approver so far, in the order they
   * approved. The approvals of one item are recorded one after the other: of approvers completing a quorum at
   * once, exactly one sees it complete. Nothing is recorded for an unknown item (an empty list).
   */
  addApproval(actionId: string, approver: string, reason: string): Promise<Array<{ approver: string; reason: string }>>;
}
