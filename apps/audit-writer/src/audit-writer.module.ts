import { DynamicModule, Module } from '@nestjs/common';
import { AuditConsumer } from './ingest/audit.consumer';
import { AuditLogRepository } from './ingest/audit-log.repository';
import { AuditController } from './query/audit.controller';
import { AUDIT_LOG } from './tokens';

/** The audit writer: appends every event once to the append-only store; the auditors' query API. */
@Module({})
export class AuditWriterModule {
  static register(log: AuditLogRepository): DynamicModule {
    return {
      module: AuditWriterModule,
      controllers: [AuditController],
      providers: [AuditConsumer, { provide: AUDIT_LOG, useValue: log }],
    };
  }
}
