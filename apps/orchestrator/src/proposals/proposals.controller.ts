import { BadRequestException, Body, Controller, Headers, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ProposalSchema } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, parseBody, Roles } from '@countersign/nest';
import { ProposalRateGuard } from './proposal-rate';
import { ProposalsService } from './proposals.service';

@Controller('v1/proposals')
export class ProposalsController {
  constructor(private readonly proposals: ProposalsService) {}

  /**
   * Accepts a proposal: `202 {actionId, status}` once the bus has acknowledged its `action proposed` event; 503 with
   * `Retry-After` when the bus is away. An `Idempotency-Key` makes a retry publish and return the same action (the key
   * is held even after a 503). 400 for a body or parameters that do not validate, 403 for a `proposer.agentId` the
   * caller may not act as, 409 for a key already used for another proposal, 429 past the principal's rate (docs/adr/0048).
   */
  @ApiRoute({
    summary: 'Propose an action',
    description: 'The proposer is the token: it proposes only as the agent ids its entry names. `Idempotency-Key` makes a retry return the same action.',
    body: ProposalSchema,
    ok: {
      status: 202,
      description: 'Accepted: the `action proposed` event is on the bus',
      schema: {
        type: 'object',
        required: ['actionId', 'status'],
        properties: {
          actionId: { type: 'string' },
          status: {
            type: 'string',
            description: "`proposed` for a new action; for a retry under its Idempotency-Key, the action's status now, as `GET /v1/actions/{id}` reads it",
          },
        },
      },
    },
    errors: {
      400: "the body or its parameters do not validate (the proposal schema, then the action type's parameter schema); a malformed Idempotency-Key, or more than one",
      403: '`proposer.agentId` is not an agent id the token may propose as',
      409: 'the Idempotency-Key was already used for a different proposal',
      413: 'the body is over 64 KiB, or the proposal is, written out as its events carry it (a number sent as 1e20 in full)',
      429: "the token's principal proposes faster than its rate on this instance: retry after `Retry-After` seconds (its body is not read)",
    },
  })
  @Post()
  @HttpCode(202)
  @Roles('agent')
  @UseGuards(ProposalRateGuard)
  async submit(@Body() body: unknown, @Req() req: AuthenticatedRequest & { correlationId: string }, @Headers('idempotency-key') idempotencyKey?: string) {
    // Two keys are no key: Node joins them ("a, b"), and which one a proxy in front would keep is its own choice.
    if (((req as { headersDistinct?: Record<string, string[] | undefined> }).headersDistinct?.['idempotency-key']?.length ?? 0) > 1)
      throw new BadRequestException('more than one Idempotency-Key header: send one');
    if (idempotencyKey !== undefined && !/^[\w.:-]{1,200}$/.test(idempotencyKey)) {
      throw new BadRequestException('Idempotency-Key must be 1-200 characters of letters, digits, ".", ":", "_" or "-"');
    }
    const proposal = parseBody(ProposalSchema, body);
    const accepted = await this.proposals.acceptHttp(proposal, req.principal!, req.correlationId, idempotencyKey);
    return { actionId: accepted.actionId, status: accepted.status };
  }
}
