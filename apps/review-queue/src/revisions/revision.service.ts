import { BadRequestException, ConflictException, ForbiddenException, HttpException, Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { DecisionSigner, signReviewDecision } from '@countersign/approval';
import { DependencyUnavailableError, EventBus } from '@countersign/bus';
import {
  actionDigest,
  canonicalDigest,
  derivedEventId,
  Proposal,
  ProposalSchema,
  proposalSizeRefusal,
  revisedActionId,
  TOPICS,
  TopicMap,
} from '@countersign/contracts';
import { maskText } from '@countersign/guardrails';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, Principal, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import { requireProposerKept, withoutRevokedClaim } from '../review-item/revoked-access';
import { ApprovalService, authorRefusal, claimedConflict, overdueConflict } from '../approvals/approval.service';
import { requireSigningKey } from '../approvals/signing-key';
import { stepUpRefusal } from '../approvals/step-up';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { claimHolds, DecisionEvent, overdue, queuedBy, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { ProposalSealer, realProposalOf } from '../review-item/sealed-proposal';
import { shownDigest, shownView } from '../review-item/shown';
import { PII_VIEW } from '../reviewer-api/reveal.service';
import { APPROVAL_SIGNING_KEY, PROPOSAL_SEALER, REVIEW_ITEMS, REVISION_MONEY_FIELDS, REVISION_PARAMETER_CHECK } from '../tokens';
import { authoredChange, ParameterEditError, reviseParameters, RevisionMoneyFields, RevisionParameterCheck } from './revised-parameters';
import { isProposerOf, requireItemRole } from '../review-item/item-roles';
import { reviewerActor } from '../review-item/reviewer-actor';

/** The most the edited parameters may weigh, as JSON (an event carries the whole proposal, 256 KiB at most). */
export const MAX_REVISED_PARAMETERS_BYTES = 64 * 1024;

/** The fingerprint of a revision request as sent (RFC 8785 canonical JSON, so key order does not matter). */
const askedFingerprint = (asked: { parameters: Record<string, unknown>; reason: string }): string =>
  canonicalDigest({ parameters: asked.parameters, reason: asked.reason });

/** The discriminator of a revision event's id: one revision per review item, whatever the retries. */
const REVISION = 'revision';

/** What a revision answers: the new action that replaces the revised one. */
export interface RevisionResult {
  actionId: string;
  status: 'revised';
  newActionId: string;
  /**
   * The digest the reviewer's approval is bound to: it counts for the new action only if the policy engine's digest is
   * this one. Told only to a reviewer holding `pii:view`: it covers the real values left masked (`told`).
   */
  revisedDigest?: string;
  /** JSON pointers of the parameters changed. */
  changed: string[];
}

type ProposalRevised = TopicMap[typeof TOPICS.proposalRevised];

/**
 * Approve with changes (docs/adr/0017). The reviewer edits the parameters of a pending item; the item ends as `revised`
 * with a signed decision (final, never executed) stored with its event in one write (the decision outbox), and the
 * event asks the orchestrator to create the new version as a new action, evaluated again. When that action comes back
 * to the queue in the review lane with the digest the reviewer approved, the reviewer's approval is recorded for it
 * (`onQueued`), counting towards its quorum like any other approval, under every rule an approval has.
 */
@Injectable()
export class RevisionService {
  /** Who was taken out of the tokens file while this process runs: their claims hold no one out. */
  @Optional() @Inject(TOKEN_REGISTRY) private readonly tokens?: TokenRegistry;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    @Inject(PROPOSAL_SEALER) private readonly sealer: ProposalSealer,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly outbox: DecisionOutbox,
    private readonly approvals: ApprovalService,
    @Optional() @Inject(REVISION_PARAMETER_CHECK) private readonly parameterCheck?: RevisionParameterCheck,
    /** The action types' money amounts; without them no revision narrows, and another reviewer decides every new version. */
    @Optional() @Inject(REVISION_MONEY_FIELDS) private readonly moneyFields?: RevisionMoneyFields,
  ) {}

  /**
   * Revises a pending approval item with the reviewer's `parameters` (an edit of the masked parameters they were
   * shown) and `reason`. 400 for parameters that are no edit or not valid, 403 as for an approval (proposer, not a
   * human, role), 409 for an item decided, changed since shown, or without its sealed real values. The same reviewer's
   * retry answers with the revision made (and publishes its event if still due).
   */
  async revise(
    actionId: string,
    reviewer: Principal,
    parameters: Record<string, unknown>,
    reason: string,
    seenDigest?: string,
    now = new Date(),
  ): Promise<RevisionResult> {
    const found = await this.items.get(actionId);
    if (!found) throw new NotFoundException(`no review item for action ${actionId}`);
    // The tenant and the roles first: nothing about the item (its kind, whether it changed or was decided, who claimed
    // it) is told to or changed for a reviewer who may not work it (red team, 2026-12-04), and one of another tenant
    // hears it does not exist (ADR 0052).
    requireItemRole(found, reviewer, 'approving');
    const item = await withoutRevokedClaim(found, this.items, this.tokens, now);
    if ((item.kind ?? 'approval') !== 'approval') throw new ConflictException('only an action waiting for approval can be approved with changes');
    if (seenDigest !== undefined && seenDigest !== shownDigest(shownView({ ...item, status: 'pending' }))) {
      throw new ConflictException('the review item changed since it was shown (shownDigest does not match): look again before deciding');
    }
    if (item.status !== 'pending') return this.again(item, reviewer, { parameters, reason });
    if (overdue(item, now)) throw overdueConflict(item);
    // The rules of an approval: this is one, of another version.
    if (isProposerOf(reviewer, item)) {
      throw new ForbiddenException('separation of duties: the proposer of an action cannot approve it, with changes or without');
    }
    if (item.authoredBy?.includes(reviewer.id)) throw authorRefusal('revise');
    requireProposerKept(item, this.tokens);
    if (reviewer.kind !== 'human') throw new ForbiddenException('only a human can approve an action with changes');
    // A revision ends the item and carries this reviewer's approval: a critical one needs their second factor too.
    const stepUp = stepUpRefusal(item, reviewer, now);
    if (stepUp) throw new ForbiddenException(stepUp);
    // Another reviewer works the item: their claim holds for a revision as for any decision.
    if (claimHolds(item.claim, now) && item.claim.by !== reviewer.id) throw claimedConflict(item);
    const { proposal, changed } = this.revisedProposal(item, reviewer, parameters);
    const revisedDigest = actionDigest(proposal, item.contractVersion);
    // Before anything is stored: a revision that cannot be signed answers 503 and leaves the item as it was.
    requireSigningKey(this.key, now);
    const event = this.revisionEvent(item, reviewer, proposal, revisedDigest, changed, reason, now, seenDigest !== undefined);
    // What the reviewer sent, kept with the decision: a later call is this revision again only if it sends exactly that.
    const revisionAsked = askedFingerprint({ parameters, reason });
    if (!(await this.outbox.decide(actionId, 'revised', [reviewer.id], reason, now, event, { revisionAsked }))) {
      const meanwhile = await this.items.get(actionId);
      if (!meanwhile || meanwhile.status === 'pending') throw new ConflictException(`action ${actionId} was decided meanwhile`);
      return this.again(meanwhile, reviewer, { parameters, reason }, event.event as ProposalRevised);
    }
    this.logger.info({ newActionId: (event.event as ProposalRevised).data.newActionId, changed: changed.length }, 'approved with changes');
    return this.result(item.actionId, event.event as ProposalRevised, reviewer);
  }

  /**
   * Intake of a policy decision (called by the queue's consumer once the item is stored): when it is the new version of
   * a revised action, in the review lane, with the digest the reviewer approved, the reviewer's approval is recorded for
   * it (and decides it when it completes the quorum). Another digest (the contract changed meanwhile) or a rule of
   * approvals refusing it (a role the new lane needs) leaves the item to reviewers, as any other. Safe to repeat.
   */
  async onQueued(e: TopicMap[typeof TOPICS.policyDecided]): Promise<void> {
    const of = e.data.revisionOf;
    if (!of || e.data.lane !== 'review') return;
    const stored = await this.items.decisionEvent(of.actionId);
    const revision = stored?.topic === TOPICS.proposalRevised ? (stored.event as ProposalRevised) : undefined;
    // Only the revision the queue itself stored makes an approval: a link to anything else is ignored.
    if (!revision || revision.id !== of.revisionEventId || revision.data.newActionId !== e.subject) {
      this.logger.warn({ revisionOf: of.actionId }, 'a revised action whose revision this queue does not hold; no approval carried');
      return;
    }
    if (revision.data.revisedDigest !== e.data.digest) {
      this.logger.warn(
        { revisionOf: of.actionId },
        'the new version was decided with another digest than the reviewer approved; their approval does not carry',
      );
      return;
    }
    // Only a revision that narrows the action carries its reviewer's approval: values they wrote need another's.
    const authored = await this.authored(of.actionId, revision, e.data.rulesFired);
    if (authored) {
      this.logger.info({ revisionOf: of.actionId }, `the reviewer's approval does not carry (${authored}): another reviewer decides the new version`);
      return;
    }
    const { actor } = revision;
    const reviewer: Principal = {
      id: actor.id,
      kind: actor.kind,
      roles: actor.roles ?? [],
      ...(actor.authMethod === 'oidc' && { authMethod: 'oidc' as const }),
      // How they signed in when they revised (a second factor, checked then): the approval carried holds to the same rule.
      ...(actor.amr && { amr: actor.amr }),
      ...(actor.authTime !== undefined && { authTime: actor.authTime }),
    };
    try {
      await this.approvals.approveCarried(e.subject, reviewer, `approved with changes (revision of action ${of.actionId}): ${revision.data.reason}`);
    } catch (err) {
      // A rule of approvals said no (a role the new lane needs, decided meanwhile): reviewers decide it like any other.
      if (err instanceof HttpException && err.getStatus() < 500) {
        this.logger.warn({ revisionOf: of.actionId, status: err.getStatus() }, `the reviewer's approval does not carry: ${err.message}`);
        return;
      }
      // No approval can be issued now (the trust stack unhealthy, no signing key valid): a doubt that passes, waited
      // through, not five retries and a dead letter that lost the carried approval (red team, 2026-12-05).
      if (err instanceof HttpException && err.getStatus() === 503) throw new DependencyUnavailableError(`the carried approval waits: ${err.message}`);
      throw err; // the bus or the store: redelivered
    }
  }

  /** Why the revision is its reviewer's authorship (`authoredChange`), or undefined when it only narrows the original. */
  private async authored(originalId: string, revision: ProposalRevised, firedAfter: readonly string[] | undefined): Promise<string | undefined> {
    const original = await this.items.get(originalId);
    if (!original) return 'the original item is not here';
    let real: Proposal;
    try {
      real = this.realProposal(original);
    } catch (e) {
      if (e instanceof HttpException && e.getStatus() < 500) return "the original's real values cannot be read";
      throw e;
    }
    const amounts = this.moneyFields?.(real.actionType) ?? [];
    return authoredChange(real.parameters, revision.data.proposal.parameters, revision.data.changed, original.rulesFired ?? [], firedAfter ?? [], amounts);
  }

  /**
   * The new version a revision asks for: the reviewer's edit of the parameters they were shown, over the real values
   * they did not change, checked as a proposal and against the contract's schema. 400 for an edit that is none or not
   * valid.
   */
  private revisedProposal(item: ReviewItem, reviewer: Principal, parameters: Record<string, unknown>): { proposal: Proposal; changed: string[] } {
    if (Buffer.byteLength(JSON.stringify(parameters)) > MAX_REVISED_PARAMETERS_BYTES) {
      throw new BadRequestException(`parameters: at most ${MAX_REVISED_PARAMETERS_BYTES} bytes as JSON`);
    }
    const real = this.realProposal(item);
    let revised: { parameters: Record<string, unknown>; changed: string[] };
    try {
      revised = reviseParameters(parameters, item.proposal.parameters, real.parameters, reviewer.roles.includes(PII_VIEW));
    } catch (e) {
      if (e instanceof ParameterEditError) throw new BadRequestException(e.message);
      throw e;
    }
    if (revised.changed.length === 0) throw new BadRequestException('parameters: nothing changed; approve the action as it is instead');
    const checked = ProposalSchema.safeParse({ ...real, parameters: revised.parameters });
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new BadRequestException(`${['proposal', ...issue.path].join('/')}: ${issue.message}`);
    }
    const proposal: Proposal = checked.data;
    // Parameters the contract's schema refuses would end this item for a new version that is prohibited at once: a
    // reviewer's slip answers 400 instead, and the item waits as it was.
    const invalid = this.parameterCheck?.(proposal, item.contractVersion);
    if (invalid) throw new BadRequestException(invalid);
    // The new version travels in events as any proposal does: one that could not would end this item for nothing.
    const tooLarge = proposalSizeRefusal(proposal);
    if (tooLarge) throw new BadRequestException(`parameters: ${tooLarge}`);
    return { proposal, changed: revised.changed };
  }

  /**
   * A revision call on a decided item: the same reviewer's retry (the same edit and reason) gets the revision made;
   * anything else is a conflict, a second, different revision by the same reviewer too (ADR 0017; red team, 2026-12-04:
   * it was answered 200 with the first revision, so a reviewer who asked for 40 EUR was told it was done, and 20 ran).
   * `made`: this call's own revision, found stored as theirs without its event, which the store keeps of a decision
   * nobody outside the queue may hear of (a canary's, ADR 0018): answered as made, like any revision.
   */
  private async again(
    item: ReviewItem,
    reviewer: Principal,
    asked: { parameters: Record<string, unknown>; reason: string },
    made?: ProposalRevised,
  ): Promise<RevisionResult> {
    if (item.status === 'revised' && item.deciders?.includes(reviewer.id)) {
      const stored = await this.items.decisionEvent(item.actionId);
      const revision = stored?.topic === TOPICS.proposalRevised ? (stored.event as ProposalRevised) : !stored ? made : undefined;
      if (revision && !this.sameRevision(item, asked)) {
        throw new ConflictException(
          `action ${item.actionId} was already approved with changes (new version ${revision.data.newActionId}) by another request: ` +
            'only exactly the same parameters and reason, as sent then, are answered as that revision; a second, different revision is not made; decide the new version instead',
        );
      }
      if (revision && stored) await this.outbox.publishIfDue(item.actionId);
      if (revision) return this.result(item.actionId, revision, reviewer);
    }
    if (item.status === 'expired') throw new ConflictException(`action ${item.actionId} expired (sla_expired): it can no longer be decided`);
    throw new ConflictException(`action ${item.actionId} is already decided`);
  }

  /**
   * Whether this request asks for the revision made: exactly what its reviewer sent then, the edited parameters as sent
   * (masked placeholders and all) and the reason. Not the merged proposal's digest, which folds in the real values the
   * reviewer left masked: a guess typed in place of a mask was answered 200 when right and 409 when wrong, an oracle
   * for the hidden value, unaudited and unlimited (red team, 2026-12-05). Now a right guess and a wrong one are both
   * another request (409). An item revised before the request was kept has none: every second call on it is 409.
   */
  private sameRevision(item: ReviewItem, asked: { parameters: Record<string, unknown>; reason: string }): boolean {
    return item.revisionAsked !== undefined && item.revisionAsked === askedFingerprint(asked);
  }

  /**
   * What the reviewer is told of a revision, on every route (the JSON API, the inbox): the new version's digest covers
   * the real values they left masked, so without `pii:view` it would let them find those by trying candidates offline
   * (a card number with the rest of the card known). Decided here, not per controller: the inbox's route returned it
   * while the API's stripped it (red team, 2026-12-05).
   */
  private result(actionId: string, event: ProposalRevised, reviewer: Principal): RevisionResult {
    const { newActionId, revisedDigest, changed } = event.data;
    return { actionId, status: 'revised', newActionId, ...(reviewer.roles.includes(PII_VIEW) && { revisedDigest }), changed };
  }

  /** The real proposal, from the sealed copy: the new version keeps every real value the reviewer did not change. */
  private realProposal(item: ReviewItem): Proposal {
    const real = realProposalOf(this.sealer, item);
    if (real.ok) return real.proposal;
    throw new ConflictException(
      real.why === 'no-sealed-copy'
        ? `action ${item.actionId} was queued without a sealed copy: its real values are unknown, so it cannot be revised`
        : real.why === 'unreadable'
          ? `the real values of action ${item.actionId} cannot be read: ${real.detail}`
          : `the sealed copy of action ${item.actionId} does not match its digest`,
    );
  }

  /** The revision's event: the item's signed final decision (`revised`) and the new version the orchestrator creates. */
  private revisionEvent(
    item: ReviewItem,
    reviewer: Principal,
    proposal: Proposal,
    revisedDigest: string,
    changed: string[],
    reason: string,
    now: Date,
    /** Whether the reviewer's client sent the digest of what it showed them (`shownEchoed`). */
    echoed: boolean,
  ): DecisionEvent {
    const cause = queuedBy(item);
    const newActionId = revisedActionId(derivedEventId(TOPICS.proposalRevised, cause.id, REVISION));
    const signature = signReviewDecision(this.key, {
      decision: 'revised',
      actionId: item.actionId,
      digest: item.digest,
      deciders: [reviewer.id],
      reasons: [maskText(reason)],
      issuedAt: now.toISOString(),
      // What the revision creates, signed with it: the orchestrator makes the new action from nothing else.
      revision: { newActionId, revisedDigest, proposerPrincipal: item.proposerPrincipal, contractVersion: item.contractVersion },
    });
    const shown = shownView(item);
    const actor = reviewerActor(reviewer);
    const event = this.bus.envelope(
      TOPICS.proposalRevised,
      {
        digest: item.digest,
        signature,
        newActionId,
        proposal,
        revisedDigest,
        contractVersion: item.contractVersion,
        proposerPrincipal: item.proposerPrincipal,
        changed,
        reason,
        shown,
        shownDigest: shownDigest(shown),
        shownEchoed: echoed,
      },
      { cause, discriminator: REVISION, actor, time: now },
    );
    if (revisedActionId(event.id) !== newActionId) throw new Error('the revision event id is not the one its new action id derives from');
    return { topic: TOPICS.proposalRevised, event };
  }
}
