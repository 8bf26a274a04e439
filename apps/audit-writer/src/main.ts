import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { KeyRing } from '@countersign/audit-chain';
import { isDependencyFailure } from '@countersign/bus';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { RunningContract } from '@countersign/policy';
import type { Logger } from '@countersign/logging';
import { contractChangeKeys, contractChangeSettings, runService } from '@countersign/nest';
import { migrate, startOnNewerSchema } from '@countersign/storage';
import { AuditWriterModule } from './audit-writer.module';
import { createFileHeadStore } from './chain/file-head-store';
import { DEFAULT_KEEP_EVERY_MS, spacedHeadStore } from './chain/spaced-head-store';
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
    /** The policy engine's decision keys and the review queue's keys: an event that claims to be theirs without their seal or signature is recorded apart (docs/adr/0040). */
    DECISION_VERIFY_KEYS_FILE: z.string().min(1),
    APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
    /** The executor's outcome keys: an outcome without its seal is recorded apart (docs/adr/0042). */
    OUTCOME_VERIFY_KEYS_FILE: z.string().min(1),
    /** The policy engine's contract-change keys: unset, every contract change is recorded apart, as not vouched for. */
    ...contractChangeSettings,
    AUDIT_HEAD_STORE_DIR: z.string().min(1),
    AUDIT_HEAD_EVERY_ENTRIES: settings.number(1000, { min: 1, max: 1_000_000, integer: true }),
    AUDIT_HEAD_EVERY_MS: settings.number(5000, { min: 1, max: 3_600_000, integer: true }),
    /** How far apart the heads kept in AUDIT_HEAD_STORE_DIR are, at least (one file each; 0 keeps every head). */
    AUDIT_HEAD_STORE_EVERY_MS: settings.number(DEFAULT_KEEP_EVERY_MS, { min: 0, max: 86_400_000, integer: true }),
    /** How long the boot waits for PostgreSQL (to migrate) before it gives up and exits 1; 5 minutes by default. */
    BOOT_DEPENDENCY_TIMEOUT_MS: settings.number(300_000, { min: 1, max: 3_600_000, integer: true }),
    /**
     * The contract the policy engines load (their CONTRACT_PATH): read for its national-id patterns, which every entry
     * is masked with (`masking.nationalIds`). The writer does not follow approved changes of them: the services that
     * publish the events (the review queue, the orchestrator, the policy engine) do, and mask before they publish.
     */
    CONTRACT_PATH: z.string().default(join(__dirname, '../../policy-engine/contract/countersign.contract.yaml')),
  }),
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
    const headPolicy = { everyEntries: config.AUDIT_HEAD_EVERY_ENTRIES, everyMs: config.AUDIT_HEAD_EVERY_MS };
    return {
      modules: [
        AuditWriterModule.register({
          log: createPgAuditLog(pool),
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
