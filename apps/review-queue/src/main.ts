import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadSigningKeys } from '@countersign/keys';
import { runService } from '@countersign/nest';
import { createPgPool, migrate } from '@countersign/storage';
import { createReviewItemRepository } from './review-item/pg-review-item.repository';
import { parseReviewDataKey } from './review-item/sealed-proposal';
import { ReviewQueueModule } from './review-queue.module';

void runService({
  service: 'review-queue',
  defaultPort: 8082,
  settings: z.object({
    /** The review items' PostgreSQL database (records of truth); `apps/review-queue/migrations` are applied at boot. */
    DATABASE_URL: z.string().startsWith('postgres'),
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
  async build({ config, logger }) {
    await migrate(config.DATABASE_URL, { service: 'review-queue', dir: join(__dirname, '../migrations') }, (msg) => logger.info(msg));
    const pool = createPgPool(config.DATABASE_URL);
    const signingKeys = loadSigningKeys(config.APPROVAL_SIGNING_KEYS_FILE);
    return {
      modules: [ReviewQueueModule.register({ items: createReviewItemRepository(pool), signingKeys, dataKey: config.REVIEW_DATA_KEY_FILE })],
      readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }],
      close: async () => {
        await pool.end();
      },
    };
  },
});
