import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadSigningKeys } from '@countersign/keys';
import { runService } from '@countersign/nest';
import { createRedis } from '@countersign/storage';
import { createReviewItemRepository } from './review-item/redis-review-item.repository';
import { parseReviewDataKey } from './review-item/sealed-proposal';
import { ReviewQueueModule } from './review-queue.module';

void runService({
  service: 'review-queue',
  defaultPort: 8082,
  settings: z.object({
    REDIS_URL: z.url(),
    REDIS_KEY_PREFIX: z.string().default(''),
    /**
     * The review-decision signing keys, as a JSON file `[{keyId, privateKeyFile, notBefore, notAfter}]` (the shape of
     * AUDIT_SIGNING_KEYS_FILE): the newest key valid at a decision signs it; past every key's `notAfter` nothing is signed.
     */
    APPROVAL_SIGNING_KEYS_FILE: z.string().min(1),
    /** A file holding the 256-bit key (base64) that seals the real proposals of review items. */
    REVIEW_DATA_KEY_FILE: z
      .string()
      .min(1)
      .transform((file, ctx) => {
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
    const signingKeys = loadSigningKeys(config.APPROVAL_SIGNING_KEYS_FILE);
    return {
      modules: [ReviewQueueModule.register({ items: createReviewItemRepository(redis), signingKeys, dataKey: config.REVIEW_DATA_KEY_FILE })],
      readiness: [{ name: 'redis', check: async () => (await redis.ping()) === 'PONG' }],
      close: async () => void redis.disconnect(),
    };
  },
});
