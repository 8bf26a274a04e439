import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { z } from 'zod';
import { freeTextString } from '@countersign/contracts';
import { AuthenticatedRequest, parseBody, Roles } from '@countersign/nest';
import { ChangeRequestService } from './change-request.service';

const reason = () => freeTextString().trim().min(3, 'a reason of at least 3 characters is required').max(2000);

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

const STATUSES = ['pending', 'approved', 'rejected', 'withdrawn', 'expired'];
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Four-eyes change control of the operational contract, for admins (see ChangeRequestService). */
@Controller('v1/policy/change-requests')
@Roles('admin')
export class ChangeRequestsController {
  constructor(private readonly changes: ChangeRequestService) {}

  /** Asks for a new contract version: 201 with the id, the digest to approve and the diff. Nothing changes yet. */
  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.changes.request(parseBody(RequestBody, body), req.principal!);
  }

  @Get()
  async list(@Query('status') status?: string) {
    if (status !== undefined && !STATUSES.includes(status)) throw new BadRequestException(`status must be one of ${STATUSES.join(', ')}`);
    return { changeRequests: await this.changes.list(status) };
  }

  @Get(':id')
  async one(@Param('id') id: string) {
    return this.changes.get(known(id));
  }

  /** Approves (another admin than the requester, naming the reviewed digest); every instance then applies it. */
  @Post(':id/approve')
  @HttpCode(200)
  async approve(@Param('id') id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.changes.approve(known(id), parseBody(ApproveBody, body), req.principal!);
  }

  /** Rejects a request (another admin) or withdraws it (its requester). */
  @Post(':id/reject')
  @HttpCode(200)
  async reject(@Param('id') id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.changes.reject(known(id), parseBody(RejectBody, body), req.principal!);
  }
}

/** Request ids are UUIDs; anything else names no request (and is not echoed back). */
function known(id: string): string {
  if (!ID.test(id)) throw new NotFoundException('no such change request');
  return id;
}
