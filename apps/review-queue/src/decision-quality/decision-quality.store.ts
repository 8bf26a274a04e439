import type { ReviewerStats } from './statistics';
// The port of decision quality's records (ADR 0018): cards shown, each reviewer's decision with its dwell, canaries,
// blind second reviews and queue samples. Adapters: `pg-decision-quality.store.ts` (PostgreSQL, and PGlite embedded),
// `in-memory-decision-quality.store.ts` (tests); both pass `decision-quality.suite.ts`.
import type { Actor } from '@countersign/contracts';

/** One reviewer's decision on one approval item (each approver of a quorum has one). */
export interface ReviewerDecision {
  actionId: string;
  reviewer: string;
  decision: 'approved' | 'rejected';
  slaClass: string;
  decidedAt: string;
  /** When the item was queued: decided − queued is the approval latency. */
  queuedAt: string;
  /** Card first served to this reviewer → decided (ms); absent when the inbox never served them the card. */
  dwellMs?: number;
  canary: boolean;
  /** For a canary approved (a miss): when its audit event went out; absent while still to emit. */
  missAuditedAt?: string;
}

/** A canary in the queue: which template it came from (the review item itself says nothing of it). */
export interface CanaryRecord {
  actionId: string;
  template: string;
  actionType: string;
  slaClass: string;
  createdAt: string;
  retiredAt?: string;
}

/**
 * How a reviewer signed in (the actor's `authMethod`, the ID token's `amr` and `auth_time` in ms), kept with a verdict
 * audited after the request that gave it: the audit event names it (security probe M3).
 */
export type SignIn = Required<Pick<Actor, 'authMethod'>> & Pick<Actor, 'amr' | 'authTime'>;

/** A sampled human decision, to be decided again by a second reviewer blind to the first. */
export interface SecondReview {
  actionId: string;
  /**
   * The item's correlation id: the story every version of its action shares (a revision's new version keeps it). Its
   * decisions are withheld from the second reviewer too while the review is open. Absent: kept before migration 0021
   * for an item no longer held.
   */
  correlationId?: string;
  slaClass: string;
  requiredRoles: string[];
  firstDecision: 'approved' | 'rejected';
  /**
   * Never the second reviewer: the first decision's reviewers, the proposer, every approver of the item and every
   * author of its version (red team, 2026-12-05: an approver who was not the final decider could be offered it).
   */
  excluded: string[];
  createdAt: string;
  reviewer?: string;
  /** How the second reviewer signed in when they gave the verdict; absent: given before it was kept (migration 0013). */
  reviewerAuth?: SignIn;
  verdict?: 'approved' | 'rejected';
  reason?: string;
  decidedAt?: string;
  /** When the verdict's audit event (`review.second-review.recorded.v1`) went out; absent while still to emit. */
  verdictAuditedAt?: string;
  /** What the second reviewer was shown when they gave the verdict; absent: given before it was kept (migration 0022). */
  shown?: SecondShown;
}

/** The second-review page's view of an item as its reviewer saw it (`secondReviewView`), and whether the page echoed its digest. */
export interface SecondShown {
  view: Record<string, unknown>;
  echoed: boolean;
}

/** The queue's depth and oldest age in one SLA class at one moment. */
export interface QueueSample {
  sampledAt: string;
  slaClass: string;
  depth: number;
  oldestAgeMs?: number;
}

/** A policy decision's lane as the review queue heard it (`policy.decision.made.v1`): the automation ratio's input. */
export type Lane = 'autonomous' | 'review' | 'prohibited';

/** Policy decisions per lane in one hour (`hour`: its start, ISO). */
export interface LaneCounts {
  hour: string;
  autonomous: number;
  review: number;
  prohibited: number;
}

/**
 * An operator overriding the controls: a degradation-mode override set or cleared (`control.degradation.override-set.v1`)
 * or an autonomy flag changed (`control.autonomy.changed.v1`).
 */
export interface OperatorOverride {
  eventId: string;
  kind: 'mode-override' | 'autonomy-change';
  at: string;
}

/**
 * What the governance page shows of the reviewers' decisions, computed where they are kept: the page read up to 50,000
 * of them on the review queue's event loop (ADR 0053, addendum 2026-12-07). Each field is what `summarize`
 * (statistics.ts) makes of the same decisions: every store's answer is held to it.
 */
export interface DecisionSummary {
  /** `reviewerStats`: per reviewer, their decisions that are no canary, by reviewer. */
  reviewers: ReviewerStats[];
  /** `dwellByReviewerAndClass`. */
  dwell: Array<{ reviewer: string; slaClass: string; medianDwellMs: number; n: number }>;
  /** `canariesByReviewer`. */
  canaries: Array<{ reviewer: string; caught: number; missed: number }>;
  /** The canaries' action ids, sorted (a canary's second review tests its second reviewer: `agreementByClass`). */
  canaryIds: string[];
  /** Human decisions (no canary) per approval-latency bucket: `histogram` of queued → decided in minutes, by `latencyEdgesMin`. */
  latency: number[];
  /** Human rejections per UTC day (`YYYY-MM-DD`), the days that had any. */
  rejectionsByDay: Record<string, number>;
}

