import 'reflect-metadata';
import { z } from 'zod';
import { runService } from '@countersign/nest';
import { createPgPool } from '@countersign/storage';
import { AuditWriterModule } from './audit-writer.module';
import { PgAuditLogRepository } from './ingest/audit-log.repository';

void runService({
  service: 'audit-writer',
  defaultPort: 8084,
  settings: z.object({
    /** The owner's connection, used only to create the table and its grants. */
    DATABASE_URL: z.string().startsWith('postgres'),
    /** The restricted role's connection (INSERT and SELECT only), used for appends and queries. */
    AUDIT_DATABASE_URL: z.string().startsWith('postgres'),
    AUDIT_DB_ROLE: z.string().default('countersign_audit'),
  }),
  async build({ config }) {
    const owner = createPgPool(config.DATABASE_URL, 1);
    await PgAuditLogRepository.migrate(owner, config.AUDIT_DB_ROLE);
    await owner.end();
    const pool = createPgPool(config.AUDIT_DATABASE_URL);
    return {
      modules: [AuditWriterModule.register(new PgAuditLogRepository(pool))],
      readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }],
      close: () => pool.end(),
    };
  },
});
