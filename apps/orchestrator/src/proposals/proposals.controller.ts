import { BadRequestException, Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ProposalSchema } from '@countersign/contracts';
import { AuthenticatedRequest, parseBody, Roles } from '@countersign/nest';
import { ProposalsService } from './proposals.service';

@Controller('v1/proposals')
export class ProposalsController {
  constructor(private readonly proposals: ProposalsService) {}

  /** Accepts a proposal: `202 {actionId, status}`; an `Idempotency-Key` makes a retry return the same action. */
  @Post()
  @HttpCode(202)
  @Roles('agent')
  async submit(@Body() body: unknown, @Req() req: AuthenticatedRequest & { correlationId: string }, @Headers('idempotency-key') idempotencyKey?: string) {
    if (idempotencyKey !== undefined && !/^[\w.:-]{1,200}$/.test(idempotencyKey)) {
      throw new BadRequestException('Idempotency-Key must be 1-200 characters of letters, digits, ".", ":", "_" or "-"');
    }
    const proposal = parseBody(ProposalSchema, body);
    const principal = req.principal!;
    const accepted = await this.proposals.acceptHttp(
      proposal,
      { id: principal.id, kind: principal.kind, roles: principal.roles, authMethod: 'bearer-token' },
      req.correlationId,
      idempotencyKey,
    );
    return { actionId: accepted.actionId, status: accepted.status };
  }
}
