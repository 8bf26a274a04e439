export { AuditWriterModule } from './audit-writer.module';
export { FileAuditLogRepository } from './ingest/file-audit-log.repository';
export { PgAuditLogRepository } from './ingest/audit-log.repository';
