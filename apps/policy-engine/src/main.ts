import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { createUnleashFlagReader, FlagControls, flagsReadiness, reportFlagHealth, withFlagControls } from '@countersign/flags';
import { createUnleashFlagAdmin } from './autonomy/unleash-flag-admin';
import { contractChangeKeys, contractChangeSettings, runService } from '@countersign/nest';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { createRedis, migrate, readRedisTls, startOnNewerSchema } from '@countersign/storage';
import { DEFAULT_CONTRACT_PATH, DEFAULT_DIFF_CORPUS_PATH, PolicyEngineModule } from './policy-engine.module';
import { createChangeRequestStore } from './contract/pg-change-request.store';
import { createDecisionRepository } from './decision/pg-decision.repository';
import { createRateLimiter } from './rate-limit/redis-rate-limiter';
import { createAgentStats } from './agent-stats/redis-agent-stats';

/** How often rows past their expiry are deleted. */
const SWEEP_EVERY_MS = 15 * 60_000;

void runService({
  service: 'policy-engine',
  defaultPort: 8081,
  settings: z.object({
    CONTRACT_PATH: z.string().default(DEFAULT_CONTRACT_PATH),
    ...contractChangeSettings,
    /** The keys an approved contract change is signed with (docs/adr/0038); unset: no contract change can be approved (503). */
    CONTRACT_SIGNING_KEYS_FILE: z.string().min(1).optional(),
    /** The review queue's public keys: the degradation mode and trust health apply only when it sealed them (docs/adr/0039). */
    APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
    /** The keys every decision is sealed with; the executor and the review queue act only on sealed ones (docs/adr/0040). */
    DECISION_SIGNING_KEYS_FILE: z.string().min(1),
    /** First decisions and change requests (records of truth); `apps/policy-engine/migrations` are applied at boot. */
    DATABASE_URL: z.string().startsWith('postgres'),
    /** Rate-limit and aggregate windows and the agents' anomaly statistics only: what a flush may lose. */
    REDIS_URL: z.url(),
    REDIS_KEY_PREFIX: z.string().default(''),
    /** Mutual TLS to Redis, with a rediss:// REDIS_URL (all three, read at boot): the root to trust, this service's certificate chain and key (PEM files). */
    REDIS_TLS_CA_FILE: z.string().min(1).optional(),
    REDIS_TLS_CERT_FILE: z.string().min(1).optional(),
    REDIS_TLS_KEY_FILE: z.string().min(1).optional(),
    UNLEASH_URL: z.url(),
    UNLEASH_CLIENT_TOKEN: z.string().min(1),
    UNLEASH_REFRESH_MS: settings.number(1000, { min: 100, max: 600_000, integer: true }),
    FLAG_PREFIX: z.string().default('countersign.exec.'),
    AUTONOMY_FLAG_PREFIX: z.string().default('countersign.autonomy.'),
    FLAGS_BACKUP_DIR: z.string().default('.countersign/flags-backup'),
    /** Unleash's admin API, for autonomy changes and the drift watch (ADR 0014); without a token those answer 503. */
    UNLEASH_ADMIN_URL: z.url().optional(),
    UNLEASH_ADMIN_TOKEN: z.string().min(1).optional(),
    /** How often Unleash's events are polled for flags changed outside Countersign. */
    AUTONOMY_DRIFT_POLL_MS: settings.number(1000, { min: 100, max: 600_000, integer: true }),
    /** HMAC key (base64) that verifies scoped tokens of privileged action types; none: privileged actions are prohibited. */
    SCOPED_TOKEN_KEY: z.string().min(16).optional(),
    /** How long a decision is kept to answer a redelivered proposal with the same decision. */
    DECISION_TTL_SECONDS: settings.number(6 * 3600, { min: 60, max: 30 * 86_400, integer: true }),
    /** How long a contract change request waits for a second admin's approval. */
    CHANGE_REQUEST_TTL_SECONDS: settings.number(24 * 3600, { min: 60, max: 30 * 24 * 3600, integer: true }),
    /** The proposals (JSON Lines) every change request's `policy diff` runs over. */
    CHANGE_DIFF_CORPUS: z.string().default(DEFAULT_DIFF_CORPUS_PATH),
  }),
  async build({ config, logger, bus, pgPool }) {
    await migrate(config.DATABASE_URL, { service: 'policy-engine', dir: join(__dirname, '../migrations'), onNewer: startOnNewerSchema(logger) }, (msg) =>
      logger.info(msg),
    );
    const flags = createUnleashFlagReader({
      url: config.UNLEASH_URL,
      clientToken: config.UNLEASH_CLIENT_TOKEN,
      appName: 'countersign-policy-engine',
      refreshIntervalMs: config.UNLEASH_REFRESH_MS,
      backupDir: `${config.FLAGS_BACKUP_DIR}/policy-engine`,
      environment: 'development',
      // Unleash unreachable: the last known values stay in force; logged at error and audited, and so is its return.
      onHealth: reportFlagHealth({ service: 'policy-engine', logger, emit: (topic, data, options) => bus.emit(topic, data, options) }),
    });
    await flags.ready(10_000);
    // The control topic's entries: decisions read the stricter of them and Unleash (ADR 0014).
    const controls = new FlagControls();
    const admin = config.UNLEASH_ADMIN_TOKEN
      ? createUnleashFlagAdmin({ url: config.UNLEASH_ADMIN_URL ?? config.UNLEASH_URL, token: config.UNLEASH_ADMIN_TOKEN, environment: 'development' })
      : undefined;
    if (!admin) logger.warn('UNLEASH_ADMIN_TOKEN is not set: autonomy changes answer 503 and flags changed in Unleash are not watched');
    const pool = pgPool(config.DATABASE_URL);
    const decisions = createDecisionRepository(pool, config.DECISION_TTL_SECONDS);
    const requests = createChangeRequestStore(pool);
    // Rows past their expiry read as absent; deleting them now and then keeps the tables small.
    const sweep = setInterval(
      () =>
        void Promise.all([decisions.deleteExpired(), requests.deleteExpired()]).catch((err: Error) =>
          logger.warn({ err }, 'expired decisions or change requests not deleted; next time'),
        ),
      SWEEP_EVERY_MS,
    ).unref();
    const redis = createRedis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, logger, tls: readRedisTls(config) });
    return {
      modules: [
        PolicyEngineModule.register({
          contractPath: config.CONTRACT_PATH,
          contractChangeKeys: contractChangeKeys(config.CONTRACT_VERIFY_KEYS_FILE),
          controlFactKeys: watchVerifyKeys(config.APPROVAL_VERIFY_KEYS_FILE),
          decisionSigner: watchSigningKeys(config.DECISION_SIGNING_KEYS_FILE),
          flags: withFlagControls(flags, controls),
          flagNames: { execPrefix: config.FLAG_PREFIX, autonomyPrefix: config.AUTONOMY_FLAG_PREFIX },
          rateLimiter: createRateLimiter(redis),
          agentStats: createAgentStats(redis),
          decisions,
          autonomy: { controls, admin, driftPollMs: config.AUTONOMY_DRIFT_POLL_MS },
          changeControl: {
            requests,
            requestTtlSeconds: config.CHANGE_REQUEST_TTL_SECONDS,
            diffCorpusPath: config.CHANGE_DIFF_CORPUS,
            signingKeys: config.CONTRACT_SIGNING_KEYS_FILE ? watchSigningKeys(config.CONTRACT_SIGNING_KEYS_FILE) : undefined,
          },
          settings: {
            scopedTokenKey: config.SCOPED_TOKEN_KEY ? Buffer.from(config.SCOPED_TOKEN_KEY, 'base64') : undefined,
          },
        }),
      ],
      readiness: [
        flagsReadiness(flags),
        { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
        { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
      ],
      close: async () => {
        clearInterval(sweep);
        await flags.close();
        redis.disconnect();
        await pool.end();
      },
    };
  },
});