export interface DecisionQualityStore {
  /** Records that `reviewer` was served the card of `actionId` at `at`, unless they were before (the first time counts). */
  cardShown(actionId: string, reviewer: string, at: Date): Promise<void>;
  /** When `reviewer` was first served the card; undefined when never. */
  firstShown(actionId: string, reviewer: string): Promise<Date | undefined>;
  /**
   * Records a reviewer's decision unless one is recorded (a retry); returns true when recorded now. Without `dwellMs`,
   * its dwell is the time from the card first shown to that reviewer (`cardShown`) to the decision, none if never shown.
   */
  recordDecision(d: ReviewerDecision): Promise<boolean>;
  /** Decisions at or after `since`, oldest first: the newest `limit` of them (scale probe, 2026-12-06: it kept the oldest). */
  decisionsSince(since: Date, limit: number): Promise<ReviewerDecision[]>;
  /**
   * `summarize` of `decisionsSince(since, limit)` without the decisions under a blind second review still open, without
   * reading the decisions out. Counted, such a decision told a lead who was also its second reviewer what it was: the
   * first decider's approvals went up by one (red team, 2026-12-08). It is counted once the verdict is in.
   */
  decisionSummary(since: Date, limit: number, latencyEdgesMin: number[]): Promise<DecisionSummary>;
  /** Canaries approved whose audit event is still to emit, oldest first. */
  unauditedMisses(limit: number): Promise<ReviewerDecision[]>;
  markMissAudited(actionId: string, reviewer: string, at: Date): Promise<void>;
  addCanary(c: CanaryRecord): Promise<void>;
  canary(actionId: string): Promise<CanaryRecord | undefined>;
  /** Canaries not yet retired, oldest first. */
  openCanaries(limit: number): Promise<CanaryRecord[]>;
  /** Records that a canary left the queue unanswered (its due time came); nothing is published for it. */
  retireCanary(actionId: string, at: Date): Promise<void>;
  /** Adds a second review unless the item has one. */
  addSecondReview(r: SecondReview): Promise<void>;
  secondReview(actionId: string): Promise<SecondReview | undefined>;
  /** Which of `actionIds` have a second review still open (no verdict yet): their first decision is withheld meanwhile. */
  underSecondReview(actionIds: string[]): Promise<Set<string>>;
  /** The open second reviews (no verdict yet) of these stories (`SecondReview.correlationId`). */
  openInStories(correlationIds: string[]): Promise<SecondReview[]>;
  /** Open second reviews that `reviewer` (with `roles`) may decide: a required role held, not excluded; oldest first. */
  openSecondReviews(reviewer: string, roles: string[], limit: number): Promise<SecondReview[]>;
  /**
   * Records the second verdict (with how its reviewer signed in and what they were shown); of two at once one wins. False
   * when decided already.
   */
  decideSecondReview(
    actionId: string,
    reviewer: string,
    verdict: 'approved' | 'rejected',
    reason: string,
    at: Date,
    auth?: SignIn,
    shown?: SecondShown,
  ): Promise<boolean>;
  /** Second verdicts whose audit event is still to emit, oldest verdict first. */
  unauditedSecondVerdicts(limit: number): Promise<SecondReview[]>;
  markSecondVerdictAudited(actionId: string, at: Date): Promise<void>;
  /** Second reviews decided at or after `since`. */
  secondReviewsSince(since: Date, limit: number): Promise<SecondReview[]>;
  addQueueSamples(samples: QueueSample[]): Promise<void>;
  /** Samples at or after `since`, oldest first. */
  queueSamplesSince(since: Date): Promise<QueueSample[]>;
  /** Records a policy decision's lane once per event id (a redelivery counts once). */
  recordLane(eventId: string, lane: Lane, at: Date): Promise<void>;
  /**
   * Policy decisions per lane and hour from the hour of `since` (that hour whole; hours without any absent), oldest
   * first: counts kept per hour as lanes are recorded, so a read costs the hours, not the decisions.
   */
  laneCountsSince(since: Date): Promise<LaneCounts[]>;
  /** Records an operator override once per event id. */
  recordOverride(o: OperatorOverride): Promise<void>;
  /** Operator overrides at or after `since`, oldest first. */
  overridesSince(since: Date): Promise<OperatorOverride[]>;
  /**
   * Drops what is older than `before` (the retention): samples, card views, lanes and overrides (lane counts by whole
   * hours before its hour), reviewer decisions, retired canaries and second reviews decided. What is still to audit stays
   * (a canary's approval whose miss is not audited, with its canary; a second verdict not audited), and so does an open
   * second review (it withholds its item until the verdict is in).
   */
  purge(before: Date): Promise<void>;
}
