import 'reflect-metadata';
import { z } from 'zod';
import { createUnleashFlagReader } from '@countersign/flags';
import { runService } from '@countersign/nest';
import { DEFAULT_CONTRACT_PATH, PolicyEngineModule } from './policy-engine.module';

void runService({
  service: 'policy-engine',
  defaultPort: 8081,
  settings: z.object({
    CONTRACT_PATH: z.string().default(DEFAULT_CONTRACT_PATH),
    UNLEASH_URL: z.url(),
    UNLEASH_CLIENT_TOKEN: z.string().min(1),
    UNLEASH_REFRESH_MS: z.coerce.number().int().min(100).default(1000),
    AUTONOMY_FLAG_PREFIX: z.string().default('countersign.autonomy.'),
    FLAGS_BACKUP_DIR: z.string().default('.countersign/flags-backup'),
  }),
  async build({ config }) {
    const flags = createUnleashFlagReader({
      url: config.UNLEASH_URL,
      clientToken: config.UNLEASH_CLIENT_TOKEN,
      appName: 'countersign-policy-engine',
      refreshIntervalMs: config.UNLEASH_REFRESH_MS,
      backupDir: `${config.FLAGS_BACKUP_DIR}/policy-engine`,
      environment: 'development',
    });
    await flags.ready(10_000);
    return {
      modules: [PolicyEngineModule.register({ contractPath: config.CONTRACT_PATH, flags, flagNames: { autonomyPrefix: config.AUTONOMY_FLAG_PREFIX } })],
      readiness: [{ name: 'flags', check: () => flags.ready(1) }],
      close: () => flags.close(),
    };
  },
});
