import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { z } from 'zod';
import { reasonString } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, IdentifierParam, parseBody, Roles } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { changeRequestSchema } from '../contract/change-request.schema';
import { DEFAULT_TYPE } from '../decision/autonomy';
import { AutonomyService } from './autonomy.service';

const reason = () => reasonString(3, 2000);

const LowerBody = z.strictObject({ level: z.enum(['off', 'review-all', 'review-risky']), reason: reason() });
// Only `off`: switching an action type back on is a raise, which needs a second admin.
const KillSwitchBody = z.strictObject({ state: z.literal('off', 'only off: switching back on is a raise (POST …/raise-requests)'), reason: reason() });
// One object naming what to raise, so a body that names neither (or both) gets that said, not zod's "Invalid input" of a union.
const RaiseBody = z
  .strictObject({
    level: z.enum(['review-all', 'review-risky', 'autonomous']).optional(),
    killSwitch: z.literal('on', 'only on: switching off needs no request (POST …/kill-switch {"state": "off", "reason"})').optional(),
    reason: reason(),
  })
  .refine((b) => (b.level === undefined) !== (b.killSwitch === undefined), {
    message: 'name exactly one of level ("review-all", "review-risky" or "autonomous") or killSwitch ("on"), with a reason',
  });
const ApproveBody = z.strictObject({
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 hex digits of the raise request'),
  reason: reason(),
});
const RejectBody = z.strictObject({ reason: reason() });

/** Action types as the contract names them (`support.refund`); anything else is refused, not echoed. */
const ACTION_TYPE = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A raise request as the API shows it (a change request of kind `autonomy`), for the OpenAPI document. */
const RAISE_REQUEST = changeRequestSchema({ autonomy: { type: 'object' } });

/**
 * Autonomy changes (ADR 0014): lowering and switching off are one call for an admin or the `autonomy:lower`
 * role; raising is a request another admin approves.
 */
@Controller('v1/autonomy')
export class AutonomyController {
  constructor(
    private readonly autonomy: AutonomyService,
    private readonly contract: RunningContract,
  ) {}

  @ApiRoute({
    summary: "Lower an action type's autonomy at once",
    body: LowerBody,
    ok: { description: 'The autonomy flag as now set (audited)' },
    errors: {
      400: 'not an action type, a body that does not validate, or a level that is not lower (raising needs a request)',
      404: 'an action type the running contract does not know',
      503: 'the flag service cannot be written or read',
    },
  })
  @Post(':actionType/lower')
  @HttpCode(200)
  @Roles('admin', 'autonomy:lower')
  async lower(@Param('actionType') actionType: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const b = parseBody(LowerBody, body);
    return this.autonomy.lower(this.known(actionType, 'autonomy'), 'autonomy', b.level, b.reason, req.principal!);
  }

  @ApiRoute({
    summary: 'Switch an action type off (its kill switch) at once',
    body: KillSwitchBody,
    ok: { description: 'The kill switch as now set (audited)' },
    errors: {
      400: 'not an action type, or a body that does not validate (only `off`: switching on is a raise)',
      404: 'an action type the running contract does not know',
      503: 'the flag service cannot be written or read',
    },
  })
  @Post(':actionType/kill-switch')
  @HttpCode(200)
  @Roles('admin', 'autonomy:lower')
  async killSwitch(@Param('actionType') actionType: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const b = parseBody(KillSwitchBody, body);
    return this.autonomy.lower(this.known(actionType, 'kill-switch'), 'kill-switch', b.state, b.reason, req.principal!);
  }

  @ApiRoute({
    summary: 'Request a raise of autonomy, or switching an action type back on (another admin approves)',
    body: RaiseBody,
    ok: {
      status: 201,
      description: 'The raise request, with the digest to approve',
      schema: RAISE_REQUEST,
    },
    errors: {
      400: 'not an action type, a body that does not validate, or a level that is not looser',
      404: 'an action type the running contract does not know',
      503: 'the flag service cannot be read',
    },
  })
  @Post(':actionType/raise-requests')
  @HttpCode(201)
  @Roles('admin')
  async requestRaise(@Param('actionType') actionType: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const b = parseBody(RaiseBody, body);
    if (b.killSwitch) return this.autonomy.requestRaise(this.known(actionType, 'kill-switch'), 'kill-switch', 'on', b.reason, req.principal!);
    return this.autonomy.requestRaise(this.known(actionType, 'autonomy'), 'autonomy', b.level!, b.reason, req.principal!);
  }

