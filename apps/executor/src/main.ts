import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { createUnleashFlagReader, FlagControls, flagsReadiness, reportFlagHealth, withFlagControls } from '@countersign/flags';
import { settings } from '@countersign/config';
import { contractChangeKeys, contractChangeSettings, runService } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { migrate, startOnNewerSchema } from '@countersign/storage';
import { ConnectorRegistry } from './connectors/connector';
import { WebhookConnector } from './connectors/webhook.connector';
import { createExecutionRepository } from './execution/pg-execution.repository';
import { ExecutorModule } from './executor.module';

void runService({
  service: 'executor',
  defaultPort: 8083,
  settings: z
    .object({
      DATABASE_URL: z.string().startsWith('postgres'),
      WEBHOOK_URL: z.url(),
      /** The public keys that verify review decisions, as a JSON file `[{keyId, publicKeyPem, notBefore, notAfter}]`. */
      APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
      /** The policy engine's public decision keys: only a decision it sealed is acted on (docs/adr/0040). */
      DECISION_VERIFY_KEYS_FILE: z.string().min(1),
      /** The executor's own keys, `[{keyId, privateKeyFile, notBefore, notAfter}]`: every outcome it publishes is sealed with one (docs/adr/0042). */
      OUTCOME_SIGNING_KEYS_FILE: z.string().min(1),
      UNLEASH_URL: z.url(),
      UNLEASH_CLIENT_TOKEN: z.string().min(1),
      UNLEASH_REFRESH_MS: settings.number(1000, { min: 100, max: 600_000, integer: true }),
      FLAG_PREFIX: z.string().default('countersign.exec.'),
      /** The policy engine's autonomy flags (its `AUTONOMY_FLAG_PREFIX`): a level lowered since a decision stops it. */
      AUTONOMY_FLAG_PREFIX: z.string().default('countersign.autonomy.'),
      /** The contract the policy engines load (their CONTRACT_PATH): an autonomous decision is checked against it, and its approved changes. */
      CONTRACT_PATH: z.string().default(join(__dirname, '../../policy-engine/contract/countersign.contract.yaml')),
      ...contractChangeSettings,
      FLAGS_BACKUP_DIR: z.string().default('.countersign/flags-backup'),
      /** How long the webhook target has to answer before the outcome is unknown. */
      WEBHOOK_TIMEOUT_MS: settings.number(10_000, { min: 100, max: 600_000, integer: true }),
      /**
       * Whether the webhook target applies an action once per Idempotency-Key (so an unknown outcome is settled by
       * re-sending under the key; otherwise it is held for an operator). No default: only the target's owner knows.
       */
      WEBHOOK_IDEMPOTENT: settings.requiredBool(),
      /** How long an action may stay `executing` before it is taken for stranded and reconciled. */
      EXECUTION_LEASE_MS: settings.number(60_000, { min: 100, max: 86_400_000, integer: true }),
      /** How often the reconciler looks for stranded and unknown outcomes. */
      RECONCILE_PERIOD_MS: settings.number(5_000, { min: 10, max: 600_000, integer: true }),
      /** How long a decision or approval holds while its execution is held (halted mode, an unhealthy trust stack): then refused. */
      EXECUTION_MAX_HOLD_SECONDS: settings.number(86_400, { min: 60, max: 30 * 86_400, integer: true }),
    })
    .superRefine((c, ctx) => {
      // A live call must end (answer or time out) within the lease, or the reconciler would re-send it while it runs.
      if (c.EXECUTION_LEASE_MS <= c.WEBHOOK_TIMEOUT_MS)
        ctx.addIssue({ code: 'custom', path: ['EXECUTION_LEASE_MS'], message: `must exceed WEBHOOK_TIMEOUT_MS (${c.WEBHOOK_TIMEOUT_MS})` });
    }),
  async build({ config, logger, bus, pgPool }) {
    await migrate(config.DATABASE_URL, { service: 'executor', dir: join(__dirname, '../migrations'), onNewer: startOnNewerSchema(logger) }, (msg) =>
      logger.info(msg),
    );
    const pool = pgPool(config.DATABASE_URL);
    const executions = createExecutionRepository(pool);
    // Allowed (a target on the same host, behind a sidecar), but said: the actions' parameters cross the network in clear.
    if (new URL(config.WEBHOOK_URL).protocol === 'http:')
      logger.warn({ target: new URL(config.WEBHOOK_URL).host }, 'WEBHOOK_URL is plain http: every action and its parameters reach the target unencrypted');
    const flags = createUnleashFlagReader({
      url: config.UNLEASH_URL,
      clientToken: config.UNLEASH_CLIENT_TOKEN,
      appName: 'countersign-executor',
      refreshIntervalMs: config.UNLEASH_REFRESH_MS,
      backupDir: config.FLAGS_BACKUP_DIR,
      environment: 'development',
      // Unleash unreachable: the last known values stay in force; logged at error and audited, and so is its return.
      onHealth: reportFlagHealth({ service: 'executor', logger, emit: (topic, data, options) => bus.emit(topic, data, options) }),
    });
    await flags.ready(10_000);
    const flagControls = new FlagControls();
    // Read again when the file changes: a rotated verify key is accepted without a restart (ADR 0019).
    const approvalKeys = watchVerifyKeys(config.APPROVAL_VERIFY_KEYS_FILE);
    return {
      modules: [
        ExecutorModule.register({
          executions,
          connectors: new ConnectorRegistry(
            new WebhookConnector(config.WEBHOOK_URL, config.WEBHOOK_TIMEOUT_MS, {}, { idempotentByKey: config.WEBHOOK_IDEMPOTENT }),
          ),
          // Kill switches: the stricter of Unleash and the control topic, checked at execution time (ADR 0014).
          flags: withFlagControls(flags, flagControls),
          flagControls,
          flagPrefix: config.FLAG_PREFIX,
          autonomyPrefix: config.AUTONOMY_FLAG_PREFIX,
          approvalKeys,
          decisionKeys: watchVerifyKeys(config.DECISION_VERIFY_KEYS_FILE),
          outcomeSigner: watchSigningKeys(config.OUTCOME_SIGNING_KEYS_FILE),
          // An invalid contract stops the boot (one clear line), as in the other services.
          contract: RunningContract.fromFile(config.CONTRACT_PATH),
          contractChangeKeys: contractChangeKeys(config.CONTRACT_VERIFY_KEYS_FILE),
          reconciliation: { leaseMs: config.EXECUTION_LEASE_MS, periodMs: config.RECONCILE_PERIOD_MS },
          maxHoldSeconds: config.EXECUTION_MAX_HOLD_SECONDS,
        }),
      ],
      readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }, flagsReadiness(flags)],
      close: async () => {
        await flags.close();
        await pool.end();
      },
    };
  },
});
