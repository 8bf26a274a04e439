import type { Lane } from '@countersign/contracts';

/** One step in an action's life, as `GET /v1/actions/{id}` shows it. */
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
  /** On the proposal: the agent id it was proposed as (an agent's token reads only the actions of its own agent ids). */
  proposer?: string;
  /**
   * Why, for a program: the event's reason code where it has one. A review decision's (`sla_expired`;
   * `proposer_backlog_full`, `tenant_backlog_full`: rejected at intake, propose it again once the agent's, or its
   * tenant's, waiting approvals are decided), a
   * refusal's code (`kill-switch-off`, `authorisation-stale`, …), a hold's (`trust-stack-unhealthy`, …) or, on a
   * prohibition, the rule that decided it (`kill-switch:off`, `trust-stack:unknown`, `degradation:constrained`, …).
   */
  reasonCode?: string;
  /** On a prohibition whose reason passes (a degradation mode, the trust stack): the agent may propose it again later. */
  retryLater?: true;
}

export type ActionStatus =
  | 'proposed'
  | 'autonomous'
  | 'in_review'
  | 'prohibited'
  | 'approved'
  | 'rejected'
  | 'expired'
  /** A reviewer approved it with changes: a new action (`revisedTo`) replaces it; this one is never executed. */
  | 'revised'
  /** Decided to run, but the executor holds it for a reason that passes (the trust stack is not healthy): it runs once that is gone. */
  | 'held'
  | 'executed'
  | 'failed'
  | 'outcome_unknown'
  | 'refused';

/** The read model of actions: their timelines, kept idempotently by event id. */
export interface ActionViewRepository {
  /** Adds an entry; a redelivered event (same id) changes nothing. */
  record(actionId: string, entry: TimelineEntry): Promise<void>;
  timeline(actionId: string): Promise<TimelineEntry[]>;
}
