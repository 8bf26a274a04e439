import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException, Optional, ServiceUnavailableException } from '@nestjs/common';
import { maskText } from '@countersign/guardrails';
import { APPROVAL_TTL_MS, DecisionSigner, SealableEvent, sealEvent, signReviewDecision } from '@countersign/approval';
import { EventBus } from '@countersign/bus';
import { Actor, ActorSchema, TOPICS } from '@countersign/contracts';
import type { Metrics } from '@countersign/metrics';
import { EVENT_BUS, METRICS, Principal, TOKEN_REGISTRY, TokenRegistry, TRUST_HEALTH, TrustHealthState } from '@countersign/nest';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { reviewerActor } from '../review-item/reviewer-actor';
import {
  Approval,
  ApprovalAuth,
  claimHolds,
  DecideWith,
  DecisionEvent,
  overdue,
  queuedBy,
  ReviewItem,
  ReviewItemRepository,
  ReviewStatus,
} from '../review-item/review-item.repository';
import { shownDigest, shownView } from '../review-item/shown';
import { APPROVAL_SIGNING_KEY, REVIEW_ITEMS } from '../tokens';
import { requireSigningKey } from './signing-key';
import { requireProposerKept, withoutRevokedClaim } from '../review-item/revoked-access';
import { stepUpRefusal } from './step-up';
import { isProposerOf, requireItemRole } from '../review-item/item-roles';

/** A decision on an item the review clock expired: too late, whatever it says; the proposer can propose the action again. */
const expiredConflict = (item: ReviewItem) =>
  new ConflictException(
    `action ${item.actionId} expired at ${item.decidedAt} (sla_expired): no decision came within its ${item.slaClass} SLA, so it will never be executed; ` +
      'a decision on it is no longer possible (the proposer may propose the action again)',
  );

/** A decision on a pending item past its due time (`overdue`): too late, as on an expired one. */
export const overdueConflict = (item: ReviewItem) =>
  new ConflictException(
    `action ${item.actionId} is past its due time (${item.dueAt}, sla_expired): no decision came within its ${item.slaClass} SLA, so it will never be executed; ` +
      'a decision on it is no longer possible (the proposer may propose the action again)',
  );

/** A decision on an item another reviewer holds a claim on (`claims/`): they are working it. */
export const claimedConflict = (item: ReviewItem) =>
  new ConflictException(
    `action ${item.actionId} is claimed by ${item.claim!.name} until ${item.claim!.until.slice(11, 16)} UTC: they are reviewing it; ` +
      'decide once they release it or their claim runs out',
  );

/** How long a signed approval stays valid for the executor (the verifiers refuse a longer one). */
export { APPROVAL_TTL_MS };

export type ApproveResult = { status: 'approved'; approvers: string[] } | { status: 'awaiting-quorum'; approvers: string[]; quorum: number };

/**
 * Human decisions on review items. Only a human moves an action to `approved`; the proposer never can.
 * Every decision is published with a token signed by the review queue's key, bound to the action id, the
 * digest and the decision: the executor acts on no decision, approval or rejection, that does not verify.
 *
 * The decision's event is built before the decision and stored with it in one write (the outbox), then published:
 * when the bus is down the call fails (503) but the decision and its event stay, and `DecisionOutbox` publishes it
 * later. The reviewer's retry of the same decision answers with what was decided (and publishes it, if still due).
 */
