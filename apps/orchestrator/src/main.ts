import 'reflect-metadata';
import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { watchVerifyKeys } from '@countersign/keys';
import { contractChangeKeys, contractChangeSettings, runService } from '@countersign/nest';
import { migrate, startOnNewerSchema } from '@countersign/storage';
import { createActionViewRepository } from './actions/pg-action-view.repository';
import { OrchestratorModule } from './orchestrator.module';
import { createIdempotencyRepository } from './proposals/pg-idempotency.repository';
import { proposalRateOf, proposalRateSettings } from './proposals/proposal-rate.settings';

/** The contract the policy engines load by default (their CONTRACT_PATH): set both to the same file. */
const DEFAULT_CONTRACT_PATH = join(__dirname, '../../policy-engine/contract/countersign.contract.yaml');

/** How often keys past their expiry are deleted (they read as absent meanwhile). */
const SWEEP_EVERY_MS = 15 * 60_000;

void runService({
  service: 'orchestrator',
  defaultPort: 8080,
  settings: z.object({
    /** Idempotency keys and action views (records of truth); `apps/orchestrator/migrations` are applied at boot. */
    DATABASE_URL: z.string().startsWith('postgres'),
    /** How long a client's Idempotency-Key returns the action of its first request. */
    IDEMPOTENCY_TTL_SECONDS: settings.number(24 * 3600, { min: 60, max: 365 * 86_400, integer: true }),
    CONTRACT_PATH: z.string().default(DEFAULT_CONTRACT_PATH),
    /** The per-principal rate of `POST /v1/proposals` on this instance (docs/adr/0048). */
    ...proposalRateSettings(),
    ...contractChangeSettings,
    /** The review queue's public keys: review decisions and revisions that do not verify change no action here. */
    APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
    /** The policy engine's public decision keys: a decision it did not seal is not on an action's timeline (docs/adr/0040). */
    DECISION_VERIFY_KEYS_FILE: z.string().min(1),
    /** The executor's public outcome keys: only an outcome it sealed is on an action's timeline (docs/adr/0042). */
    OUTCOME_VERIFY_KEYS_FILE: z.string().min(1),
  }),
  async build({ config, logger, pgPool }) {
    await migrate(config.DATABASE_URL, { service: 'orchestrator', dir: join(__dirname, '../migrations'), onNewer: startOnNewerSchema(logger) }, (msg) =>
      logger.info(msg),
    );
    const pool = pgPool(config.DATABASE_URL);
    const idempotency = createIdempotencyRepository(pool, config.IDEMPOTENCY_TTL_SECONDS);
    const sweep = setInterval(
      () => void idempotency.deleteExpired().catch((err: Error) => logger.warn({ err }, 'expired idempotency keys not deleted; next time')),
      SWEEP_EVERY_MS,
    ).unref();
    return {
      modules: [
        OrchestratorModule.register({
          contractPath: config.CONTRACT_PATH,
          contractChangeKeys: contractChangeKeys(config.CONTRACT_VERIFY_KEYS_FILE),
          approvalKeys: watchVerifyKeys(config.APPROVAL_VERIFY_KEYS_FILE),
          decisionKeys: watchVerifyKeys(config.DECISION_VERIFY_KEYS_FILE),
          outcomeKeys: watchVerifyKeys(config.OUTCOME_VERIFY_KEYS_FILE),
          actionViews: createActionViewRepository(pool),
          idempotency,
          proposalRate: proposalRateOf(config),
        }),
      ],
      readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }],
      close: async () => {
        clearInterval(sweep);
        await pool.end();
      },
    };
  },
});
