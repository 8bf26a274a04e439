import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { z } from 'zod';
import { reasonString } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, IdentifierParam, parseBody, Roles } from '@countersign/nest';
import { ClaimBreakService } from './claim-break.service';

/** A break's body: the lead's reason (the JSON API's and the inbox's). */
export const BreakBody = z.strictObject({ reason: reasonString(3, 2000) });

/** A lead's override of a reviewer's claim (`ClaimBreakService`): the JSON API's route, beside the reviewers' own. */
@Controller('v1/reviews')
@Roles('lead')
export class ClaimBreakController {
  constructor(private readonly breaks: ClaimBreakService) {}

  @ApiRoute({
    summary: "End another reviewer's claim on a pending review item (leads; audited, with a reason)",
    body: BreakBody,
    ok: {
      description: 'The claim that was ended: who held it, and until when',
      schema: {
        type: 'object',
        required: ['actionId', 'released'],
        properties: { actionId: { type: 'string' }, released: { type: 'object', properties: { by: { type: 'string' }, until: { type: 'string' } } } },
      },
    },
    errors: {
      400: 'a body that does not validate (a reason of at least 3 letters or digits)',
      403: 'not a lead',
      404: 'no review item for this action',
      409: 'nobody holds a claim on it, the caller holds it, or it is decided',
      503: 'the audit trail cannot record the break now: the claim still holds; try again',
    },
  })
  @Post(':actionId/claim/break')
  @HttpCode(200)
  async breakClaim(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { reason } = parseBody(BreakBody, body);
    return { actionId, ...(await this.breaks.breakClaim(actionId, req.principal!, reason)) };
  }
}
