import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { z } from 'zod';
import { reasonString } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, BodyLimit, IdentifierParam, parseBody, Roles } from '@countersign/nest';
import { CHANGE_STATUSES, changeRequestSchema } from './change-request.schema';
import { ChangeRequestService } from './change-request.service';

const reason = () => reasonString(3, 2000);

// Strict: a body that names its own approver (`approvedBy`, the old `PUT /v1/policy`) is refused, not ignored.
const RequestBody = z.strictObject({
  /** Only contract changes for now; an autonomy raise is meant to be the next kind. */
  kind: z.literal('contract').default('contract'),
  /** The new contract's YAML. */
  contract: z.string().min(1).max(1_000_000),
  reason: reason(),
});
const ApproveBody = z.strictObject({
  /** The digest of the request as the approver reviewed it. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 hex digits of the change request'),
  reason: reason(),
});
const RejectBody = z.strictObject({ reason: reason() });

/** The body limit of a change request: room for the largest contract its schema takes, in UTF-8, and the reason. */
export const CHANGE_REQUEST_BODY_BYTES = 1024 * 1024;

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const CHANGE_REQUEST = changeRequestSchema({ contract: { type: 'object' }, diff: {} });

/** Four-eyes change control of the operational contract, for admins (see ChangeRequestService). */
@Controller('v1/policy/change-requests')
@Roles('admin')
export class ChangeRequestsController {
  constructor(private readonly changes: ChangeRequestService) {}

  /** Asks for a new contract version: 201 with the id, the digest to approve and the diff. Nothing changes yet. */
  @ApiRoute({
    summary: 'Request a new contract version (a second admin approves it)',
    body: RequestBody,
    ok: {
      status: 201,
      description: 'The request: its id, the digest to approve and the diff',
      schema: CHANGE_REQUEST,
    },
    errors: {
      400: 'a body that does not validate, or a contract that does not load or cannot be compared with the running one',
      409: 'the requester has 5 requests pending against the running version already, or 50 are pending in all',
    },
  })
  @Post()
  @HttpCode(201)
  // The contract travels whole in the body (the schema takes up to 1,000,000 characters); under the global 64 KiB the
  // shipped contract (41 KB) would soon not fit (red team, 2026-12-05). 1 MiB; the schema's own limit still applies.
  @BodyLimit(CHANGE_REQUEST_BODY_BYTES)
  async create(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.changes.request(parseBody(RequestBody, body), req.principal!);
  }

  @ApiRoute({
    summary: 'Contract change requests',
    query: { status: 'only requests in this status: pending, approved, rejected, withdrawn, expired' },
    ok: {
      description: 'The change requests',
      schema: {
        type: 'object',
        required: ['changeRequests'],
        properties: {
          changeRequests: {
            type: 'array',
            items: CHANGE_REQUEST,
          },
        },
      },
    },
    errors: { 400: 'an unknown `status`' },
  })
  @Get()
  async list(@Query('status') status?: string) {
    if (status !== undefined && !(CHANGE_STATUSES as readonly string[]).includes(status))
      throw new BadRequestException(`status must be one of ${CHANGE_STATUSES.join(', ')}`);
    return { changeRequests: await this.changes.list(status) };
  }

  @ApiRoute({
    summary: 'One contract change request',
    ok: {
      description: 'The change request',
      schema: CHANGE_REQUEST,
    },
    errors: { 404: 'no change request with this id', 409: 'the id is an autonomy raise (decided at /v1/autonomy/raise-requests)' },
  })
  @Get(':id')
  async one(@Param('id', new IdentifierParam('id')) id: string) {
    return this.changes.get(known(id));
  }

  /** Approves (another admin than the requester, naming the reviewed digest); every instance then applies it. */
  @ApiRoute({
    summary: 'Approve a contract change request (another admin than the requester)',
    body: ApproveBody,
    ok: {
      description: 'The approved request; every instance applies the new contract',
      schema: CHANGE_REQUEST,
    },
    errors: {
      400: 'a body that does not validate',
      403: 'the requester cannot approve their own request',
      404: 'no change request with this id',
      409: 'not pending, a digest that does not match, or another version runs now',
    },
  })
  @Post(':id/approve')
  @HttpCode(200)
  async approve(@Param('id', new IdentifierParam('id')) id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.changes.approve(known(id), parseBody(ApproveBody, body), req.principal!);
  }

  /** Rejects a request (another admin) or withdraws it (its requester). */
  @ApiRoute({
    summary: 'Reject (another admin) or withdraw (its requester) a contract change request',
    body: RejectBody,
    ok: {
      description: 'The rejected or withdrawn request',
      schema: CHANGE_REQUEST,
    },
    errors: { 400: 'a body that does not validate', 404: 'no change request with this id', 409: 'the request is no longer pending' },
  })
  @Post(':id/reject')
  @HttpCode(200)
  async reject(@Param('id', new IdentifierParam('id')) id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.changes.reject(known(id), parseBody(RejectBody, body), req.principal!);
  }
}

/**
 * Request ids are UUIDs; anything else names no request (and is not echoed back). What is no identifier at all (a
 * control character, a bidi override, 200+ characters) was refused 400 before this, by `IdentifierParam`, as on every
 * other route (red team, 2026-12-05: it was answered 404 like any unknown id).
 */
function known(id: string): string {
  if (!ID.test(id)) throw new NotFoundException('no such change request');
  return id;
}
