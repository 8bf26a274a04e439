import 'reflect-metadata';
import { join } from 'node:path';
import { createUnleashFlagReader, FlagControls, flagsReadiness, reportFlagHealth, withFlagControls } from '@countersign/flags';
import { createUnleashFlagAdmin } from './autonomy/unleash-flag-admin';
import { contractChangeKeys, runService, TrustHealthState, trustReadinessSignal } from '@countersign/nest';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { createRedis, migrate, readRedisTls, startOnNewerSchema } from '@countersign/storage';
import { PolicyEngineModule } from './policy-engine.module';
import { createChangeRequestStore } from './contract/pg-change-request.store';
import { createDecisionRepository } from './decision/pg-decision.repository';
import { createRateLimiter } from './rate-limit/redis-rate-limiter';
import { createAgentStats } from './agent-stats/redis-agent-stats';
import { PolicyEngineSettings } from './settings';

/** How often rows past their expiry are deleted. */
const SWEEP_EVERY_MS = 15 * 60_000;

void runService({
  service: 'policy-engine',
  defaultPort: 8081,
  settings: PolicyEngineSettings,
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
    // What the policy engine prohibits trust-sensitive actions on (ADR 0019), reported by /readyz as a signal.
    const trustHealth = new TrustHealthState();
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
          trustHealth,
          settings: {
            scopedTokenKey: config.SCOPED_TOKEN_KEY ? Buffer.from(config.SCOPED_TOKEN_KEY, 'base64') : undefined,
          },
        }),
      ],
      readiness: [
        flagsReadiness(flags),
        { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
        { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
        trustReadinessSignal(trustHealth),
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
