import { BadRequestException, Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ProposalSchema } from '@countersign/contracts';
import { AuthenticatedRequest, parseBody, Roles } from '@countersign/nest';
import { ProposalsService } from './proposals.service';

@Controller('v1/proposals')
export class ProposalsController {
  constructor(private readonly proposals: ProposalsService) {}

  /**
   * Accepts a proposal: `202 {actionId, status}` once the bus has acknowledged its `action proposed` event; 503 with
   * `Retry-After` when the bus is away. An `Idempotency-Key` makes a retry publish and return the same action (the key
   * is held even after a 503). 400 for a body or parameters that do not validate, 403 for a `proposer.agentId` the
   * caller may not act as, 409 for a key already used for another proposal.
   */
  @Post()
  @HttpCode(202)
  @Roles('agent')
  async submit(@Body() body: unknown, @Req() req: AuthenticatedRequest & { correlationId: string }, @Headers('idempotency-key') idempotencyKey?: string) {
    if (idempotencyKey !== undefined && !/^[\w.:-]{1,200}$/.test(idempotencyKey)) {
      throw new BadRequestException('Idempotency-Key must be 1-200 characters of letters, digits, ".", ":", "_" or "-"');
    }
    const proposal = parseBody(ProposalSchema, body);
    const accepted = await this.proposals.acceptHttp(proposal, req.principal!, req.correlationId, idempotencyKey);
    return { actionId: accepted.actionId, status: accepted.status };
  }
}
