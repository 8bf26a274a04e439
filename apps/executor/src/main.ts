import 'reflect-metadata';
import { join } from 'node:path';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { createUnleashFlagReader, FlagControls, flagsReadiness, reportFlagHealth, withFlagControls } from '@countersign/flags';
import { contractChangeKeys, runService, TrustHealthState, trustReadinessSignal } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { migrate, startOnNewerSchema } from '@countersign/storage';
import { ConnectorRegistry } from './connectors/connector';
import { WebhookConnector } from './connectors/webhook.connector';
import { createExecutionRepository } from './execution/pg-execution.repository';
import { ExecutorModule } from './executor.module';
import { ExecutorSettings } from './settings';

void runService({
  service: 'executor',
  defaultPort: 8083,
  settings: ExecutorSettings,
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
    // What the executor holds executions on (ADR 0019), reported by /readyz as a signal (`signals.trust`).
    const trustHealth = new TrustHealthState();
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
          trustHealth,
        }),
      ],
      readiness: [
        { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
        flagsReadiness(flags),
        trustReadinessSignal(trustHealth),
      ],
      close: async () => {
        await flags.close();
        await pool.end();
      },
    };
  },
});
