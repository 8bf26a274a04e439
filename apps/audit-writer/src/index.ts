export { AuditWriterModule } from './audit-writer.module';
export type { AuditWriterOptions } from './audit-writer.module';
export type { AuditLogRepository } from './log-store/audit-log.repository';
export { AuditLogTamperedError, createFileAuditLog, FileAuditLogRepository } from './log-store/file-audit-log.repository';
export { createPgAuditLog, PgAuditLogRepository } from './log-store/pg-audit-log.repository';
export type { HeadStore } from './chain/head-store';
export { createFileHeadStore, FileHeadStore } from './chain/file-head-store';
export { DEFAULT_KEEP_EVERY_MS, spacedHeadStore } from './chain/spaced-head-store';
export { AUDITED_TOPICS } from './ingest/audit.consumer';
