import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { signingKeyFromPem } from '@countersign/approval';
import { runService } from '@countersign/nest';
import { createRedis } from '@countersign/storage';
import { parseReviewDataKey } from './queue/sealed-proposal';
import { ReviewQueueModule } from './review-queue.module';

void runService({
  service: 'review-queue',
  defaultPort: 8082,
  settings: z.object({
    REDIS_URL: z.url(),
    REDIS_KEY_PREFIX: z.string().default(''),
    APPROVAL_SIGNING_KEY_FILE: z.string().min(1),
    APPROVAL_SIGNING_KEY_ID: z.string().min(1),
    /** A file holding the 256-bit key (base64) that seals the real proposals of review items. */
    REVIEW_DATA_KEY_FILE: z.string().min(1).transform((file, ctx) => {
      try {
        return parseReviewDataKey(readFileSync(file, 'utf8'));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as NodeJS.ErrnoException).code ? `cannot read ${file}` : (e as Error).message });
        return z.NEVER;
      }
    }),
  }),
  async build({ config }) {
    const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    const signingKey = signingKeyFromPem(config.APPROVAL_SIGNING_KEY_ID, readFileSync(config.APPROVAL_SIGNING_KEY_FILE, 'utf8'));
    return {
      modules: [ReviewQueueModule.register({ redis, signingKey, dataKey: config.REVIEW_DATA_KEY_FILE })],
      readiness: [{ name: 'redis', check: async () => (await redis.ping()) === 'PONG' }],
      close: async () => void redis.disconnect(),
    };
  },
});
