import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { z } from 'zod';
import { reasonString } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, IdentifierParam, parseBody, Roles } from '@countersign/nest';
import { OutcomeCheckService } from './outcome-check.service';

const OutcomeBody = z.strictObject({
  /** Whether the action took effect at the target. */
  happened: z.boolean(),
  reason: reasonString(3, 2000),
  /** The `shownDigest` of the check as the reviewer's screen showed it (`GET /v1/reviews/outcome-check:{actionId}`). */
  shownDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/** A reviewer's answer to "did this happen?" (the check is listed with the other pending items). */
@Controller('v1/reviews')
@Roles('reviewer')
export class OutcomeChecksController {
  constructor(private readonly checks: OutcomeCheckService) {}

  @ApiRoute({
    summary: 'Answer an outcome check: did the action take effect?',
    body: OutcomeBody,
    ok: { description: 'The answer is recorded', schema: { type: 'object' } },
    errors: {
      400: 'a body that does not validate',
      403: 'separation of duties (the proposer), a token of no person, or a role the check needs',
      404: 'no outcome check for this action, or one of a tenant the caller is not bound to',
      409: 'already answered, answered meanwhile, or `shownDigest` does not match',
    },
  })
  @Post(':actionId/outcome')
  @HttpCode(200)
  async answer(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { happened, reason, shownDigest } = parseBody(OutcomeBody, body);
    return this.checks.answer(actionId, req.principal!, happened, reason, shownDigest);
  }
}
