import {
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { DecisionSigner, SealableEvent, sealEvent } from '@countersign/approval';
import type { EventBus } from '@countersign/bus';
import { maskText } from '@countersign/guardrails';
import { canonicalDigest, derivedEventId, TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, Principal, requireEveryTenant } from '@countersign/nest';
import type { BacklogGauges } from '../degradation/backlog-gauges';
import { queuedBy, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { APPROVAL_SIGNING_KEY, BACKLOG_GAUGES, DECISION_QUALITY, REVIEW_ITEMS } from '../tokens';
import type { DecisionQuality } from './decision-quality';
import type { QueueSample, SecondReview, SignIn } from './decision-quality.store';
import { holdsItemRole, isProposerOf } from '../review-item/item-roles';
import { secondReviewView, shownDigest } from '../review-item/shown';
import { reviewerActor } from '../review-item/reviewer-actor';

/**
 * Second reviews are sampled from every tenant's decisions and kept without their tenant, so a reviewer bound to tenants
 * takes none (a refusal, not a list that would quietly leave out their tenant's beyond its first page; ADR 0052).
 */
const SECOND_REVIEWS = 'the blind second review';

/**
 * Decision quality's running part (ADR 0018): records when a card is first served to a reviewer, takes blind second
 * verdicts, and on a timer audits canary misses (`review.canary.missed.v1`), closes the records of canaries that left the
 * queue (decided, or expired by the review clock like any item) and samples the queue for the governance page.
 */
@Injectable()
export class DecisionQualityService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running = false;
  private lastSample = 0;
  private lastPurge = 0;

  constructor(
    @Inject(DECISION_QUALITY) readonly quality: DecisionQuality,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    @Optional() @Inject(BACKLOG_GAUGES) private readonly gauges?: BacklogGauges,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => void this.tick(), this.quality.options.tickMs ?? 1000);
    this.timer.unref();
  }

  onApplicationShutdown() {
    clearInterval(this.timer);
    this.quality.stop();
  }

  /** Records that the inbox served `reviewer` the card of `actionId` now (the server's clock): their dwell starts here. */
  async shown(actionId: string, reviewer: string, now = new Date()): Promise<void> {
    await this.quality.store.cardShown(actionId, reviewer, now).catch((err: unknown) => this.logger.warn({ err }, 'card view not recorded'));
  }

  /** The second reviews `reviewer` may decide, each with the item as it was shown before its first decision. */
  async openSecondReviews(reviewer: Principal): Promise<Array<{ review: SecondReview; item: ReviewItem }>> {
    requireSecondReviewer(reviewer);
    const open = await this.quality.store.openSecondReviews(reviewer.id, reviewer.roles, 20);
    const out: Array<{ review: SecondReview; item: ReviewItem }> = [];
    for (const review of open) {
      const item = await this.items.get(review.actionId);
      // The store leaves out the ids it excludes; someone who may propose as the item's agent is left out here, and so
      // is any approver or author of the item (a second review sampled before they were all excluded there).
      if (item && !isProposerOf(reviewer, item) && !(await this.tookPart(item)).has(reviewer.id)) out.push({ review, item });
    }
    return out;
  }

  /**
   * Refuses `viewer` an item whose first decision is under a blind second review still open (no verdict yet), unless
   * they took that decision or proposed the action: the second reviewer must not read it on the item's card or in the
   * API while the second review waits (red team: blind on its page only). Shown again once the verdict is in.
   */
  async requireNotWithheld(viewer: Principal, item: ReviewItem): Promise<void> {
    if (item.status === 'pending') return;
    const review = await this.quality.store.secondReview(item.actionId);
    if (review && !review.verdict && !review.excluded.includes(viewer.id))
      throw new ForbiddenException(`the decision on action ${item.actionId} is under a blind second review: it is shown once the second verdict is in`);
    // Another version of the same action (a revision's new version, or the version it revised) tells that decision as
    // well (red team, 2026-12-07: the new version's card said "approved by alice", the first decision under review).
    const story = (await this.quality.store.openInStories([item.correlationId])).find((r) => r.actionId !== item.actionId && !r.excluded.includes(viewer.id));
    if (story)
      throw new ForbiddenException(
        `the decision on action ${item.actionId} belongs with action ${story.actionId}, whose decision is under a blind second review: it is shown once the second verdict is in`,
      );
  }

  /**
   * `items` without those whose decision is under a blind second review still open, or belongs with one under it (another
   * version of the same action: the same correlation id): a card's recent decisions.
   */
  async shownDecisions(items: ReviewItem[]): Promise<ReviewItem[]> {
    if (!items.length) return items;
    const [open, stories] = await Promise.all([
      this.quality.store.underSecondReview(items.map((i) => i.actionId)),
      this.quality.store.openInStories([...new Set(items.map((i) => i.correlationId))]),
    ]);
    const withheld = new Set(stories.map((r) => r.correlationId));
    return open.size || withheld.size ? items.filter((i) => !open.has(i.actionId) && !withheld.has(i.correlationId)) : items;
  }

  /**
   * A blind second verdict. It changes nothing that executes: the first decision stands; a disagreement is for leads. It
   * keeps what the reviewer was shown (`secondReviewView`); `seenDigest`, the digest the page sent back, must be of that
   * view (409 otherwise: look again).
   */
  async decideSecond(
    actionId: string,
    reviewer: Principal,
    verdict: 'approved' | 'rejected',
    reason: string,
    now = new Date(),
    seenDigest?: string,
  ): Promise<void> {
    requireSecondReviewer(reviewer);
    const review = await this.quality.store.secondReview(actionId);
    if (!review) throw new NotFoundException(`no second review for action ${actionId}`);
    const item = await this.items.get(actionId);
    if (review.excluded.includes(reviewer.id) || (item && (isProposerOf(reviewer, item) || (await this.tookPart(item)).has(reviewer.id))))
      throw new ForbiddenException(
        'a second review must come from someone else than the first decision, its approvers, the authors of the version and the proposer',
      );
    if (!holdsItemRole(review, reviewer.roles))
      throw new ForbiddenException(`this second review requires one of the roles: ${review.requiredRoles.join(', ')}`);
    const view = item && secondReviewView(item);
    if (view && seenDigest !== undefined && seenDigest !== shownDigest(view))
      throw new ConflictException('the item changed since it was shown (shownDigest does not match): look again before giving a verdict');
    // Stored masked, as every reason a person writes (masked-reasons.ts): a reviewer's note may quote a card or an IBAN.
    // How they signed in goes with the verdict: its audit event, emitted from the store, names it (security probe M3).
    const { authMethod = 'bearer-token', amr, authTime } = reviewerActor(reviewer);
    const auth: SignIn = { authMethod, ...(amr && { amr }), ...(authTime !== undefined && { authTime }) };
    const shown = view && { view, echoed: seenDigest !== undefined };
    if (!(await this.quality.store.decideSecondReview(actionId, reviewer.id, verdict, maskText(reason), now, auth, shown)))
      throw new ConflictException(`the second review of ${actionId} was decided meanwhile`);
    // Audited at once; should that fail, the next round does (the verdict stands either way).
    await this.auditSecondVerdicts().catch((err: unknown) => this.logger.warn({ err, actionId }, 'second verdict not audited yet; the next round tries again'));
  }

  /**
   * Everyone who took part in the item's first decision, as the second review must exclude them: its deciders, every
   * approver recorded towards its quorum (an approver who was not among the final deciders too: a quorum's approvals
   * can be followed by another reviewer's rejection) and every author of its version (red team, 2026-12-05).
   */
  private async tookPart(item: ReviewItem): Promise<Set<string>> {
    const approvals = await this.items.approvals(item.actionId);
    return new Set([...(item.deciders ?? []), ...(item.approvedBy ?? []), ...approvals.map((a) => a.approver), ...(item.authoredBy ?? [])]);
  }

  /**
   * Every second verdict is audited (red team, 2026-12-05: they were only stored): `review.second-review.recorded.v1`,
   * the second reviewer its actor, sealed with the decision key as `review.approval.recorded.v1` is, its id derived
   * from the item's cause and its time the verdict's, so a re-emit is the same event and is dropped. A verdict on a
   * canary is also that reviewer's decision on it, counted as any: approved, a miss (audited as `review.canary.missed.v1`
   * by `auditMisses`), rejected, a catch.
   */
  async auditSecondVerdicts(): Promise<number> {
    const verdicts = await this.quality.store.unauditedSecondVerdicts(100);
    for (const v of verdicts) {
      const item = await this.items.get(v.actionId);
      if (!item || !v.verdict || !v.reviewer || !v.decidedAt) {
        // Nothing to say it about (the item is gone): marked, so it does not hold up the others.
        await this.quality.store.markSecondVerdictAudited(v.actionId, new Date());
        continue;
      }
      if (this.quality.isCanary(item)) {
        await this.quality.store.recordDecision({
          actionId: item.actionId,
          reviewer: v.reviewer,
          decision: v.verdict,
          slaClass: item.slaClass,
          decidedAt: v.decidedAt,
          queuedAt: item.createdAt,
          canary: true,
        });
        // Shown to leads at the next page load, as a decision taken here is (red team, 2026-12-07: up to 10 s later).
        this.quality.noteDecisionsChanged();
      }
      const made = this.bus.envelope(
        TOPICS.secondReviewRecorded,
        {
          verdict: v.verdict,
          firstDecision: v.firstDecision,
          reason: v.reason ?? '-',
          digest: item.digest,
          slaClass: v.slaClass,
          ...(v.shown && { shown: v.shown.view, shownDigest: canonicalDigest(v.shown.view), shownEchoed: v.shown.echoed }),
        },
        // A verdict given before its sign-in was kept (migration 0013) names no method: a guess would be false.
        { cause: queuedBy(item), discriminator: 'second-review', actor: { id: v.reviewer, kind: 'human', ...v.reviewerAuth }, time: new Date(v.decidedAt) },
      );
      const event = { ...made, data: { ...made.data, seal: sealEvent(this.key, made as unknown as SealableEvent, 'review-decision') } };
      await this.bus.publish(TOPICS.secondReviewRecorded, event);
      await this.quality.store.markSecondVerdictAudited(v.actionId, new Date());
    }
    return verdicts.length;
  }

  /** One round of the timer; never throws, one at a time. */
  async tick(now = new Date()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // The second verdicts first: a canary's approved there becomes a miss that this round audits too.
      await this.auditSecondVerdicts();
      await this.auditMisses();
      await this.retireCanaries(now);
      if (now.getTime() - this.lastSample >= (this.quality.options.sampleEveryMs ?? 60_000)) {
        await this.sample(now);
        this.lastSample = now.getTime();
      }
      if (now.getTime() - this.lastPurge >= 3600_000) {
        await this.quality.store.purge(new Date(now.getTime() - (this.quality.options.retentionDays ?? 30) * 86_400_000));
        this.quality.noteDecisionsChanged();
        this.lastPurge = now.getTime();
      }
    } catch (err) {
      this.logger.warn({ err }, 'decision quality: a round failed; the next one tries again');
    } finally {
      this.running = false;
    }
  }

  /**
   * Every canary approved is audited: an event with the reviewer as actor (an id derived from canary and reviewer: a
   * re-emit is dropped). How the reviewer signed in (a bearer token or the inbox) is not recorded with the decision, so
   * the actor does not claim one (`authMethod` left out).
   */
  async auditMisses(): Promise<number> {
    const misses = await this.quality.store.unauditedMisses(100);
    for (const m of misses) {
      const canary = await this.quality.store.canary(m.actionId);
      const item = await this.items.get(m.actionId);
      await this.bus.emit(
        TOPICS.canaryMissed,
        {
          template: canary?.template ?? 'unknown',
          actionType: canary?.actionType ?? item?.proposal.actionType ?? 'unknown',
          slaClass: m.slaClass,
          digest: item?.digest ?? '0'.repeat(64),
          ...(m.dwellMs !== undefined && { dwellMs: m.dwellMs }),
        },
        {
          subject: m.actionId,
          id: derivedEventId(TOPICS.canaryMissed, m.actionId, m.reviewer),
          actor: { id: m.reviewer, kind: 'human' },
          // When the reviewer approved it, not when this round audited it (red team, 2026-12-07: 52 s later, across a restart).
          ...(m.decidedAt && { time: new Date(m.decidedAt) }),
        },
      );
      await this.quality.store.markMissAudited(m.actionId, m.reviewer, new Date());
      this.logger.info({ actionId: m.actionId, reviewer: m.reviewer }, 'a canary was approved: the miss is audited');
    }
    return misses.length;
  }

  /**
   * Closes the records of canaries no longer pending: decided by a reviewer, or expired by the review clock at their due
   * time (with the reason and decider any expiry has: a canary's expiry in a card's recent decisions reads as any other).
   */
  async retireCanaries(now: Date): Promise<void> {
    for (const c of await this.quality.store.openCanaries(100)) {
      const item = await this.items.get(c.actionId);
      if (item?.status !== 'pending') await this.quality.store.retireCanary(c.actionId, now);
    }
  }

  /** The queue's depth and oldest age per SLA class: from the backlog gauges when the degradation feature runs, else the items. */
  async sample(now: Date): Promise<void> {
    const samples: QueueSample[] = [];
    if (this.gauges) {
      const snap = await this.gauges.snapshot();
      for (const [slaClass, g] of Object.entries(snap.bySlaClass))
        samples.push({
          sampledAt: now.toISOString(),
          slaClass,
          depth: g.depth,
          ...(g.oldestCreatedAt && { oldestAgeMs: Math.max(0, now.getTime() - g.oldestCreatedAt) }),
        });
    } else {
      const by = new Map<string, { depth: number; oldest: number }>();
      for (const i of await this.items.pending(1000)) {
        if ((i.kind ?? 'approval') !== 'approval' || this.quality.isCanary(i)) continue;
        const g = by.get(i.slaClass) ?? { depth: 0, oldest: Infinity };
        g.depth++;
        g.oldest = Math.min(g.oldest, Date.parse(i.createdAt));
        by.set(i.slaClass, g);
      }
      for (const [slaClass, g] of by)
        samples.push({ sampledAt: now.toISOString(), slaClass, depth: g.depth, oldestAgeMs: Math.max(0, now.getTime() - g.oldest) });
    }
    // A class with nothing waiting is sampled at 0, every class the contract names: left out, its line stayed at its last
    // depth and age on the governance page after its items expired (red team, 2026-12-07), while /metrics said 0.
    const classes = Object.keys(this.quality.options.policy?.().contract.slaClasses ?? {});
    for (const slaClass of classes) if (!samples.some((x) => x.slaClass === slaClass)) samples.push({ sampledAt: now.toISOString(), slaClass, depth: 0 });
    if (!samples.length) samples.push({ sampledAt: now.toISOString(), slaClass: 'all', depth: 0 });
    await this.quality.store.addQueueSamples(samples);
  }
}

/**
 * Second reviews are for reviewers with every tenant: a person holding only an item's role (`finance`, a lead) was shown
 * the blind page and its items, though only its verdict refused them (red team, 2026-12-08).
 */
function requireSecondReviewer(p: Principal): void {
  if (!p.roles.includes('reviewer')) throw new ForbiddenException('second reviews are for reviewers: your account has no reviewer role');
  requireEveryTenant(p, SECOND_REVIEWS);
}
