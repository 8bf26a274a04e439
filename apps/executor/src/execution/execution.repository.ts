// The port of the execution record: what the executor knows of an action, and the store that keeps it.
// Adapters: `pg-execution.repository.ts` (distributed), `in-memory-execution.repository.ts` (embedded, tests).
import type { Envelope, Lane, Proposal, TopicMap, TOPICS } from '@countersign/contracts';

/**
 * How far an action went: `decided` until one delivery claims it, then its outcome (or why it never ran). An
 * unknown outcome (`outcome_unknown`, or `executing` past its lease: the executor stopped during the call) is taken
 * on by the reconciler (`reconciling`, under a lease of its own) and settled, or waits for a person
 * (`awaiting_check`) whose signed answer settles it.
 */
export type ExecutionState =
  | 'decided'
  | 'executing'
  | 'executed'
  | 'failed'
  | 'outcome_unknown'
  | 'reconciling'
  | 'awaiting_check'
  | 'refused'
  | 'rejected'
  /** Its review ran out of time (the review queue's signed `expired`): closed, never executed. */
  | 'expired'
  /** A reviewer approved it with changes (the review queue's signed `revised`): a new action replaces it; never executed. */
  | 'revised';

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
  /**
   * The outcome event's data, kept so a redelivery can publish it again (the same event id). `event`: the whole event,
   * built before the outcome was recorded and stored with it (the outbox): until it is known published, the
   * `OutcomeOutbox` publishes it again, so an outcome on the record is always heard of, whatever stopped its publish.
   */
  outcome?: { topic: string; data: unknown; event?: Envelope };
  /** From the policy decision (absent on records stored before the reconciler): who proposed, under which contract. */
  proposerPrincipal?: string;
  contractVersion?: string;
  /** How often the reconciler took the action on. */
  reconcileAttempts?: number;
}

/** An action the reconciler claimed: the record as claimed (`reconciling`, a fresh lease), and the state it was in. */
export interface UnsettledClaim {
  record: ActionRecord & { state: 'reconciling'; claimedAt: string; reconcileAttempts: number };
  previous: 'executing' | 'reconciling' | 'outcome_unknown';
  /** When the lease it was claimed from began (the call that left it unknown, or an earlier reconciler's claim). */
  previousClaimedAt?: string;
}

/** The states of an action whose outcome is not settled yet: the reconciler's (and a person's) work. */
export const UNSETTLED_STATES: readonly ExecutionState[] = ['outcome_unknown', 'reconciling', 'awaiting_check'];

/** How many actions wait for their outcome to be settled, and since when the one waiting longest has. */
export interface UnsettledOutcomes {
  count: number;
  oldestSince?: Date;
}

/** An outcome event on the record that may not have gone out yet. */
export interface UnpublishedOutcome {
  actionId: string;
  topic: string;
  event: Envelope;
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
  /**
   * Stores the decision already claimed (`executing`, authorised by `authorisedBy` at `now`) unless one is stored
   * already, in one round trip: an autonomous decision whose every gate passes needs no separate claim. `stored`: this
   * call stored it, and so it alone executes the action; otherwise the record as it stands, untouched.
   */
  saveClaimedDecision(record: Omit<ActionRecord, 'state'>, authorisedBy: string, now: Date): Promise<{ stored: boolean; record: ActionRecord }>;
  get(actionId: string): Promise<ActionRecord | undefined>;
  claim(actionId: string, authorisedBy: string, approvalNonce: string | null, now: Date): Promise<ClaimResult>;
  /**
   * Gives back a claim whose call was never made (the brake, read again before the call, could not be read): the action
   * is `decided` again, and the approval's nonce the claim consumed (`approvalNonce`) is consumed no more, so the
   * delivery that tries again claims it afresh. Only while the claim is as it was taken (`executing`, by `authorisedBy`,
   * at `claimedAt`): a claim taken over meanwhile (its lease ran out) is left to its new owner. Returns whether it was given back.
   */
  release(actionId: string, claim: { authorisedBy: string; claimedAt: string; approvalNonce: string | null }): Promise<boolean>;
  /**
   * Records the outcome (or why it never ran). An outcome with an `event` is recorded as still to publish. With `claim`
   * (the outcome of a call made under it), only while the action is still `executing` under that claim: a call that
   * outlived its lease was taken over by the reconciler, which settles it, and its late answer must not overwrite that
   * (hostile target probe, 2026-12-06: the trail said both `failed` and `executed`). Returns whether it was recorded.
   * `retryNotBefore` (an unknown outcome whose target asked for time, its `Retry-After`): no reconciler claims the action
   * before then.
   */
  finish(actionId: string, state: ExecutionState, outcome: ActionRecord['outcome'], claim?: { claimedAt: string }, retryNotBefore?: Date): Promise<boolean>;
  /**
   * Keeps every reconciler off the action until `until` (its target asked for time: `Retry-After`), only while it is
   * `reconciling` under `claim`. Returns whether it was postponed.
   */
  postpone(actionId: string, claim: { claimedAt: string }, until: Date): Promise<boolean>;
  /** Outcome events recorded at or before `recordedBefore` and not yet known published, oldest first. */
  unpublishedOutcomes(recordedBefore: Date, limit: number): Promise<UnpublishedOutcome[]>;
  /** Records that the outcome event `eventId` went out (only while it still is the action's outcome). */
  markOutcomePublished(actionId: string, eventId: string): Promise<void>;
  /**
   * Claims up to `limit` unsettled actions for one reconciler: `executing` or `reconciling` whose lease
   * (`claimedAt`) began at or before `now - leaseMs`, and `outcome_unknown`; none whose target asked for time until after
   * `now` (`finish`'s `retryNotBefore`, `postpone`). Each becomes `reconciling` with a fresh
   * lease (`claimedAt = now`) and one more attempt. Concurrent reconcilers (in any instance) never claim the same
   * action; one that dies gives its actions up when their lease runs out.
   */
  claimUnsettled(now: Date, leaseMs: number, limit: number): Promise<UnsettledClaim[]>;
  /**
   * Moves an action to `state` only if it still is as `expected` (its state, and for `reconciling` the lease it was
   * claimed with): a reconciler whose lease ran out, or an answer for a check already settled, changes nothing.
   * Returns whether it moved.
   */
  settle(actionId: string, expected: { state: ExecutionState; claimedAt?: string }, state: ExecutionState, outcome: ActionRecord['outcome']): Promise<boolean>;
  /**
   * The actions in an unsettled state (`UNSETTLED_STATES`) and those stranded `executing` past their lease (`leaseMs`
   * before `now`: the executor stopped during the call, and no reconciler has claimed them yet), and since when the
   * oldest has been unsettled: from the moment its outcome first became unknown, or, for one stranded, from the end of
   * the lease of its call, whatever claims came after.
   */
  unsettledOutcomes(now: Date, leaseMs: number): Promise<UnsettledOutcomes>;
  /**
   * A review decision that arrived before the policy decision it answers: kept (the first one, if more come) until it has
   * been acted on, so neither a failed handler nor a crash between reading it and acting on it loses it.
   */
  keepEarlyApproval(actionId: string, event: ReviewDecidedEvent): Promise<void>;
  /** The review decision kept early for this action, if any (it stays kept). */
  earlyApproval(actionId: string): Promise<ReviewDecidedEvent | undefined>;
  /** Forgets the review decision kept early for this action, if it is this event (acted on now). */
  forgetEarlyApproval(actionId: string, eventId: string): Promise<void>;
}
