// The port of the review items, which intake (`queue/`), decisions (`approvals/`) and the reviewer API share.
// Adapters: `pg-review-item.repository.ts` (distributed), `in-memory-review-item.repository.ts` (embedded, tests).
import type { EventCause } from '@countersign/bus';
import type { AnyTopic, Proposal, TopicMap } from '@countersign/contracts';
import type { ItemReader, ReviewerSide } from './item-roles';

/** Where an item stands: `pending` until a human decides (or assesses, for an audit sample; or answers, for an outcome check). */
export type ReviewStatus =
  | 'pending'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'agreed'
  | 'disagreed'
  | 'happened'
  | 'not-happened'
  /** Approved with changes: a new action replaces it (docs/adr/0017); never executed. */
  | 'revised';

/** What the inbox feed needs of an item that left the queue (`leftSince`). */
export type LeftItem = Pick<ReviewItem, 'actionId' | 'status' | 'requiredRoles'> & { decidedAt: string; proposal: Pick<Proposal, 'tenant'> };

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
  /** When the SLA runs out: the review clock expires the item then, or re-routes it once to its fallback team. */
  dueAt: string;
  /** When the review clock escalates the item (a share of its SLA); absent once escalated, or when nothing escalates it. */
  escalateAt?: string;
  /** The roles the escalation adds (the next tier of each required role, from the contract); absent: none. */
  escalateTo?: string[];
  /** Where the item goes once when its SLA runs out (`whenUnavailable: {fallback}`); absent: it expires (fail closed). */
  fallbackTeam?: string;
  /** The SLA of its class, in seconds (a re-routed item gets it again). */
  slaSeconds?: number;
  /** How many steps the review clock took on it (escalation, re-route, expiry); absent: none. */
  clockStep?: number;
  escalatedAt?: string;
  reroutedAt?: string;
  status: ReviewStatus;
  /** The policy decision's risk score, the rules that fired and its risk class (absent on items queued before they were kept). */
  score?: number;
  rulesFired?: string[];
  riskClass?: string;
  /** The reviewer working the item, while their lease runs (`claims/`); a claim whose `until` passed holds nothing. */
  claim?: ReviewClaim;
  /** The approvers so far towards its quorum, in the order they approved; absent: none. */
  approvedBy?: string[];
  /**
   * The reviewers who wrote changes into this version through approve with changes (every reviser along the chain of
   * revisions that made it): none of them approves, revises or claims it; another reviewer decides it (ADR 0017,
   * addendum 2026-12-04). Absent: an agent's proposal as it came.
   */
  authoredBy?: string[];
  /**
   * When the action was first queued, on a version made by approve with changes: its first version's `createdAt` (each
   * version keeps the first's). Its approval latency and decision-quality records count from it. Absent: the item is
   * the action as first queued (`createdAt`), or a revision queued before it was kept (migration 0023 filled those in).
   */
  firstQueuedAt?: string;
  /**
   * The reviewers whose claim a review clock step (an escalation, a re-route) ended while it held: they sat on the item
   * until its time came, and none of them claims it again (red team, 2026-12-05). Absent: no step ended anyone's claim.
   */
  escalatedClaimants?: string[];
  /**
   * A revised item: the fingerprint (`canonicalDigest`) of what its reviser sent, the edited parameters exactly as sent
   * (masked placeholders and all) with the reason. A retry is "the same revision" only when it sends exactly that again
   * (red team, 2026-12-05); never shown to anyone (`publicItem` leaves it out). Absent: revised before it was kept.
   */
  revisionAsked?: string;
  /** Who decided the item (the reviewers of an approval or rejection), as the signed decision's `deciders` claim names them. */
  deciders?: string[];
  decisionReason?: string;
  decidedAt?: string;
}

/** Whose inbox page, filtered how (an absent filter: any). */
export interface InboxQuery {
  /**
   * Their roles, the tenants they serve (absent: every tenant; ADR 0052), and who they may propose as (`ReviewerSide`):
   * those agents' items are not theirs to decide.
   */
  reviewer: ReviewerSide & ItemReader;
  slaClass?: string;
  actionType?: string;
  tenant?: string;
  /** Only the items its agent proposed (`proposal.proposer.agentId`): a reviewer looking into one agent's work. */
  agentId?: string;
  limit: number;
}

/** A reviewer's lease on a pending item: who (id and display name) and until when. */
export interface ReviewClaim {
  by: string;
  name: string;
  until: string;
}

/** True when `claim` still holds at `now` (a lease that ran out holds nothing). */
export const claimHolds = (claim: ReviewClaim | undefined, now: Date): claim is ReviewClaim => !!claim && Date.parse(claim.until) > now.getTime();

/**
 * A pending item whose due time has passed: the review clock has not expired it yet (it runs once a period), but no
 * decision is taken on it any more (fail-closed expiry is at the due time, not at the clock's next turn).
 */
export const overdue = (item: ReviewItem, now: Date): boolean => item.status === 'pending' && Date.parse(item.dueAt) <= now.getTime();