@Injectable()
export class ApprovalService {
  /** The process's metrics (a service built by hand in a unit test has none). */
  @Optional() @Inject(METRICS) private readonly metrics?: Metrics;
  /**
   * The trust stack's health as the trust monitor last reported it (the review queue's follower of its control topic;
   * none where no monitor runs). While the monitor's sealed verdict is `unhealthy` (a key past its rotation deadline, an
   * expired certificate) no approval is issued (DESIGN, trust stack; trust probe, 2026-12-05: approvals were signed, then
   * held by the executor until they went stale). Rejections are still signed: they only stop things. An unsealed
   * `unhealthy` (anyone who can write the topic) holds execution, but refuses no approval (`sealedUnhealthy`).
   */
  @Optional() @Inject(TRUST_HEALTH) trust?: TrustHealthState;
  /** The tokens file as followed while running: who was taken out of it (across restarts: principal-roster/). */
  @Optional() @Inject(TOKEN_REGISTRY) private readonly tokens?: TokenRegistry;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    private readonly outbox: DecisionOutbox,
  ) {}

  async approve(actionId: string, reviewer: Principal, reason: string, seenDigest?: string, now = new Date()): Promise<ApproveResult> {
    return this.approveAs(actionId, reviewer, reason, seenDigest, now, false);
  }

  /**
   * The approval a reviser's revision carries to the new version it made, when the revision only narrows the action
   * (RevisionService.onQueued): the one approval an author of the version may give it.
   */
  async approveCarried(actionId: string, reviewer: Principal, reason: string): Promise<ApproveResult> {
    return this.approveAs(actionId, reviewer, reason, undefined, new Date(), true);
  }

  private async approveAs(actionId: string, reviewer: Principal, reason: string, seenDigest: string | undefined, now: Date, carried: boolean) {
    // First in one write (the approval that completes the quorum with the decision and its event); when something
    // changed between the read and that write (another approval, a claim) and the item still waits, once more as
    // approvals towards a quorum always went: the approval, then the decision.
    return (
      (await this.approveOnce(actionId, reviewer, reason, seenDigest, now, true, carried)) ??
      (await this.approveOnce(actionId, reviewer, reason, seenDigest, now, false, carried))!
    );
  }

  private async approveOnce(
    actionId: string,
    reviewer: Principal,
    reason: string,
    seenDigest: string | undefined,
    now: Date,
    oneWrite: boolean,
    carried = false,
  ): Promise<ApproveResult | undefined> {
    const item = await withoutRevokedClaim(await this.reviewItem(actionId, reviewer, 'approving', seenDigest), this.items, this.tokens, now);
    const approved = (i: ReviewItem): ApproveResult | undefined =>
      i.status === 'approved' && i.deciders?.includes(reviewer.id) ? { status: 'approved', approvers: i.deciders } : undefined;
    /** The decision's event once `approvals` complete the quorum, each earlier approver as `signedIn` kept them. */
    const approvedEvent = (approvals: Array<{ approver: string; reason: string }>, signedIn: readonly Approval[]) =>
      this.decisionEvent(
        item,
        'approved',
        reviewer,
        approvals.map((a) => a.approver),
        reason,
        this.approvalToken(item, approvals, now),
        seenDigest !== undefined,
        signedIn,
      );
    if (item.status !== 'pending') return this.again(item, approved);
    if (overdue(item, now)) throw overdueConflict(item);
    if (isProposerOf(reviewer, item)) {
      throw new ForbiddenException('separation of duties: the proposer of an action cannot approve it');
    }
    if (!carried && item.authoredBy?.includes(reviewer.id)) throw authorRefusal('approve');
    // A carried approval too: the agent or the reviser may have been taken out of the file between the revision and the
    // new version's queueing (colluding-reviewers probe, 2026-12-06).
    requireProposerKept(item, this.tokens);
    if (carried && this.tokens?.wasRemoved(reviewer.id))
      throw new ConflictException(`${reviewer.id} revised action ${actionId} and has since been taken out of the tokens file: their approval does not carry`);
    if (reviewer.kind !== 'human') throw new ForbiddenException('only a human can approve an action');
    const stepUp = stepUpRefusal(item, reviewer, now);
    if (stepUp) throw new ForbiddenException(stepUp);
    // Already counted: short of the quorum, an approval counts once (409). At or past it, the decision itself was not
    // stored (the process died, or PostgreSQL went away, between the two writes): this retry completes it, or the
    // action would wait for ever on an approval that was given.
    const counted = item.approvedBy?.includes(reviewer.id) ? await this.items.approvals(actionId) : undefined;
    if (counted && counted.length < item.quorum) {
      throw new ConflictException(
        `you approved action ${actionId} already (${counted.length} of ${item.quorum} approvals so far): its quorum needs ${item.quorum} distinct approvers`,
      );
    }
    if (claimHolds(item.claim, now) && item.claim.by !== reviewer.id) throw claimedConflict(item);
    // Before anything is stored: an approval counted toward a quorum that cannot be signed would be half done.
    requireSigningKey(this.key, now);
    if (this.trust?.sealedUnhealthy())
      throw new ServiceUnavailableException(
        `approvals cannot be issued now, nothing was recorded: the trust stack is unhealthy (${this.trust.reason()}); retry once it is healthy again (a rejection is still possible)`,
      );
    const before = item.approvedBy ?? [];
    // A quorum is that many people with access now: an earlier approver taken out of the tokens file since (they left,
    // or their access was revoked) no longer counts towards it, and this approval does not complete it. The item waits
    // to be rejected or to expire, never approved (revocation probe, 2026-12-05: a removed reviewer's approval and one
    // more executed a two-approver refund).
    const revoked = before.filter((id) => this.tokens?.wasRemoved(id));
    if (revoked.length && before.length + (counted ? 0 : 1) >= item.quorum)
      throw new ConflictException(
        `action ${actionId} cannot be approved: ${revoked.join(', ')} approved it and has since been taken out of the tokens file, so that approval no longer counts towards its quorum of ${item.quorum}; reject it (the agent may propose it again) or let it expire`,
      );
    if (oneWrite && !counted && before.length + 1 >= item.quorum) {
      // This approval completes the quorum: the approval, the decision and its signed event in one write, made only if
      // the approvers so far are still those read here and no one else's claim holds by then (docs/adr/0028).
      const earlier = before.length ? await this.items.approvals(actionId) : [];
      if (earlier.length !== before.length || earlier.some((a, i) => a.approver !== before[i])) return undefined;
      const approvals = [...earlier, { approver: reviewer.id, reason }];
      const approvers = approvals.map((a) => a.approver);
      const event = approvedEvent(approvals, earlier);
      const with_ = { approval: { approver: reviewer.id, reason, after: before, auth: authOf(reviewer) }, claimant: reviewer.id };
      return (await this.decide(item, 'approved', approvers, reason, now, event, approved, 'decided', with_)) ? { status: 'approved', approvers } : undefined;
    }
    // An approval short of the quorum is on the record too, with its own event stored in the same write (the clock's
    // outbox): were it told only by the decision that completes the quorum, an approval followed by another reviewer's
    // rejection, a revision or an expiry would vanish from the audit trail (red team, 2026-12-05).
    let recorded: DecisionEvent | undefined;
    const recording = {
      auth: authOf(reviewer),
      event: (approvers: string[]) =>
        (recorded = approvers.length < item.quorum ? this.approvalRecordedEvent(item, reviewer, approvers, reason, now, seenDigest !== undefined) : undefined),
    };
    const approvals = counted ?? (await this.items.addApproval(actionId, reviewer.id, reason, recording));
    if (recorded) await this.publishRecorded(recorded);
    if (approvals.length < item.quorum) {
      // This approver is done with the item: their claim ends, so it does not hold up the next approver.
      await this.items.releaseClaim(actionId, reviewer.id);
      return { status: 'awaiting-quorum', approvers: approvals.map((a) => a.approver), quorum: item.quorum };
    }
    const approvers = approvals.map((a) => a.approver);
    const event = approvedEvent(approvals, await this.items.approvals(actionId));
    await this.decide(item, 'approved', approvers, reason, now, event, approved);
    return { status: 'approved', approvers };
  }

  /**
   * The event of an approval that leaves the quorum short (`review.approval.recorded.v1`): the reviewer as its actor,
   * with how they signed in, what they were shown, the approvers so far and the quorum. Sealed with the decision key as
   * a fact (ADR 0039's seal), never as an approval token: nothing acts on it. Its id derives from the item's cause and
   * the approver, so a copy published again is dropped.
   */
  private approvalRecordedEvent(item: ReviewItem, reviewer: Principal, approvers: string[], reason: string, now: Date, echoed: boolean): DecisionEvent {
    const shown = shownView(item);
    const made = this.bus.envelope(
      TOPICS.approvalRecorded,
      { reason, digest: item.digest, shownDigest: shownDigest(shown), shown, shownEchoed: echoed, approvers, quorum: item.quorum },
      { cause: queuedBy(item), discriminator: `approval:${reviewer.id}`, actor: reviewerActor(reviewer), time: now },
    );
    const event = { ...made, data: { ...made.data, seal: sealEvent(this.key, made as unknown as SealableEvent, 'review-decision') } };
    return { topic: TOPICS.approvalRecorded, event };
  }

  /**
   * Publishes a partial approval's event once stored. When the bus cannot take it the approval still stands, and its
   * event waits in the clock's outbox, which the review clock's sweep publishes: the reviewer's call succeeds (a 503
   * here would make their retry a 409, "approved already", for an approval that was made).
   */
  private async publishRecorded(recorded: DecisionEvent): Promise<void> {
    try {
      await this.bus.publish(recorded.topic, recorded.event);
    } catch {
      return;
    }
    // Not waited for, as a decision's mark: one lost only means the clock publishes it again, a copy the audit drops.
    void this.items.markClockEventPublished(recorded.event.id, new Date()).catch(() => undefined);
  }

  /** The signed approval the executor acts on, naming every approver of the quorum. */
  private approvalToken(item: ReviewItem, approvals: Array<{ approver: string; reason: string }>, now: Date): string {
    return signReviewDecision(this.key, {
      decision: 'approved',
      actionId: item.actionId,
      digest: item.digest,
      deciders: approvals.map((a) => a.approver),
      // The token is base64: masking downstream cannot see into it, so regulated data is masked before signing.
      reasons: approvals.map((a) => maskText(a.reason)),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + APPROVAL_TTL_MS).toISOString(),
    });
  }

  async reject(actionId: string, reviewer: Principal, reason: string, seenDigest?: string, now = new Date()): Promise<void> {
    const item = await withoutRevokedClaim(await this.reviewItem(actionId, reviewer, 'rejecting', seenDigest), this.items, this.tokens, now);
    const rejected = (i: ReviewItem) => (i.status === 'rejected' && i.deciders?.includes(reviewer.id) ? true : undefined);
    if (item.status !== 'pending') return void (await this.again(item, rejected));
    if (overdue(item, now)) throw overdueConflict(item);
    // A rejection is a decision too: only a human holding one of the item's roles makes it, or any reviewer could end
    // any item (a finance refund rejected by a security reviewer).
    if (reviewer.kind !== 'human') throw new ForbiddenException('only a human can reject an action');
    if (claimHolds(item.claim, now) && item.claim.by !== reviewer.id) throw claimedConflict(item);
    requireSigningKey(this.key, now);
    // A rejection is final, so its token needs no expiry; signed all the same, or a forged one could block a genuine approval.
    const token = signReviewDecision(this.key, {
      decision: 'rejected',
      actionId,
      digest: item.digest,
      deciders: [reviewer.id],
      reasons: [maskText(reason)],
      issuedAt: now.toISOString(),
    });
    const event = this.decisionEvent(item, 'rejected', reviewer, [reviewer.id], reason, token, seenDigest !== undefined);
    await this.decide(item, 'rejected', [reviewer.id], reason, now, event, rejected);
  }

  /** An after-the-fact check of a sampled autonomous action: agree or disagree, with a reason. */
  async assess(actionId: string, reviewer: Principal, verdict: 'agree' | 'disagree', reason: string, seenDigest?: string, now = new Date()): Promise<void> {
    const item = await this.reviewItem(actionId, reviewer, 'assessing', seenDigest, 'audit-sample');
    const status = verdict === 'agree' ? 'agreed' : 'disagreed';
    const assessed = (i: ReviewItem) => (i.status === status && i.deciders?.includes(reviewer.id) ? true : undefined);
    if (item.status !== 'pending') return void (await this.again(item, assessed));
    if (overdue(item, now)) throw overdueConflict(item);
    // Whoever proposed the action (a person who also proposes as its agent) does not judge it (red team, 2026-12-07: a
    // reviewer agreed with the samples of their own agent's autonomous actions, closing them).
    if (isProposerOf(reviewer, item)) throw new ForbiddenException('separation of duties: the proposer of an action cannot assess it');
    // As a rejection: a person holding one of the sample's roles (a service or another team's reviewer cannot close it).
    if (reviewer.kind !== 'human') throw new ForbiddenException('only a human can assess an action');
    const shown = shownView(item);
    // The reviewer is the actor of their assessment, not the service that records it, with how they signed in.
    const actor = reviewerActor(reviewer);
    const event: DecisionEvent = {
      topic: TOPICS.sampleAssessed,
      event: this.bus.envelope(
        TOPICS.sampleAssessed,
        { verdict, reason, reviewers: [actor], digest: item.digest, shown, shownDigest: shownDigest(shown), shownEchoed: seenDigest !== undefined },
        { cause: queuedBy(item), actor },
      ),
    };
    await this.decide(item, status, [reviewer.id], reason, now, event, assessed, 'assessed');
  }

  /**
   * Decides the item with its event and publishes it (`DecisionOutbox`). Of concurrent decisions one wins; the others
   * get 409, unless they asked for what won (the same reviewer's retry racing their first call). With `with_`'s
   * conditions, false when they no longer held and the item still waits (nothing was written: the caller looks again).
   */
  private async decide<R>(
    item: ReviewItem,
    status: Exclude<ReviewStatus, 'pending'>,
    by: string[],
    reason: string,
    now: Date,
    event: DecisionEvent,
    same: (decided: ReviewItem) => R | undefined,
    verb = 'decided',
    with_?: DecideWith,
  ): Promise<boolean> {
    if (await this.outbox.decide(item.actionId, status, by, reason, now, event, with_)) {
      if (status === 'approved' || status === 'rejected') this.countDecision(item, status, now);
      return true;
    }
    const meanwhile = await this.items.get(item.actionId);
    // Its due time passed between the read and the write (the write refuses a decision past it).
    if (meanwhile && overdue(meanwhile, now)) throw overdueConflict(meanwhile);
    if (with_ && meanwhile?.status === 'pending') return false;
    if (meanwhile?.status === 'expired') throw expiredConflict(meanwhile);
    if (!meanwhile || same(meanwhile) === undefined) throw new ConflictException(`action ${item.actionId} was ${verb} meanwhile`);
    await this.again(meanwhile, same);
    return true;
  }

  /** A reviewers' decision counted, with its latency from the item being queued (override frequency, approval latency). */
  private countDecision(item: ReviewItem, decision: 'approved' | 'rejected', now: Date): void {
    if (!this.metrics) return;
    const labels = { decision, sla_class: item.slaClass };
    this.metrics.counter('countersign_review_decisions_total').inc(labels);
    // A version made by approve with changes counts from its first version's queueing: from its own creation, a carried
    // approval read as about 0 s (auditor probe, 2026-12-07).
    const queuedFor = (now.getTime() - Date.parse(item.firstQueuedAt ?? item.createdAt)) / 1000;
    if (Number.isFinite(queuedFor)) this.metrics.histogram('countersign_review_approval_latency_seconds').observe(labels, Math.max(0, queuedFor));
  }

  /**
   * A call on an item decided already: the same reviewer's retry of the same decision (its first call may have
   * answered 503 while the bus was down) gets what was decided, and the stored event is published if it is still due;
   * anything else is a conflict.
   */
  private async again<R>(item: ReviewItem, same: (decided: ReviewItem) => R | undefined): Promise<R> {
    const outcome = same(item);
    if (outcome === undefined) throw item.status === 'expired' ? expiredConflict(item) : new ConflictException(`action ${item.actionId} is already decided`);
    await this.outbox.publishIfDue(item.actionId);
    return outcome;
  }

  /**
   * The item, of the expected kind, as the reviewer was shown it (a `seenDigest` of another view is refused). The
   * reviewer's tenant and role are checked first: an item of a tenant they do not serve is unknown to them (404, ADR
   * 0052), and one outside the item's roles hears 403 and nothing else of it (not whether it is decided, nor that it
   * changed since shown; red team, 2026-12-02). Here, in the service, so that no route decides past them.
   */
  private async reviewItem(
    actionId: string,
    reviewer: Principal,
    doing: 'approving' | 'rejecting' | 'assessing',
    seenDigest?: string,
    kind: 'approval' | 'audit-sample' = 'approval',
  ): Promise<ReviewItem> {
    const item = await this.items.get(actionId);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    requireItemRole(item, reviewer, doing);
    if ((item.kind ?? 'approval') !== kind) {
      throw new ConflictException(
        kind === 'approval'
          ? 'this is an audit sample of an action that already ran: assess it (POST …/assess), there is nothing to approve'
          : 'this action waits for approval, not for an after-the-fact assessment',
      );
    }
    // What the reviewer saw was the pending item (a retry after the decision sends the digest of that same view).
    if (seenDigest !== undefined && seenDigest !== shownDigest(shownView({ ...item, status: 'pending' }))) {
      throw new ConflictException('the review item changed since it was shown (shownDigest does not match): look again before deciding');
    }
    return item;
  }

  /** The signed decision's event, built before the decision (it is stored with it) and published after. */
  private decisionEvent(
    item: ReviewItem,
    decision: 'approved' | 'rejected',
    reviewer: Principal,
    approvers: string[],
    reason: string,
    signature: string,
    /** Whether the deciding reviewer's client sent the digest of what it showed them (`shownEchoed`). */
    echoed: boolean,
    earlier: readonly Approval[] = [],
  ): DecisionEvent {
    // What the reviewer decided on, as the API showed it while pending; the audit trail keeps it.
    const shown = shownView(item);
    // Each earlier approver of a quorum as they signed in when they approved, kept with their approval (red team,
    // 2026-12-05: all were written `bearer-token`). One approved before that was kept is named without a method: an
    // actor's `authMethod` has no "unknown", and a guess would be a false statement in the audit trail.
    const signedIn = new Map(earlier.map((a) => [a.approver, a]));
    const actor = (id: string): Actor => {
      // The deciding reviewer with their `amr` and sign-in time: the trail shows a critical item's step-up was met
      // (security probe M3: only earlier approvers had theirs).
      if (id === reviewer.id) return reviewerActor(reviewer);
      const known = signedIn.get(id);
      const method = ACTOR_AUTH_METHODS.find((m) => m === known?.authMethod);
      return { id, kind: 'human', ...(method && { authMethod: method }), ...(method && known?.amr && { amr: known.amr }) };
    };
    // The deciding reviewer is the actor of the decision (the last approver of a quorum).
    return {
      topic: TOPICS.reviewDecided,
      event: this.bus.envelope(
        TOPICS.reviewDecided,
        { decision, reviewers: approvers.map(actor), reason, digest: item.digest, signature, shown, shownDigest: shownDigest(shown), shownEchoed: echoed },
        { cause: queuedBy(item), actor: actor(reviewer.id) },
      ),
    };
  }
}

/** The sign-in methods an actor may name (the envelope's `authMethod`). */
const ACTOR_AUTH_METHODS = ActorSchema.shape.authMethod.unwrap().options;

/** How the reviewer signed in, as kept with their approval (`bearer-token` when the principal does not say). */
const authOf = (reviewer: Principal): ApprovalAuth => ({
  authMethod: reviewer.authMethod ?? 'bearer-token',
  ...(reviewer.amr && { amr: [...reviewer.amr] }),
});

/**
 * A reviewer who wrote changes into this version (approve with changes) deciding it: refused. A human who writes the
 * values an action will carry does not also approve them alone (red team, 2026-12-04: a refund raised twenty-fold, then
 * approved by its author).
 */
export const authorRefusal = (what: 'approve' | 'revise' | 'claim') =>
  new ForbiddenException(
    `separation of duties: you wrote changes into this version of the action (approve with changes), so you cannot ${what} it; another reviewer decides it`,
  );
