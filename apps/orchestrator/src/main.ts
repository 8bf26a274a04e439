import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { runService } from '@countersign/nest';
import { createRedis } from '@countersign/storage';
import { createActionViewRepository } from './actions/redis-action-view.repository';
import { OrchestratorModule } from './orchestrator.module';
import { createIdempotencyRepository } from './proposals/redis-idempotency.repository';

/** The contract the policy engines load by default (their CONTRACT_PATH): set both to the same file. */
const DEFAULT_CONTRACT_PATH = join(__dirname, '../../policy-engine/contract/countersign.contract.yaml');

void runService({
  service: 'orchestrator',
  defaultPort: 8080,
  settings: z.object({ REDIS_URL: z.url(), REDIS_KEY_PREFIX: z.string().default(''), CONTRACT_PATH: z.string().default(DEFAULT_CONTRACT_PATH) }),
  async build({ config }) {
    const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    return {
      modules: [
        OrchestratorModule.register({
          contractPath: config.CONTRACT_PATH,
          actionViews: createActionViewRepository(redis),
          idempotency: createIdempotencyRepository(redis),
        }),
      ],
      readiness: [{ name: 'redis', check: async () => (await redis.ping()) === 'PONG' }],
      close: async () => void redis.disconnect(),
    };
  },
});