  @ApiRoute({
    summary: 'Autonomy raise requests',
    ok: {
      description: 'The raise requests',
      schema: {
        type: 'object',
        required: ['raiseRequests'],
        properties: {
          raiseRequests: {
            type: 'array',
            items: RAISE_REQUEST,
          },
        },
      },
    },
  })
  @Get('raise-requests')
  @Roles('admin')
  async list() {
    return { raiseRequests: await this.autonomy.listRaises() };
  }

  @ApiRoute({
    summary: 'One autonomy raise request',
    ok: {
      description: 'The raise request',
      schema: RAISE_REQUEST,
    },
    errors: { 404: 'no raise request with this id' },
  })
  @Get('raise-requests/:id')
  @Roles('admin')
  async one(@Param('id', new IdentifierParam('id')) id: string) {
    return this.autonomy.getRaise(knownId(id));
  }

  @ApiRoute({
    summary: 'Approve an autonomy raise (another admin than the requester)',
    body: ApproveBody,
    ok: {
      description: 'The approved raise, applied to the flag',
      schema: RAISE_REQUEST,
    },
    errors: {
      400: 'a body that does not validate',
      403: 'the requester cannot approve their own raise',
      404: 'no raise request with this id',
      409: 'not pending, a digest that does not match, or the flag changed since the request',
      503: 'the flag service cannot be written',
    },
  })
  @Post('raise-requests/:id/approve')
  @HttpCode(200)
  @Roles('admin')
  async approve(@Param('id', new IdentifierParam('id')) id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.autonomy.approveRaise(knownId(id), parseBody(ApproveBody, body), req.principal!);
  }

  @ApiRoute({
    summary: 'Reject or withdraw an autonomy raise request',
    body: RejectBody,
    ok: {
      description: 'The rejected or withdrawn raise',
      schema: RAISE_REQUEST,
    },
    errors: { 400: 'a body that does not validate', 404: 'no raise request with this id', 409: 'the request is no longer pending' },
  })
  @Post('raise-requests/:id/reject')
  @HttpCode(200)
  @Roles('admin')
  async reject(@Param('id', new IdentifierParam('id')) id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.autonomy.rejectRaise(knownId(id), parseBody(RejectBody, body).reason, req.principal!);
  }

  @ApiRoute({
    summary: "An action type's autonomy level and kill switch",
    ok: {
      description: 'The current autonomy and kill switch',
      schema: {
        type: 'object',
        required: ['actionType', 'autonomy', 'killSwitch'],
        properties: { actionType: { type: 'string' }, autonomy: {}, killSwitch: {} },
      },
    },
    errors: { 400: 'not an action type', 404: 'an action type the running contract does not know', 503: 'the flag service cannot be read' },
  })
  @Get(':actionType')
  @Roles('admin', 'autonomy:lower')
  async current(@Param('actionType') actionType: string) {
    const type = this.known(actionType, 'autonomy');
    // The global default has an autonomy level and no kill switch of its own (each type has one).
    const [autonomy, killSwitch] = await Promise.all([
      this.autonomy.current(type, 'autonomy'),
      type === DEFAULT_TYPE ? null : this.autonomy.current(type, 'kill-switch'),
    ]);
    return { actionType: type, autonomy, killSwitch };
  }

  /**
   * An action type of the running contract (or, for autonomy, `default`, the global ceiling): a change to a flag of a
   * type the contract does not know would govern nothing, and only leaves a flag behind (404, audited).
   */
  private known(actionType: string, control: 'autonomy' | 'kill-switch'): string {
    if (!ACTION_TYPE.test(actionType) || actionType === 'raise-requests') throw new BadRequestException('not an action type');
    if (actionType === DEFAULT_TYPE && control === 'autonomy') return actionType;
    const running = this.contract.current();
    if (!Object.hasOwn(running.actions, actionType))
      throw new NotFoundException(
        actionType === DEFAULT_TYPE
          ? 'default has an autonomy level, not a kill switch: switch off each action type'
          : `no action type ${actionType} in the running contract (${running.version})`,
      );
    return actionType;
  }
}

function knownId(id: string): string {
  if (!ID.test(id)) throw new NotFoundException('no such raise request');
  return id;
}
