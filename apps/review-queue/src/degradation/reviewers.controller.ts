import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { ApiRoute, AuthenticatedRequest, requireEveryTenant, Roles } from '@countersign/nest';
import { BACKLOG_GAUGES } from '../tokens';
import type { BacklogGauges } from './backlog-gauges';
import { GovernanceService } from './governance.service';

/**
 * Reviewers on shift: each reviewer's session sends a heartbeat (say every 30 s); the reviewer counts as on shift,
 * with the roles of their token, until the heartbeat's TTL runs out. The controller divides each role's backlog by them.
 */
@Controller('v1/reviewers')
export class ReviewersController {
  constructor(
    @Inject(BACKLOG_GAUGES) private readonly gauges: BacklogGauges,
    private readonly governance: GovernanceService,
  ) {}

  @ApiRoute({
    summary: "A reviewer's heartbeat: on shift until its TTL runs out",
    errors: { 403: 'a reviewer bound to tenants: on shift counts against every tenant’s backlog' },
    ok: {
      description: 'On shift until `onShiftUntil`',
      schema: {
        type: 'object',
        required: ['reviewer', 'roles', 'onShiftUntil'],
        properties: {
          reviewer: { type: 'string' },
          roles: { type: 'array', items: { type: 'string' } },
          onShiftUntil: { type: 'string', format: 'date-time' },
        },
      },
    },
  })
  @Post('heartbeat')
  @HttpCode(200)
  @Roles('reviewer')
  async heartbeat(@Req() req: AuthenticatedRequest) {
    const principal = req.principal!;
    // On shift counts a reviewer against every tenant's backlog of their roles; one bound to tenants works only theirs,
    // and counted so would make the queue look better staffed than it is (the degradation mode would stay too low).
    requireEveryTenant(principal, 'the reviewers-on-shift count');
    const { heartbeatTtlMs, now } = this.governance.settings;
    const at = now();
    await this.gauges.heartbeat(principal.id, principal.roles, heartbeatTtlMs, new Date(at));
    return { reviewer: principal.id, roles: principal.roles, onShiftUntil: new Date(at + heartbeatTtlMs).toISOString() };
  }
}
