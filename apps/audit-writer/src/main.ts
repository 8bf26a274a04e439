import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { KeyRing } from '@countersign/audit-chain';
import { loadSigningKeys } from '@countersign/keys';
import { runService } from '@countersign/nest';
import { createPgPool, migrate } from '@countersign/storage';
import { AuditWriterModule } from './audit-writer.module';
import { createFileHeadStore } from './chain/file-head-store';
import { createPgAuditLog } from './log-store/pg-audit-log.repository';

void runService({
  service: 'audit-writer',
  defaultPort: 8084,
  settings: z.object({
    /** The owner's connection, used only to create the tables and their grants. */
    DATABASE_URL: z.string().startsWith('postgres'),
    /** The restricted role's connection (INSERT and SELECT on the log), for appends and queries. */
    AUDIT_DATABASE_URL: z.string().startsWith('postgres'),
    AUDIT_DB_ROLE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case role name')
      .default('countersign_audit'),
    /**
     * The tree-head signing keys, as a JSON file `[{keyId, privateKeyFile, notBefore, notAfter}]`: list the
     * next key beside the current one, with overlapping windows, to rotate without a gap. Past every key's
     * `notAfter` (its rotation deadline) heads are no longer signed (fail closed) and an alert is logged.
     */
    AUDIT_SIGNING_KEYS_FILE: z.string().min(1),
    AUDIT_HEAD_STORE_DIR: z.string().min(1),
    AUDIT_HEAD_EVERY_ENTRIES: z.coerce.number().int().positive().default(1000),
    AUDIT_HEAD_EVERY_MS: z.coerce.number().int().positive().default(5000),
  }),
  async build({ config, logger }) {
    const migrations = { service: 'audit-writer', dir: join(__dirname, '../migrations'), settings: { 'countersign.audit_role': config.AUDIT_DB_ROLE } };
    await migrate(config.DATABASE_URL, migrations, (msg) => logger.info(msg));
    const pool = createPgPool(config.AUDIT_DATABASE_URL, 10, (e) => logger.warn({ err: e }, 'idle database connection lost'));
    const keys = new KeyRing(loadSigningKeys(config.AUDIT_SIGNING_KEYS_FILE), (reason) => logger.error({ alert: 'audit-signing-key' }, reason));
    const headPolicy = { everyEntries: config.AUDIT_HEAD_EVERY_ENTRIES, everyMs: config.AUDIT_HEAD_EVERY_MS };
    return {
      modules: [AuditWriterModule.register({ log: createPgAuditLog(pool), keys, headStore: createFileHeadStore(config.AUDIT_HEAD_STORE_DIR), headPolicy })],
      readiness: [
        { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
        { name: 'tree-head-signing', check: async () => keys.health(new Date()).healthy },
      ],
      close: () => pool.end(),
    };
  },
});
