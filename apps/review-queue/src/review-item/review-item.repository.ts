// The port of the review items, which intake (`queue/`), decisions (`approvals/`) and the reviewer API share.
// Adapters: `redis-review-item.repository.ts` (distributed), `in-memory-review-item.repository.ts` (embedded, tests).
import type { EventCause } from '@countersign/bus';
import type { Proposal } from '@countersign/contracts';

/** Where an item stands: `pending` until a human decides (or assesses, for an audit sample). */
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
  /** Who decided the item (the reviewers of an approval or rejection), as the signed decision's `deciders` claim names them. */
  deciders?: string[];
  decisionReason?: string;
  decidedAt?: string;
}

/** The policy decision that queued the item: the cause of every event about it (a decision, a reveal, an assessment). */
export const queuedBy = (item: ReviewItem): EventCause => ({ id: item.decisionEventId, subject: item.actionId, correlationId: item.correlationId });

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
