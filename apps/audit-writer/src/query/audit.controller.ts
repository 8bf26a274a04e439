import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import { Roles } from '@countersign/nest';
import { AuditLogRepository } from '../ingest/audit-log.repository';
import { AUDIT_LOG } from '../tokens';

/** Audit entries by action id, correlation id, actor or type, for auditors. */
@Controller('v1/audit')
@Roles('auditor')
export class AuditController {
  constructor(@Inject(AUDIT_LOG) private readonly log: AuditLogRepository) {}

  @Get('entries')
  async entries(@Query('actionId') actionId?: string, @Query('correlationId') correlationId?: string, @Query('actor') actor?: string, @Query('type') type?: string, @Query('limit') limit?: string) {
    if (!actionId && !correlationId && !actor && !type) throw new BadRequestException('give at least one of actionId, correlationId, actor, type');
    const n = limit === undefined ? 500 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 5000) throw new BadRequestException('limit: must be an integer from 1 to 5000');
    return { entries: await this.log.query({ actionId, correlationId, actor, type, limit: n }) };
  }
}
