import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { signingKeyFromPem } from '@countersign/approval';
import { runService } from '@countersign/nest';
import { createRedis } from '@countersign/storage';
import { ReviewQueueModule } from './review-queue.module';

void runService({
  service: 'review-queue',
  defaultPort: 8082,
  settings: z.object({
    REDIS_URL: z.url(),
    REDIS_KEY_PREFIX: z.string().default(''),
    APPROVAL_SIGNING_KEY_FILE: z.string().min(1),
    APPROVAL_SIGNING_KEY_ID: z.string().min(1),
  }),
  async build({ config }) {
    const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    const signingKey = signingKeyFromPem(config.APPROVAL_SIGNING_KEY_ID, readFileSync(config.APPROVAL_SIGNING_KEY_FILE, 'utf8'));
    return {
      modules: [ReviewQueueModule.register({ redis, signingKey })],
      readiness: [{ name: 'redis', check: async () => (await redis.ping()) === 'PONG' }],
      close: async () => void redis.disconnect(),
    };
  },
});
