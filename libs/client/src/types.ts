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
  /**
   * The executor cannot tell yet whether the action took effect (a timeout, a 5xx, a stop during the call). Not final
   * (see `isFinal`): the executor settles it as `executed` or `failed` and never gives up (it asks the target, sends it
   * again under the same idempotency key where that is safe, or a person checks at the target). Never propose it
   * again meanwhile: the first call may have taken effect, and a second could be a second refund.
   */
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
  /** On a revision (approve with changes): the new action that replaces this one. */
  revisedTo?: string;
  /** On the proposal of a revised action: the action it replaces. */
  revisionOf?: string;
  /** On the proposal: the agent id it was proposed as (apps/orchestrator's read model gives it). */
  proposer?: string;
  /** The event's reason code, where it has one (see `ActionView.reasonCode`). */
  reasonCode?: string;
  /** See `ActionView.retryLater`. */
  retryLater?: true;
}

/** An action as the orchestrator shows it. */
export interface ActionView {
  actionId: string;
  status: ActionStatus;
  lane: Lane | null;
  /**
   * Why the action has its status, for a program, where the deciding event gives a code. Among them:
   * `proposer_backlog_full` (`rejected` at intake because this agent already had the contract's most approvals waiting:
   * propose it again, under a new idempotency key, once they are decided), `tenant_backlog_full` (the same, because its
   * tenant, from all its agents, had the most waiting), `sla_expired` (`expired`), a refusal's code
   * (`refused`: `kill-switch-off`, `authorisation-stale`, …), a hold's (`held`: `trust-stack-unhealthy`, …) and, on
   * `prohibited`, the rule that decided it (`kill-switch:off`, `trust-stack:unknown`, `degradation:constrained`, …).
   */
  reasonCode?: string;
  /**
   * On `prohibited`: the reason passes (a degradation mode, an unhealthy or unknown trust stack). The action will not
   * run; propose it again later, under a new idempotency key.
   */
  retryLater?: true;
  /**
   * Why the action waits, for a person to read: on `outcome_unknown`, that the executor is settling its outcome (it
   * ends executed or failed; do not propose it again); or a flag source that cannot be read (it goes on once it can).
   * Absent when nothing holds it. A program tests the status (`isFinal`), not this text.
   */
  waiting?: string;
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
