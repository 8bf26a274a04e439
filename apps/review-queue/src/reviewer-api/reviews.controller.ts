import { BadRequestException, Body, Controller, Get, HttpCode, Inject, NotFoundException, Optional, Param, Post, Query, Req } from '@nestjs/common';
import { z } from 'zod';
import { freeJsonObject, reasonString } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, IdentifierParam, integerQuery, parseBody, Roles } from '@countersign/nest';
import { ApprovalService } from '../approvals/approval.service';
import { ClaimService, RELEASE_ANSWER } from '../claims/claim.service';
import { DecisionQualityService } from '../decision-quality/decision-quality.service';
import { ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { publicItem, shownDigest, shownView } from '../review-item/shown';
import { CONTRACT_NOW, KILL_SWITCH_NOW, REVIEW_ITEMS } from '../tokens';
import type { KillSwitchNow } from '../kill-switches/kill-switch-now';
import type { ContractNow } from '../review-item/contract-now';
import { MAX_REVISED_PARAMETERS_BYTES, RevisionService } from '../revisions/revision.service';
import { RevealService } from './reveal.service';
import { requireItemRole } from '../review-item/item-roles';

const DecisionBody = z.strictObject({
  // Free text: a reason of control characters (three NULs) is no reason.
  reason: reasonString(3, 2000),
  /** The `shownDigest` of the item as the reviewer's screen showed it: a decision on a stale view is refused. */
  shownDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/** The minimal reviewer API: list pending items, approve or reject each with a mandatory reason. */
const AssessBody = DecisionBody.extend({ verdict: z.enum(['agree', 'disagree']) });

/** Approve with changes (docs/adr/0017): the whole edited parameters object, as shown (masked) with the reviewer's edits. */
export const ReviseBody = DecisionBody.extend({
  parameters: freeJsonObject().refine((p) => Buffer.byteLength(JSON.stringify(p)) <= MAX_REVISED_PARAMETERS_BYTES, {
    message: `at most ${MAX_REVISED_PARAMETERS_BYTES} bytes as JSON`,
  }),
});

@Controller('v1/reviews')
@Roles('reviewer')
export class ReviewsController {
  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    private readonly approvals: ApprovalService,
    private readonly claims: ClaimService,
    private readonly reveals: RevealService,
    private readonly revisions: RevisionService,
    // Decision quality, when it runs: a decision under a blind second review is withheld from reviewers meanwhile.
    @Optional() private readonly quality?: DecisionQualityService,
    @Optional() @Inject(CONTRACT_NOW) private readonly contractNow?: ContractNow,
    @Optional() @Inject(KILL_SWITCH_NOW) private readonly killSwitchNow?: KillSwitchNow,
  ) {}

  @ApiRoute({
    summary: 'Pending review items the caller may work (a role they hold), regulated data masked',
    query: { limit: 'at most this many (1 to 500 in decimal digits; default 50)' },
    errors: { 400: 'a `limit` that is not a whole number from 1 to 500' },
    ok: {
      description: 'The pending items the caller holds one of the roles of, most urgent first',
      schema: {
        type: 'object',
        required: ['items'],
        properties: {
          items: {
            type: 'array',
            items: {
              type: 'object',
              required: ['actionId', 'status'],
              properties: { actionId: { type: 'string' }, status: { type: 'string' }, shownDigest: { type: 'string' } },
            },
          },
        },
      },
    },
  })
  @Get()
  async pending(@Req() req: AuthenticatedRequest, @Query('limit') limit?: string) {
    const n = integerQuery('limit', limit, 50, { min: 1, max: 500 });
    // Only the items the caller may work (a role they hold, or none named), as reading one item and the inbox do:
    // filtered in the store, so a backlog of other roles' items ahead of theirs hides none of them.
    // Each as `GET /v1/reviews/{id}` answers it, with the digest a decision names (`shownDigest`): no second read per item.
    return { items: (await this.items.pending(n, req.principal!)).map((item) => ({ ...publicItem(item), shownDigest: shownDigest(shownView(item)) })) };
  }

  /**
   * One item, regulated data masked. `?reveal=true`: the real proposal, for a reviewer holding `pii:view`
   * (audited; 403 without it). `shownDigest` stays the one of the masked view, which the audit trail keeps.
   */
  @ApiRoute({
    summary: 'One review item (`?reveal=true`: its real values, audited)',
    query: { reveal: '`true`: the real proposal, for a reviewer holding `pii:view`' },
    ok: {
      description: 'The item, masked unless revealed',
      schema: {
        type: 'object',
        required: ['actionId', 'status'],
        properties: {
          actionId: { type: 'string' },
          status: { type: 'string' },
          shownDigest: { type: 'string' },
          prohibitedByContract: {
            type: 'string',
            description: 'on a pending item queued under an older contract: the running contract version that now prohibits it (an approval will not execute)',
          },
          stoppedByKillSwitch: {
            type: 'string',
            description: "on a pending item whose action type's kill switch is off now: its flag (an approval will not execute; the action ends refused)",
          },
        },
      },
    },
    errors: {
      400: '`reveal` is neither true nor false',
      403: 'a role the item needs (reading it, masked or revealed, is for the reviewers who may work it), a reveal without `pii:view`, or a decision under a blind second review still open (not the caller’s)',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'a reveal of an item that is decided or has no sealed copy',
      429: 'a reveal past the reviewer’s rate (30 at once, then one every 2 s): retry after `Retry-After` seconds',
    },
  })
  @Get(':actionId')
  async one(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: AuthenticatedRequest, @Query('reveal') reveal?: unknown) {
    if (reveal !== undefined && reveal !== 'true' && reveal !== 'false') throw new BadRequestException('reveal: must be true or false');
    if (reveal === 'true') {
      const { item, proposal } = await this.reveals.reveal(actionId, req.principal!);
      await this.viewed(item, req.principal!.id);
      return { ...publicItem(item), proposal, revealed: true, shownDigest: shownDigest(shownView(item)), ...this.underContractNow(item) };
    }
    const item = await this.items.get(actionId);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    requireItemRole(item, req.principal!, 'reading');
    await this.quality?.requireNotWithheld(req.principal!, item);
    await this.viewed(item, req.principal!.id);
    return { ...publicItem(item), shownDigest: shownDigest(shownView(item)), ...this.underContractNow(item) };
  }

  /**
   * What stops an approval of a pending item from executing now: `prohibitedByContract` when the running contract
   * prohibits it (review-item/contract-now.ts), `stoppedByKillSwitch` when its type's kill switch is off (the flag).
   */
  private underContractNow(item: ReviewItem): { prohibitedByContract?: string; stoppedByKillSwitch?: string } {
    const now = this.contractNow?.(item);
    const off = item.status === 'pending' ? this.killSwitchNow?.(item.proposal.actionType) : undefined;
    return { ...(now && { prohibitedByContract: now.prohibitedBy }), ...(off && { stoppedByKillSwitch: off }) };
  }

  /**
   * A pending item served to a reviewer starts their dwell, as the inbox's card does (ADR 0018): a decision through this
   * API after reading the item has one; one with no read first counts as "decided unseen" on the governance page.
   */
  private async viewed(item: ReviewItem, reviewer: string): Promise<void> {
    if (item.status === 'pending') await this.quality?.shown(item.actionId, reviewer);
  }

  /** Claims the item (a lease, renewed by claiming again) so no other reviewer works it meanwhile; 409 names the holder. */
  @ApiRoute({
    summary: 'Claim a review item (a lease, renewed by claiming again)',
    ok: {
      description: 'The claim',
      schema: { type: 'object', required: ['actionId', 'claim'], properties: { actionId: { type: 'string' }, claim: { type: 'object' } } },
    },
    errors: {
      403: 'separation of duties (the proposer), or a role the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'held by another reviewer (named), already approved by the caller, decided, the caller holding 3 claims already, or the caller having held it when it escalated',
    },
  })
  @Post(':actionId/claim')
  @HttpCode(200)
  async claim(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: AuthenticatedRequest) {
    return { actionId, claim: await this.claims.claim(actionId, req.principal!) };
  }

  /** Ends the caller's claim on the item (nothing when they hold none). */
  @ApiRoute({
    summary: "Release the caller's claim on a review item",
    ok: RELEASE_ANSWER,
  })
  @Post(':actionId/release')
  @HttpCode(200)
  async release(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: AuthenticatedRequest) {
    return { actionId, ...(await this.claims.release(actionId, req.principal!)) };
  }

  @ApiRoute({
    summary: 'Approve a review item (a signed approval), with a reason',
    body: DecisionBody,
    ok: {
      description: "The approval, and the item's status (approved once the quorum is met)",
      schema: { type: 'object', required: ['actionId'], properties: { actionId: { type: 'string' }, status: { type: 'string' } } },
    },
    errors: {
      400: 'a body that does not validate (a reason of at least 3 letters or digits)',
      403: 'separation of duties (the proposer), a token of no person, a role the item needs, or a step-up the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'already decided or expired, decided meanwhile, or `shownDigest` does not match the item as it is now',
    },
  })
  @Post(':actionId/approve')
  @HttpCode(200)
  async approve(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { reason, shownDigest } = parseBody(DecisionBody, body);
    return { actionId, ...(await this.approvals.approve(actionId, req.principal!, reason, shownDigest)) };
  }

  /**
   * Approve with changes: the item ends as revised and a new action (`newActionId`) with the edited parameters is
   * created and evaluated again; this approval counts for it only if its digest is `revisedDigest` (told to `pii:view`).
   */
  @ApiRoute({
    summary: 'Approve with changes: a new action with the edited parameters',
    body: ReviseBody,
    ok: { description: 'The item is revised; `newActionId` is evaluated again', schema: { type: 'object' } },
    errors: {
      400: "a body that does not validate, no change, or parameters the action type's schema refuses",
      403: 'separation of duties (the proposer), a token of no person, a role the item needs, or a step-up the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'already decided or expired, decided meanwhile, or `shownDigest` does not match the item as it is now; no sealed copy',
    },
  })
  @Post(':actionId/revise')
  @HttpCode(200)
  async revise(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { parameters, reason, shownDigest } = parseBody(ReviseBody, body);
    // `revisedDigest` is told to pii:view only, decided by the service for every route (red team, 2026-12-04 and 2026-12-05).
    return this.revisions.revise(actionId, req.principal!, parameters, reason, shownDigest);
  }

  /** After-the-fact check of a sampled autonomous action. */
  @ApiRoute({
    summary: 'Assess a sampled autonomous action after the fact',
    body: AssessBody,
    ok: {
      description: 'The verdict is recorded',
      schema: { type: 'object', required: ['actionId'], properties: { actionId: { type: 'string' }, status: { type: 'string' } } },
    },
    errors: {
      400: 'a body that does not validate',
      403: 'separation of duties (the proposer), a token of no person, a role the item needs, or a step-up the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'already decided or expired, decided meanwhile, or `shownDigest` does not match the item as it is now',
    },
  })
  @Post(':actionId/assess')
  @HttpCode(200)
  async assess(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { verdict, reason, shownDigest } = parseBody(AssessBody, body);
    await this.approvals.assess(actionId, req.principal!, verdict, reason, shownDigest);
    return { actionId, status: verdict === 'agree' ? 'agreed' : 'disagreed' };
  }

  @ApiRoute({
    summary: 'Reject a review item (a signed rejection), with a reason',
    body: DecisionBody,
    ok: {
      description: 'The item is rejected',
      schema: { type: 'object', required: ['actionId'], properties: { actionId: { type: 'string' }, status: { type: 'string' } } },
    },
    errors: {
      400: 'a body that does not validate (a reason of at least 3 letters or digits)',
      403: 'separation of duties (the proposer), a token of no person, a role the item needs, or a step-up the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'already decided or expired, decided meanwhile, or `shownDigest` does not match the item as it is now',
    },
  })
  @Post(':actionId/reject')
  @HttpCode(200)
  async reject(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { reason, shownDigest } = parseBody(DecisionBody, body);
    await this.approvals.reject(actionId, req.principal!, reason, shownDigest);
    return { actionId, status: 'rejected' };
  }
}
