import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { loadVerifyKeys } from '@countersign/keys';
import { createUnleashFlagReader, reportFlagHealth } from '@countersign/flags';
import { runService } from '@countersign/nest';
import { createPgPool, migrate } from '@countersign/storage';
import { ConnectorRegistry } from './connectors/connector';
import { WebhookConnector } from './connectors/webhook.connector';
import { createExecutionRepository } from './execution/pg-execution.repository';
import { ExecutorModule } from './executor.module';

void runService({
  service: 'executor',
  defaultPort: 8083,
  settings: z.object({
    DATABASE_URL: z.string().startsWith('postgres'),
    WEBHOOK_URL: z.url(),
    /** The public keys that verify review decisions, as a JSON file `[{keyId, publicKeyPem, notBefore, notAfter}]`. */
    APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
    UNLEASH_URL: z.url(),
    UNLEASH_CLIENT_TOKEN: z.string().min(1),
    UNLEASH_REFRESH_MS: z.coerce.number().int().min(100).default(1000),
    FLAG_PREFIX: z.string().default('countersign.exec.'),
    FLAGS_BACKUP_DIR: z.string().default('.countersign/flags-backup'),
  }),
  async build({ config, logger, bus }) {
    await migrate(config.DATABASE_URL, { service: 'executor', dir: join(__dirname, '../migrations') }, (msg) => logger.info(msg));
    const pool = createPgPool(config.DATABASE_URL);
    const executions = createExecutionRepository(pool);
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
    const approvalKeys = loadVerifyKeys(config.APPROVAL_VERIFY_KEYS_FILE);
    return {
      modules: [
        ExecutorModule.register({
          executions,
          connectors: new ConnectorRegistry(new WebhookConnector(config.WEBHOOK_URL)),
          flags,
          flagPrefix: config.FLAG_PREFIX,
          approvalKeys,
        }),
      ],
      readiness: [
        { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
        { name: 'flags', check: () => flags.ready(1) },
      ],
      close: async () => {
        await flags.close();
        await pool.end();
      },
    };
  },
});
