import 'reflect-metadata';
import { join } from 'node:path';
import { KeyRing } from '@countersign/audit-chain';
import { isDependencyFailure } from '@countersign/bus';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { RunningContract } from '@countersign/policy';
import type { Logger } from '@countersign/logging';
import { contractChangeKeys, runService } from '@countersign/nest';
import { migrate, startOnNewerSchema } from '@countersign/storage';
import { AuditWriterModule } from './audit-writer.module';
import { checkNewestHead } from './chain/audit-chain.service';
import { createFileHeadStore } from './chain/file-head-store';
import { spacedHeadStore } from './chain/spaced-head-store';
import { newestHead } from './log-store/audit-log.repository';
import { createPgAuditLog } from './log-store/pg-audit-log.repository';
import { AuditWriterSettings } from './settings';

void runService({
  service: 'audit-writer',
  defaultPort: 8084,
  settings: AuditWriterSettings,
  async build({ config, logger, pgPool }) {
    // Loaded for the process's masking only (an invalid contract stops the boot, as in every service that reads it).
    RunningContract.fromFile(config.CONTRACT_PATH);
    const migrations = {
      service: 'audit-writer',
      dir: join(__dirname, '../migrations'),
      settings: { 'countersign.audit_role': config.AUDIT_DB_ROLE },
      onNewer: startOnNewerSchema(logger),
    };
    // PostgreSQL not (yet) there at boot is waited for, not a crash loop; a broken migration still fails at once.
    await whenAvailable(() => migrate(config.DATABASE_URL, migrations, (msg) => logger.info(msg)), 'PostgreSQL', config.BOOT_DEPENDENCY_TIMEOUT_MS, logger);
    const pool = pgPool(config.AUDIT_DATABASE_URL, (e) => logger.warn({ err: e }, 'idle database connection lost'));
    // Read again when the file changes: a rotated key signs without a restart, an expired one stops at once (ADR 0019).
    const keys = new KeyRing(watchSigningKeys(config.AUDIT_SIGNING_KEYS_FILE), (reason) => logger.error({ alert: 'audit-signing-key' }, reason));
    const log = createPgAuditLog(pool);
    const headPolicy = { everyEntries: config.AUDIT_HEAD_EVERY_ENTRIES, everyMs: config.AUDIT_HEAD_EVERY_MS };
    return {
      modules: [
        AuditWriterModule.register({
          log,
          keys,
          headStore: spacedHeadStore(createFileHeadStore(config.AUDIT_HEAD_STORE_DIR), config.AUDIT_HEAD_STORE_EVERY_MS),
          headPolicy,
          sealKeys: {
            decisions: watchVerifyKeys(config.DECISION_VERIFY_KEYS_FILE),
            reviewQueue: watchVerifyKeys(config.APPROVAL_VERIFY_KEYS_FILE),
            contractChanges: contractChangeKeys(config.CONTRACT_VERIFY_KEYS_FILE),
            outcomes: watchVerifyKeys(config.OUTCOME_VERIFY_KEYS_FILE),
          },
        }),
      ],
      readiness: [
        { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
        { name: 'tree-head-signing', check: async () => keys.health(new Date()).healthy },
        // The newest signed head verifies against the writer's keys, or the log is not loaded (`checkNewestHead`).
        { name: 'audit-log-head', check: async () => (await newestHead(log).then((head) => head && checkNewestHead(head, keys)), true) },
      ],
      close: () => pool.end(),
    };
  },
});

/**
 * Runs a boot step that needs a dependency, again and again while the dependency is unavailable
 * (`isDependencyFailure`), with backoff from a quarter of a second up to five, logging why it waits (at the first
 * failure, then every tenth). Any other error, or the dependency still away after `timeoutMs`, fails the boot.
 */
async function whenAvailable<T>(step: () => Promise<T>, dependency: string, timeoutMs: number, logger: Logger): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await step();
      if (attempt > 1) logger.info({ dependency, attempts: attempt }, `${dependency} is available; booting`);
      return done;
    } catch (e) {
      if (!isDependencyFailure(e) || Date.now() >= deadline) throw e;
      const delay = Math.min(250 * 2 ** Math.min(attempt - 1, 5), 5_000, Math.max(deadline - Date.now(), 0));
      if (attempt === 1 || attempt % 10 === 0) {
        logger.warn(
          { err: e, dependency, attempt, retryInMs: delay, givesUpInMs: deadline - Date.now() },
          `${dependency} is not available; waiting for it to boot`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
