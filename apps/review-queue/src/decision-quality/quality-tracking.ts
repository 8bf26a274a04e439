import { serviceActor } from '@countersign/bus';
import type { Logger } from '@countersign/logging';
import type { ClockClaim, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import type { CanaryTemplate, DecisionQuality } from './decision-quality';

/** How many items' canary-ness the decision path remembers (a decision on one forgotten reads it again). */
const CANARY_MEMO = 10_000;
/** The review queue's own actor id, as it signs the decisions it takes itself. */
const QUEUE = serviceActor('review-queue').id;

/**
 * The review items with decision quality kept beside them (ADR 0018), the way `withBacklogGauges` keeps the gauges:
 * - a real approval item queued may bring a canary after it (sampled; it joins the queue after a random delay);
 * - each reviewer's approval or rejection of an approval item is recorded with its dwell (first shown → decided);
 * - a canary's decision is stored with its event marked published (never sent) and answered as "decided meanwhile, by
 *   the same reviewer" (the approvals' retry path finds nothing left to publish), so nothing outside the review
 *   queue ever hears of a canary: no executor, orchestrator or audit completeness check sees an action that was never
 *   proposed. The review clock steps it like any item (escalation, fallback team, expiry with the same reasons), so its
 *   card and the recent decisions read alike; its steps' events are stored as marked published and never go out;
 * - a human decision may be sampled for a blind second review.
 * Recording is best effort after the write (logged on failure): quality is measured, never in the way of a decision.
 */
/**
 * What a reviewer's decision counts as: an approval with changes (`revised`) is an approval (on a canary, a miss
 * like any other); an expiry or an assessment is no reviewer's decision on an approval item.
 */
const reviewersDecision = (status: string): 'approved' | 'rejected' | undefined =>
  status === 'approved' || status === 'revised' ? 'approved' : status === 'rejected' ? 'rejected' : undefined;

export function withDecisionQuality(items: ReviewItemRepository, quality: DecisionQuality, logger: Logger): ReviewItemRepository {
  const store = quality.store;
  const soft = (what: string) => (err: unknown) => logger.warn({ err }, `decision quality: ${what} not recorded`);

  // Its dwell is the store's: from the card first shown to this reviewer to `at`, in the same write.
  const record = async (item: ReviewItem, reviewer: string, decision: 'approved' | 'rejected', at: Date) => {
    const canary = quality.isCanary(item);
    await store.recordDecision({
      actionId: item.actionId,
      reviewer,
      decision,
      slaClass: item.slaClass,
      decidedAt: at.toISOString(),
      // A version made by approve with changes: from its first version's queueing, as the approval latency.
      queuedAt: item.firstQueuedAt ?? item.createdAt,
      canary,
    });
    quality.noteDecisionsChanged();
  };

  // The canary's record first: an item marked as a canary is never without its template. Nothing is stored before
  // its release, so a restart meanwhile loses a sample, nothing else.
  const release = async (real: ReviewItem, template: CanaryTemplate) => {
    const item = await quality.canaryItem(real, template, new Date());
    await store.addCanary({
      actionId: item.actionId,
      template: template.id,
      actionType: item.proposal.actionType,
      slaClass: item.slaClass,
      createdAt: item.createdAt,
    });
    await items.add(item);
  };
  const add: ReviewItemRepository['add'] = async (item) => {
    const added = await items.add(item);
    if (added && (item.kind ?? 'approval') === 'approval') {
      const canary = quality.sampleCanary(item);
      if (canary?.delayMs === 0) await release(item, canary.template).catch(soft('canary'));
      else if (canary) quality.later(() => void release(item, canary.template).catch(soft('canary')), canary.delayMs);
    }
    return added;
  };

  const addApproval: ReviewItemRepository['addApproval'] = async (actionId, approver, reason, recording) => {
    // A canary's partial approval is kept like any (it counts, and is a miss below), but its event is never built: no
    // event about a canary leaves the queue (the miss is audited as `review.canary.missed.v1`).
    const told = recording?.event && (await isCanary(actionId)) ? { ...recording, event: undefined } : recording;
    const approvals = await items.addApproval(actionId, approver, reason, told);
    // A quorum's approvals are each a reviewer's decision (and each one a miss on a canary), recorded as they come.
    const item = approvals.some((a) => a.approver === approver) ? await items.get(actionId) : undefined;
    if (item && (item.kind ?? 'approval') === 'approval') await record(item, approver, 'approved', new Date()).catch(soft('approval'));
    return approvals;
  };

  // Whether an item is a canary never changes (its action id and the event that queued it are fixed): known from the
  // read every decision makes first (the approval's), it spares the decision a second read. At most CANARY_MEMO items.
  const canaries = new Map<string, boolean>();
  const get: ReviewItemRepository['get'] = async (actionId) => {
    const item = await items.get(actionId);
    if (item && !canaries.has(actionId)) {
      if (canaries.size >= CANARY_MEMO) canaries.delete(canaries.keys().next().value!);
      canaries.set(actionId, quality.isCanary(item));
    }
    return item;
  };
  const isCanary = async (actionId: string) => {
    const known = canaries.get(actionId);
    if (known !== undefined) return known;
    const item = await items.get(actionId);
    return item !== undefined && quality.isCanary(item);
  };

  // `with_` (the approval completing a quorum, the claimant: docs/adr/0028) goes on with every decision, or the approval would be lost.
  const decide: ReviewItemRepository['decide'] = async (actionId, status, by, reason, at, event, with_) => {
    if (await isCanary(actionId)) {
      // Stored with its event marked published at once (it never goes out: the outbox and the sweeper leave a canary's
      // be); the caller is told another decision won, then finds it decided by this very reviewer and answers as for a
      // retry, from that event (a revision's new action and digest): the reviewer sees an ordinary answer, retries too.
      const decided = await items.decide(actionId, status, by, reason, at, event, with_);
      if (decided && event) await items.markPublished(actionId, at).catch(soft('canary decision mark'));
      if (decided) await reviewed(decided, status, by, at);
      return undefined;
    }
    const decided = await items.decide(actionId, status, by, reason, at, event, with_);
    if (decided) await reviewed(decided, status, by, at);
    return decided;
  };
  // Each reviewer's decision on an approval item, recorded with its dwell, and sampled for a blind second review: a
  // canary's too (red team, round 15: an item under second review was known to be real). The queue's own rejections
  // (an approval past its proposer's backlog cap) are no reviewer's decision.
  const reviewed = async (decided: ReviewItem, status: Parameters<ReviewItemRepository['decide']>[1], by: string[], at: Date) => {
    const as = by.every((r) => r === QUEUE) ? undefined : reviewersDecision(status);
    if ((decided.kind ?? 'approval') !== 'approval' || !as) return;
    // An author of this version decided it only by the approval their revision carried to it: that decision is recorded
    // once, as the revision of the version before (an approval). Counted here too, it was a second approval, and an
    // "unseen" one, since the new version's card was never shown to them (red team, 2026-12-06).
    const deciders = by.filter((r) => !decided.authoredBy?.includes(r));
    if (!deciders.length) return;
    for (const r of deciders) await record(decided, r, as, at).catch(soft('decision'));
    if (quality.secondReviewSampled()) {
      // Everyone who took part is excluded, not only the final deciders: every approval recorded (one followed by another
      // reviewer's rejection too) and every author of the version (red team, 2026-12-05).
      const sample = async () => {
        const approvers = (await items.approvals(decided.actionId)).map((a) => a.approver);
        const tookPart = [...by, ...(decided.approvedBy ?? []), ...approvers, ...(decided.authoredBy ?? [])];
        await store.addSecondReview({
          actionId: decided.actionId,
          correlationId: decided.correlationId,
          slaClass: decided.slaClass,
          requiredRoles: decided.requiredRoles,
          firstDecision: as,
          excluded: [...new Set([...tookPart, decided.proposerPrincipal, decided.proposal.proposer.agentId])],
          createdAt: at.toISOString(),
        });
      };
      await sample().catch(soft('second review'));
    }
  };

  // A canary's step is the clock's like any item's, but its event must never go out: marked published as soon as it
  // is stored, and left out of what the outbox and the clock publish later (a stop between the two writes). The
  // clock is not told of it (no event, no notice, no count).
  const ofCanary = (stored: { actionId: string; event: { causationId?: string | null } }) =>
    quality.isCanary({ actionId: stored.actionId, decisionEventId: stored.event.causationId ?? '' });
  const claimDue: ReviewItemRepository['claimDue'] = async (now, limit, stepFor) => {
    const claims = await items.claimDue(now, limit, stepFor);
    const told: ClockClaim[] = [];
    for (const c of claims) {
      if (!quality.isCanary(c.item)) told.push(c);
      else if (c.step === 'expire') await items.markPublished(c.item.actionId, now).catch(soft('canary expiry'));
      else await items.markClockEventPublished(c.event.event.id, now).catch(soft('canary step'));
    }
    return told;
  };
  const unpublished: ReviewItemRepository['unpublished'] = async (decidedBefore, limit) => {
    const due = await items.unpublished(decidedBefore, limit);
    for (const d of due.filter(ofCanary)) await items.markPublished(d.actionId, new Date());
    return due.filter((d) => !ofCanary(d));
  };
  const unpublishedClockEvents: ReviewItemRepository['unpublishedClockEvents'] = async (createdBefore, limit) => {
    const due = await items.unpublishedClockEvents(createdBefore, limit);
    for (const d of due.filter(ofCanary)) await items.markClockEventPublished(d.event.id, new Date());
    return due.filter((d) => !ofCanary(d));
  };

  const decisionEvent: ReviewItemRepository['decisionEvent'] = async (actionId) => {
    const stored = await items.decisionEvent(actionId);
    // A canary's, only once marked published (never to publish): the outbox must never find one to send.
    return stored && (!ofCanary(stored) || stored.publishedAt) ? stored : undefined;
  };

  const overrides: Partial<Record<keyof ReviewItemRepository, unknown>> = {
    add,
    get,
    addApproval,
    decide,
    claimDue,
    unpublished,
    unpublishedClockEvents,
    decisionEvent,
  };
  return new Proxy(items, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop as keyof ReviewItemRepository];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
