import type { Lane, Proposal } from '@countersign/contracts';

/** What an agent proposes (the body of `POST /v1/proposals`); `context` may be left out. */
export type ProposalInput = Omit<Proposal, 'context'> & { context?: Proposal['context'] };

/** Where an action is in its life (`GET /v1/actions/{id}`). */
export type ActionStatus =
  | 'proposed'
  | 'autonomous'
  | 'in_review'
  | 'prohibited'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'revised'
  /** Decided to run, but held by the executor until a passing reason is gone (the trust stack is not healthy). Not final. */
  | 'held'
  | 'executed'
  | 'failed'
  | 'outcome_unknown'
  | 'refused';

/** One step of an action's timeline. */
export interface TimelineEntry {
  eventId: string;
  type: string;
  time: string;
  status: ActionStatus;
  lane?: Lane;
  actor: string;
  detail: string;
  revisedTo?: string;
  revisionOf?: string;
}

/** An action as the orchestrator shows it. */
export interface ActionView {
  actionId: string;
  status: ActionStatus;
  lane: Lane | null;
  /** Approved with changes: the new action that replaces this one (await that one instead). */
  revisedTo?: string;
  revisionOf?: string;
  timeline: TimelineEntry[];
}

/** The answer to a proposal: the action id to follow, and the key that makes a resend the same action. */
export interface Proposed {
  actionId: string;
  status: ActionStatus;
  idempotencyKey: string;
}
