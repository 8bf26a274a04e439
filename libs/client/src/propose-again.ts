import type { TOPICS, TopicMap } from '@countersign/contracts';
import type { ActionView } from './types';

type ReviewReasonCode = NonNullable<TopicMap[typeof TOPICS.reviewDecided]['data']['reasonCode']>;

/**
 * The code of an approval the review queue rejected at intake: the agent already had the contract's most waiting. Typed
 * by the review decision's schema, so a renamed code fails to compile here; a type-only import keeps the client free of
 * the contracts' runtime.
 */
export const PROPOSER_BACKLOG_FULL: ReviewReasonCode = 'proposer_backlog_full';

/**
 * The code of an approval the review queue rejected at intake: the agent's tenant, from all its agents, already had the
 * contract's most waiting (`degradation.maxPendingPerTenant`). A "not now" as the agent's own cap is.
 */
export const TENANT_BACKLOG_FULL: ReviewReasonCode = 'tenant_backlog_full';

/**
 * Whether an action that will not run may be proposed again later, and why: its reason code, or undefined when its answer
 * stands. Two answers say "not now" rather than "no":
 * - `rejected` with `proposer_backlog_full`: propose it again once this agent's waiting approvals are decided;
 * - `rejected` with `tenant_backlog_full`: propose it again once its tenant's waiting approvals are decided;
 * - `prohibited` with `retryLater`: a degradation mode, or a trust stack not known healthy (`reasonCode` names the rule).
 * Propose it again under a **new** idempotency key (the same key answers the action that will not run), after a pause
 * that grows with each try.
 */
export function proposeAgainReason(view: Pick<ActionView, 'status' | 'reasonCode' | 'retryLater'>): string | undefined {
  if (view.status === 'rejected' && (view.reasonCode === PROPOSER_BACKLOG_FULL || view.reasonCode === TENANT_BACKLOG_FULL)) return view.reasonCode;
  if (view.status === 'prohibited' && view.retryLater === true) return typeof view.reasonCode === 'string' ? view.reasonCode : 'retry-later';
  return undefined;
}