/**
 * What else a decision's write checks and records, in the same atomic write: the approval that completes the quorum,
 * recorded only when the approvers so far are still `after` (in order; another approval meanwhile: nothing written),
 * and, with `claimant`, only when no one else's claim on the item holds at the decision's time.
 */
export interface DecideWith {
  approval?: { approver: string; reason: string; after: string[]; auth?: ApprovalAuth };
  claimant?: string;
  /** A revision: the fingerprint of what the reviser sent (`ReviewItem.revisionAsked`), stored with the decision. */
  revisionAsked?: string;
}

/**
 * How an approver signed in when they approved: the method (`bearer-token`, `oidc`) and, for a sign-in, the ID token's
 * `amr`. Kept with the approval, so the decision a later approver completes names each earlier one's own (red team,
 * 2026-12-05: every earlier approver was written down as `bearer-token`, an inbox sign-in with MFA too).
 */
export interface ApprovalAuth {
  authMethod: string;
  amr?: string[];
}

/** One approval towards an item's quorum: who, why, when, how they signed in (`unknown`: approved before it was kept). */
export interface Approval extends ApprovalAuth {
  approver: string;
  reason: string;
  approvedAt: string;
}

/** What the store told of an approval recorded before it was kept (migration 0010): its method is not known. */
export const UNKNOWN_AUTH_METHOD = 'unknown';

/**
 * What else `addApproval` records with an approval: how the approver signed in, and the event that tells the audit of
 * an approval that does not complete the quorum (`review.approval.recorded.v1`), built from the approvers so far once
 * they are known (undefined: none to tell) and stored with the approval in the same write, in the clock's outbox
 * (`unpublishedClockEvents`), so an approval is never kept without it. Nothing is built for an approval counted before.
 */
