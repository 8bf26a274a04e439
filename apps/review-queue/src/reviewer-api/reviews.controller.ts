import { BadRequestException, Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { z } from 'zod';
import { freeTextString } from '@countersign/contracts';
import { AuthenticatedRequest, parseBody, Roles } from '@countersign/nest';
import { ApprovalService } from '../approvals/approval.service';
import { ReviewItemRepository } from '../review-item/review-item.repository';
import { publicItem, shownDigest, shownView } from '../review-item/shown';
import { REVIEW_ITEMS } from '../tokens';
import { RevealService } from './reveal.service';

const DecisionBody = z.object({
  // Free text: a reason of control characters (three NULs) is no reason.
  reason: freeTextString().trim().min(3, 'a reason of at least 3 characters is required').max(2000),
  /** The `shownDigest` of the item as the reviewer's screen showed it: a decision on a stale view is refused. */
  shownDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/** The minimal reviewer API: list pending items, approve or reject each with a mandatory reason. */
const AssessBody = DecisionBody.extend({ verdict: z.enum(['agree', 'disagree']) });

@Controller('v1/reviews')
@Roles('reviewer')
export class ReviewsController {
  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    private readonly approvals: ApprovalService,
    private readonly reveals: RevealService,
  ) {}

  @Get()
  async pending(@Query('limit') limit?: string) {
    const n = Math.min(Math.max(Number(limit ?? 50) || 50, 1), 500);
    return { items: (await this.items.pending(n)).map(publicItem) };
  }

  /**
   * One item, regulated data masked. `?reveal=true`: the real proposal, for a reviewer holding `pii:view`
   * (audited; 403 without it). `shownDigest` stays the one of the masked view, which the audit trail keeps.
   */
  @Get(':actionId')
  async one(@Param('actionId') actionId: string, @Req() req: AuthenticatedRequest, @Query('reveal') reveal?: unknown) {
    if (reveal !== undefined && reveal !== 'true' && reveal !== 'false') throw new BadRequestException('reveal: must be true or false');
    if (reveal === 'true') {
      const { item, proposal } = await this.reveals.reveal(actionId, req.principal!);
      return { ...publicItem(item), proposal, revealed: true, shownDigest: shownDigest(shownView(item)) };
    }
    const item = await this.items.get(actionId);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    return { ...publicItem(item), shownDigest: shownDigest(shownView(item)) };
  }

  @Post(':actionId/approve')
  @HttpCode(200)
  async approve(@Param('actionId') actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { reason, shownDigest } = parseBody(DecisionBody, body);
    return { actionId, ...(await this.approvals.approve(actionId, req.principal!, reason, shownDigest)) };
  }

  /** After-the-fact check of a sampled autonomous action. */
  @Post(':actionId/assess')
  @HttpCode(200)
  async assess(@Param('actionId') actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { verdict, reason, shownDigest } = parseBody(AssessBody, body);
    await this.approvals.assess(actionId, req.principal!, verdict, reason, shownDigest);
    return { actionId, status: verdict === 'agree' ? 'agreed' : 'disagreed' };
  }

  @Post(':actionId/reject')
  @HttpCode(200)
  async reject(@Param('actionId') actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { reason, shownDigest } = parseBody(DecisionBody, body);
    await this.approvals.reject(actionId, req.principal!, reason, shownDigest);
    return { actionId, status: 'rejected' };
  }
}
