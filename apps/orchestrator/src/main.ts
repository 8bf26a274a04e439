import 'reflect-metadata';
import { z } from 'zod';
import { runService } from '@countersign/nest';
import { createRedis } from '@countersign/storage';
import { OrchestratorModule } from './orchestrator.module';

void runService({
  service: 'orchestrator',
  defaultPort: 8080,
  settings: z.object({ REDIS_URL: z.url(), REDIS_KEY_PREFIX: z.string().default('') }),
  async build({ config }) {
    const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    return {
      modules: [OrchestratorModule.register({ redis })],
      readiness: [{ name: 'redis', check: async () => (await redis.ping()) === 'PONG' }],
      close: async () => void redis.disconnect(),
    };
  },
});