export interface ApprovalRecording {
  auth?: ApprovalAuth;
  event?: (approvers: string[]) => DecisionEvent | undefined;
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

/**
 * What the review clock does to a pending approval whose time came (`review-clock/`): escalate it (its roles gain the
 * next tier), re-route it once to its fallback team (new roles, a new due time), or expire it (final, never executed).
 * Each with its signed event, stored in the same write: escalations and re-routes beside the item (the clock's
 * outbox), an expiry as the item's decision event (the decision outbox, like an approval's).
 */
export type ClockStep =
  | { kind: 'escalate'; requiredRoles: string[]; event: DecisionEvent }
  | { kind: 'reroute'; requiredRoles: string[]; dueAt: string; event: DecisionEvent }
  | { kind: 'expire'; by: string[]; reason: string; event: DecisionEvent };

/** A step the clock took: which, the item as it now stands, and the event to publish. */
export interface ClockClaim {
  step: ClockStep['kind'];
  item: ReviewItem;
  event: DecisionEvent;
}

/** An escalation's or re-route's event as stored beside its item; `publishedAt` absent while still to publish. */
export interface StoredClockEvent extends DecisionEvent {
  actionId: string;
  createdAt: string;
  publishedAt?: string;
}

/** The policy decision that queued the item: the cause of every event about it (a decision, a reveal, an assessment). */
export const queuedBy = (item: ReviewItem): EventCause => ({ id: item.decisionEventId, subject: item.actionId, correlationId: item.correlationId });

/** What the tenant's backlog count needs of an item: its place in the queue and its tenant. */
export type TenantPendingAheadOf = Pick<ReviewItem, 'actionId' | 'createdAt'> & { proposal: Pick<ReviewItem['proposal'], 'tenant'> };

/** Whose recent decisions the card shows: the item's tenant's (`proposal.tenant`), on its target or by its agent. */
export type RecentDecisionsOf = { tenant: string } & ({ target: string } | { agentId: string });

/**
 * The review queue: items keyed by action id, pending ones ordered by due time. A record of truth (PostgreSQL in the
 * distributed mode): a Redis flush or restart loses no item. The backlog gauges (a later issue) live in Redis as
 * derived state, rebuilt from this store after a flush.
 */
export interface ReviewItemRepository {
  /** Adds the item unless one with the same action id exists (redelivery). Returns true when added. */
  add(item: ReviewItem): Promise<boolean>;
  get(actionId: string): Promise<ReviewItem | undefined>;
  /**
   * Pending items, most urgent first. With `reviewer`: only those they work (of a tenant they serve, and no role named
   * or one of theirs; `item-roles.ts`), filtered where the items are, so the first `limit` of theirs come back whatever
   * is ahead (another tenant's backlog included).
   */
  pending(limit: number, reviewer?: ItemReader): Promise<ReviewItem[]>;
  /**
   * The inbox's page: the pending approvals `q.reviewer` may decide (of a tenant they serve; no role required, or one
   * they hold; not proposed by them; not approved by them already), matching the filters, most urgent first, at most `q.limit`. Filtered where
   * the items are, so a reviewer's page is full whatever the others' items ahead of theirs.
   */
  inbox(q: InboxQuery): Promise<ReviewItem[]>;
  /**
   * How many pending approvals of `item`'s proposer (the same principal) were queued before it (by queue time, then
   * action id), counted up to `atMost`: the intake compares it with the contract's `degradation.maxPendingPerProposer`.
   */
  pendingAhead(item: Pick<ReviewItem, 'actionId' | 'proposerPrincipal' | 'createdAt'>, atMost: number): Promise<number>;
  /**
   * How many pending approvals of `item`'s tenant (`proposal.tenant`, as stored), whichever proposer's, were queued
   * before it (by queue time, then action id), counted up to `atMost`: the intake compares it with the contract's
   * `degradation.maxPendingPerTenant`.
   */
  tenantPendingAhead(item: TenantPendingAheadOf, atMost: number): Promise<number>;
  /**
   * Moves a pending item to a final status, atomically: of two reviewers deciding at once, one wins.
   * Returns the updated item, or undefined when it was no longer pending (or `with`'s conditions no longer held).
   * `event`, the decision's event, is stored in the same write (the outbox), unpublished: a decision that others must
   * hear of is never kept without its event. Durable when it resolves; concurrent decisions may share one commit
   * (the PostgreSQL adapter's group commit, docs/adr/0028).
   */
  decide(
    actionId: string,
    status: Exclude<ReviewStatus, 'pending'>,
    by: string[],
    reason: string,
    at: Date,
    event?: DecisionEvent,
    with_?: DecideWith,
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
  addApproval(actionId: string, approver: string, reason: string, recording?: ApprovalRecording): Promise<Array<{ approver: string; reason: string }>>;
  /**
   * The review clock's claim: the pending approvals whose escalation or due time is at or before `now`, most overdue
   * first (at most `limit`), each given to `stepFor` and changed as the step it returns says (none: left as it is),
   * its event stored in the same write. Atomic per item: of claimers running at once (several instances), each item
   * goes to one, and a reviewer's decision racing a step waits for it (and then finds an expired item no longer
   * pending). A step applies to the item as `stepFor` saw it. Returns the steps taken.
   */
  claimDue(now: Date, limit: number, stepFor: (item: ReviewItem) => ClockStep | undefined): Promise<ClockClaim[]>;
  /**
   * Gives `claim` (a lease) on a pending item to its reviewer, atomically, when no one else's claim holds at `now`:
   * free, run out, or theirs already (a renewal). Returns the claim that holds after the call, theirs or another
   * reviewer's; undefined when the item is unknown or no longer pending.
   */
  claim(actionId: string, claim: ReviewClaim, now: Date): Promise<ReviewClaim | undefined>;
  /**
   * The inbox's claim in one step: gives `claim` to `reviewer` (a renewal if theirs) on a pending approval they may
   * decide (of a tenant they serve, no role required or one they hold, not proposed by them or as an agent they may propose as, not approved by them already,
   * not among its `escalatedClaimants`) when no one else's
   * claim holds at `now`, and returns the item as claimed. Undefined when any of that does not hold (nothing changed):
   * the caller then reads the item to say why. A lease, not a record of truth: it may be written without waiting for
   * the disk (a crash may lose a claim, never a decision; docs/adr/0028). With `maxHeld`, a new claim (not a renewal)
   * is given only while the reviewer holds fewer than `maxHeld` claims at `now`, counted in the same statement (the
   * claim cap, `claims/`): concurrent claims of one reviewer in one batch count one another.
   */
  claimFor(actionId: string, reviewer: ReviewerSide & ItemReader, claim: ReviewClaim, now: Date, maxHeld?: number): Promise<ReviewItem | undefined>;
  /** The pending items whose claim `by` holds at `now` (action ids, in order): the claim cap counts them (`claims/`). */
  claimsHeldBy(by: string, now: Date): Promise<string[]>;
  /** Ends `by`'s claim on the item (nothing when someone else holds it). Returns true when a claim of theirs ended. */
  releaseClaim(actionId: string, by: string): Promise<boolean>;
  /** The approvals counted towards the item's quorum, in the order they came (empty when none or unknown). */
  approvals(actionId: string): Promise<Approval[]>;
  /**
   * Decided approval items (approved, rejected, expired) of `of.tenant` on the same target, or proposed by the same
   * agent, newest decision first, at most `limit`, leaving out `exceptActionId`: the card's "recent decisions". Only the
   * tenant's own: another tenant's decision on a target of the same name showed on the card, its reviewer and reason
   * with it (security probe M4).
   */
  recentDecisions(of: RecentDecisionsOf, exceptActionId: string, limit: number): Promise<ReviewItem[]>;
  /**
   * The items that left the queue (decided, expired, revised) at or after `since` by their `decidedAt`, newest first,
   * at most `limit`: the inbox feed tells of an item that arrived and left between two of its looks (`inbox/`).
   */
  leftSince(since: Date, limit: number): Promise<LeftItem[]>;
  /** Escalation and re-route events not yet published, created at or before `createdBefore`, oldest first. */
  unpublishedClockEvents(createdBefore: Date, limit: number): Promise<StoredClockEvent[]>;
  /** Records that a clock event was published. */
  markClockEventPublished(eventId: string, at: Date): Promise<void>;
}
